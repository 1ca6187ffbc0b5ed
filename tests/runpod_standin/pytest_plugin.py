"""pytest fixtures: `runpod_standin` (a started stand-in) and `production_worker` (a factory)."""
import pytest

from .server import RunpodStandIn
from .worker_process import ProductionWorker


@pytest.fixture
def runpod_standin():
    with RunpodStandIn() as standin:
        yield standin


@pytest.fixture
def production_worker():
    started = []

    def start(standin: RunpodStandIn, env: dict, pod_id: str = "standin-worker-1",
              module: str = "entrypoints.runpod_handler") -> ProductionWorker:
        worker = ProductionWorker(standin, env, pod_id, module)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
