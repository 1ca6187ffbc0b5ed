"""docker-compose.yml offers what the docs promise: the default stack, the s3 and gpu profiles, ports, variables."""
import itertools
import pathlib
import shutil
import subprocess

import pytest
import yaml

from entrypoints.environment import read_settings

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


def test_s3_profile_points_the_worker_at_the_s3_stand_in_with_its_bucket():
    assert {name for name in SERVICES if "s3" in profiles(name)} == {"s3", "s3-bucket", "worker-s3"}
    env = SERVICES["worker-s3"]["environment"]
    assert env["BUCKET_ENDPOINT_URL"] == "http://s3:5000" and env["OUTPUT_SINK"] == "s3"
    assert f'Bucket="{env["BUCKET_NAME"]}"' in " ".join(SERVICES["s3-bucket"]["command"])
    assert SERVICES["worker-s3"]["depends_on"]["s3-bucket"]["condition"] == "service_completed_successfully"
    assert host_ports("s3") == {5000} and host_ports("worker-s3") == {8001}


def test_pulled_images_are_pinned_by_digest():
    for name, service in SERVICES.items():
        if "image" in service:
            assert "@sha256:" in service["image"] and len(service["image"].split("@sha256:")[1]) == 64, name
            assert not service["image"].startswith(("minio/", "quay.io/minio/")), "MinIO no longer publishes images"


def test_no_two_services_of_any_profile_mix_share_a_host_port():
    names = sorted({profile for name in SERVICES for profile in profiles(name)})
    for count in range(len(names) + 1):
        for chosen in itertools.combinations(names, count):
            active = [name for name in SERVICES if not profiles(name) or profiles(name) & set(chosen)]
            ports = [port for name in active for port in host_ports(name)]
            assert len(ports) == len(set(ports)), (chosen, sorted(ports))


def compose_command():
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


@pytest.mark.skipif(compose_command() is None, reason="neither `docker compose` nor `docker-compose` is installed")
@pytest.mark.parametrize("profile", [None, "s3", "gpu"])
def test_docker_compose_config_accepts_the_file(profile):
    command = [*compose_command(), "-f", str(ROOT / "docker-compose.yml")]
    command += ["--profile", profile] if profile else []
    result = subprocess.run([*command, "config", "-q"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_gpu_profile_runs_the_real_image_with_a_gpu():
    gpu = SERVICES["worker-gpu"]
    assert profiles("worker-gpu") == {"gpu"} and gpu["build"]["target"] == "comfyui-worker"
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    assert host_ports("worker-gpu") == {8002, 8189}
    assert "COMFY_HOST" not in gpu["environment"], "the start script derives it from where ComfyUI listens"
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
