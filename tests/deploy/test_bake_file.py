"""docker-bake.hcl and the GitHub workflows, read statically (CI has no Docker engine): every target builds a stage of
the Dockerfile with arguments that stage (or one it copies from) declares, the variants are worker-comfyui 5.x's, the
CUDA build of torch matches each base image, and the release workflow builds every published target."""
import re

import hcl2
import pytest
import yaml

from deploy.start_harness import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()
MODELS = {name for name in yaml.safe_load((ROOT / "scripts/models.json").read_text()) if not name.startswith("_")}
# worker-comfyui 5.8.5's published variants (its docker-bake.hcl), by our target names
FIVE_X_VARIANTS = {"base", "base-cuda12-8-1", "sdxl", "sd3", "flux1-schnell", "flux1-dev", "flux1-dev-fp8",
                   "z-image-turbo"}


def unquote(value):
    """python-hcl2 keeps string literals quoted and marks blocks: plain values instead."""
    if isinstance(value, str):
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if isinstance(value, list):
        return [unquote(item) for item in value]
    if isinstance(value, dict):
        return {unquote(key): unquote(item) for key, item in value.items() if key != "__is_block__"}
    return value


def bake() -> dict:
    """{"variable": {name: default}, "group": {name: body}, "target": {name: body}}."""
    with open(ROOT / "docker-bake.hcl") as source:
        parsed = hcl2.load(source)
    blocks = {kind: {name: body for block in unquote(parsed.get(kind, [])) for name, body in block.items()}
              for kind in ("variable", "group", "target")}
    blocks["variable"] = {name: body.get("default") for name, body in blocks["variable"].items()}
    return blocks


BAKE = bake()
PUBLISHED = sorted(name for name in BAKE["target"] if not name.startswith("_"))


def resolved(name: str) -> dict:
    """A target with what it inherits (args merged, the rest overridden by the inheriting target)."""
    body = BAKE["target"][name]
    merged: dict = {"args": {}}
    for parent in body.get("inherits", []):
        inherited = resolved(parent)
        merged.update({k: v for k, v in inherited.items() if k != "args"})
        merged["args"].update(inherited["args"])
    merged.update({k: v for k, v in body.items() if k not in ("args", "inherits")})
    merged["args"].update(body.get("args", {}))
    return merged


