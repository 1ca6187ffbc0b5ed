"""docker-compose.yml offers what the docs promise: the default stack, the s3 and gpu profiles, ports, variables."""
import pathlib

import yaml

from entrypoints.settings import read_settings

ROOT = pathlib.Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def profiles(name: str) -> set:
    return set(SERVICES[name].get("profiles", []))


def host_ports(name: str) -> set:
    return {int(str(port).split(":")[0]) for port in SERVICES[name].get("ports", [])}


def test_default_stack_runs_without_a_gpu():
    default = {name for name in SERVICES if not profiles(name)}
    assert default == {"comfyui", "worker"}
    assert SERVICES["comfyui"]["build"]["target"] == "comfyui-simulator"
    assert SERVICES["worker"]["environment"]["COMFY_HOST"] == "comfyui:8188"
    assert host_ports("comfyui") == {8188} and host_ports("worker") == {8000}
    assert "--rp_serve_api" in SERVICES["worker"]["command"] and "0.0.0.0" in SERVICES["worker"]["command"]


def test_s3_profile_points_the_worker_at_minio_with_its_bucket():
    assert {name for name in SERVICES if "s3" in profiles(name)} == {"minio", "minio-bucket", "worker-s3"}
    env = SERVICES["worker-s3"]["environment"]
    assert env["BUCKET_ENDPOINT_URL"] == "http://minio:9000" and env["OUTPUT_SINK"] == "s3"
    assert env["BUCKET_NAME"] in " ".join(SERVICES["minio-bucket"]["entrypoint"])
    assert SERVICES["worker-s3"]["depends_on"]["minio-bucket"]["condition"] == "service_completed_successfully"
    assert {9000, 9001} <= host_ports("minio") and host_ports("worker-s3") == {8000}


def test_gpu_profile_runs_the_real_image_with_a_gpu():
    gpu = SERVICES["worker-gpu"]
    assert profiles("worker-gpu") == {"gpu"} and gpu["build"]["target"] == "comfyui-worker"
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    assert host_ports("worker-gpu") == {8000, 8188}
    assert gpu["environment"]["SERVE_API_LOCALLY"] == "true"
    assert any(volume.endswith(":/runpod-volume/models") for volume in gpu["volumes"])


def test_every_worker_environment_is_a_configuration_the_code_accepts():
    for name in ("worker", "worker-s3", "worker-gpu"):
        env = {key: str(value) for key, value in SERVICES[name]["environment"].items()}
        read_settings(env)


def test_build_targets_exist_in_the_dockerfile():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for service in SERVICES.values():
        if "build" in service:
            assert f" AS {service['build']['target']}\n" in dockerfile
