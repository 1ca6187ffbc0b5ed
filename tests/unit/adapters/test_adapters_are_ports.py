"""The adapters are the ports the container wires them as: mypy checks each annotated assignment below, and each test
checks the adapter has every member of its port at run time (none of them connects anywhere when it is made)."""
from __future__ import annotations

import pathlib
import tempfile

import pytest

from adapters.base64_sink import Base64OutputSink
from adapters.comfy_http_api import ComfyHttpApi
from adapters.comfy_view_source import ComfyViewOutputSource
from adapters.comfy_websocket_monitor import ComfyWebsocketMonitor, WebsocketStream
from adapters.folder_cleaner import FolderCleaner
from adapters.http_input_fetcher import HttpInputFetcher
from adapters.http_model_store import HttpModelStore
from adapters.pillow_converter import PillowImageConverter
from adapters.s3_sink import S3OutputSink
from domain.ports import (
    AnswerFormat,
    ComfyApi,
    EventStream,
    ExecutionMonitor,
    ImageConverter,
    InputReader,
    JobFileCleaner,
    ModelStore,
    OutputSink,
    OutputSource,
)
from entrypoints.answers import RunPodAnswers
from port_members import missing_members

BASE_URL = "http://127.0.0.1:9"  # nothing is sent: the adapters are only made


def adapters_as_ports(folder: str) -> dict[str, tuple[type, object]]:
    """adapter -> (its port, an instance held as that port)."""
    comfy: ComfyApi = ComfyHttpApi(BASE_URL)
    monitor: ExecutionMonitor = ComfyWebsocketMonitor("127.0.0.1:9")
    events: EventStream = WebsocketStream("ws://127.0.0.1:9/ws?clientId=c", 1.0, 1.0, 1.0)
    source: OutputSource = ComfyViewOutputSource(BASE_URL)
    inline_sink: OutputSink = Base64OutputSink()
    url_sink: OutputSink = S3OutputSink(endpoint_url="http://127.0.0.1:9/bucket", access_key_id="id",
                                        secret_access_key="secret", bucket_name="bucket")
    converter: ImageConverter = PillowImageConverter()
    reader: InputReader = HttpInputFetcher(max_bytes=1024, allow_private=False)
    cleaner: JobFileCleaner = FolderCleaner(input_dir=folder, output_dir=folder, temp_dir=folder)
    answer_format: AnswerFormat = RunPodAnswers()
    models: ModelStore = HttpModelStore(folder, max_bytes=1024, fetch_timeout_s=1.0, allow_private=False)
    return {
        "ComfyHttpApi": (ComfyApi, comfy),
        "ComfyWebsocketMonitor": (ExecutionMonitor, monitor),
        "WebsocketStream": (EventStream, events),
        "ComfyViewOutputSource": (OutputSource, source),
        "Base64OutputSink": (OutputSink, inline_sink),
        "S3OutputSink": (OutputSink, url_sink),
        "PillowImageConverter": (ImageConverter, converter),
        "HttpInputFetcher": (InputReader, reader),
        "FolderCleaner": (JobFileCleaner, cleaner),
        "RunPodAnswers": (AnswerFormat, answer_format),
        "HttpModelStore": (ModelStore, models),
    }


def adapter_names() -> list[str]:
    with tempfile.TemporaryDirectory() as folder:  # the model store makes its folders
        return list(adapters_as_ports(folder))


@pytest.mark.parametrize("adapter", adapter_names())
def test_the_adapter_has_every_member_of_its_port(adapter: str, tmp_path: pathlib.Path) -> None:
    port, instance = adapters_as_ports(str(tmp_path))[adapter]
    assert not missing_members(instance, port), f"{adapter} is not a {port.__name__}"