def dockerfile_stages() -> tuple:
    """(global ARGs, {stage: {"args": set, "needs": set of stages it builds FROM or COPY --from}})."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    global_args: set[str] = set()
    stages: dict[str, dict[str, set[str]]] = {}
    current = None
    for line in joined.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "FROM":
            current = stages.setdefault(words[-1], {"args": set(), "needs": set()})
            if words[1] in stages:
                current["needs"].add(words[1])
        elif words[0] == "ARG":
            (current["args"] if current is not None else global_args).add(words[1].split("=")[0])
        elif current is not None and words[0] == "COPY":
            current["needs"] |= {word.split("=", 1)[1] for word in words if word.startswith("--from=")}
    return global_args, stages


GLOBAL_ARGS, STAGES = dockerfile_stages()


def declared_for(stage: str) -> set:
    """Every ARG a build of `stage` hands a value to: its own, those of the stages it needs, the global ones."""
    seen, todo, args = set(), [stage], set(GLOBAL_ARGS)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            args |= STAGES[name]["args"]
            todo += STAGES[name]["needs"]
    return args


@pytest.mark.parametrize("name", PUBLISHED)
def test_each_target_builds_a_dockerfile_stage_with_arguments_it_declares(name):
    target = resolved(name)
    assert target["dockerfile"] == "Dockerfile" and target["context"] == "."
    assert target["target"] in STAGES, f"{name}: no stage {target['target']} in the Dockerfile"
    unknown = set(target["args"]) - declared_for(target["target"])
    assert not unknown, f"{name}: build arguments no ARG of its stages takes: {sorted(unknown)}"
    assert target["platforms"] == ["linux/amd64"], "RunPod runs amd64 images"


@pytest.mark.parametrize("name", PUBLISHED)
def test_each_target_is_tagged_version_and_variant_and_matches_its_cuda(name):
    target = resolved(name)
    variant = name.replace("cuda12-8-1", "cuda12.8.1")
    assert target["tags"] == [f"${{DOCKERHUB_REPO}}/${{DOCKERHUB_IMG}}:${{RELEASE_VERSION}}-{variant}"]
    cuda = re.fullmatch(r"nvidia/cuda:(\d+\.\d+)\.\d+-cudnn-runtime-ubuntu24\.04", target["args"]["BASE_IMAGE"])
    assert cuda and cuda.group(1) == target["args"]["CUDA_VERSION_FOR_COMFY"], f"{name}: torch for another CUDA"
    assert target["args"]["MODEL_TYPE"] in MODELS, f"{name}: scripts/models.json has no {target['args']['MODEL_TYPE']}"


def test_the_variants_are_five_x_variants_and_all_are_built_by_default():
    assert set(PUBLISHED) == FIVE_X_VARIANTS
    assert sorted(BAKE["group"]["default"]["targets"]) == PUBLISHED
    model_types = {resolved(name)["args"]["MODEL_TYPE"] for name in PUBLISHED}
    assert model_types == MODELS, "every model family of scripts/models.json has an image, and only those"


def test_every_interpolated_name_is_a_variable_and_defaults_match_the_dockerfile():
    text = (ROOT / "docker-bake.hcl").read_text()
    assert set(re.findall(r"\$\{(\w+)\}", text)) <= set(BAKE["variable"])
    for name in ("COMFYUI_VERSION", "COMFY_CLI_VERSION"):
        default = re.search(rf"^ARG {name}=(\S+)$", DOCKERFILE, re.M).group(1)
        assert BAKE["variable"][name] == default, f"{name}: bake and Dockerfile defaults differ"
    assert BAKE["variable"]["HUGGINGFACE_ACCESS_TOKEN"] == "", "no token is ever a default"


def test_the_token_goes_to_the_download_stage_only():
    assert "HUGGINGFACE_ACCESS_TOKEN" in STAGES["model-files"]["args"]
    assert "HUGGINGFACE_ACCESS_TOKEN" not in declared_for("comfyui-worker") - STAGES["model-files"]["args"]
    final = DOCKERFILE.split("AS comfyui-worker", 1)[1]
    assert "HUGGINGFACE_ACCESS_TOKEN" not in final and "COPY --from=model-files /models/ /comfyui/models/" in final
    assert DOCKERFILE.rstrip().endswith('CMD ["/start.sh"]') and list(STAGES)[-1] == "comfyui-worker", \
        "comfyui-worker stays the last stage: a plain `docker build .` (RunPod's GitHub builds) builds it"


def workflow(name: str) -> dict:
    loaded = yaml.safe_load((ROOT / ".github/workflows" / name).read_text())
    loaded["on"] = loaded.pop(True, loaded.get("on"))  # YAML 1.1 reads the key `on` as true
    return loaded


def test_the_tests_run_on_every_push_and_must_run_actionlint():
    tests = workflow("test.yml")
    assert "push" in tests["on"] and tests["on"]["push"] is None, "every branch, every push"
    job = tests["jobs"]["test"]
    assert job["env"]["REQUIRE_ACTIONLINT"] == "1"
    assert any(step.get("run", "").startswith("make test") for step in job["steps"])


def test_a_release_tag_tests_then_builds_and_pushes_every_published_target():
    release = workflow("release.yml")
    assert release["on"]["push"]["tags"] and "workflow_dispatch" in release["on"]
    assert release["jobs"]["test"]["uses"] == "./.github/workflows/test.yml"
    images = release["jobs"]["images"]
    assert images["needs"] == "test"
    assert sorted(images["strategy"]["matrix"]["target"]) == PUBLISHED
    bake_step = next(step for step in images["steps"] if step.get("uses", "").startswith("docker/bake-action@"))
    assert bake_step["with"]["targets"] == "${{ matrix.target }}" and bake_step["with"]["push"] is True
    assert bake_step["env"]["HUGGINGFACE_ACCESS_TOKEN"] == "${{ secrets.HUGGINGFACE_ACCESS_TOKEN }}"
