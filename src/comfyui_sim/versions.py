"""The ComfyUI versions the simulator can be: what a client sees differ between them, each switch dated by the
release that brought it (read in ComfyUI's source at the tags v0.3.64, v0.8.0, v0.17.2, v0.19.3 and on master of
2026-08-22, pyproject 0.33.0, which the 0.35 profile is modelled on)."""

from dataclasses import dataclass, field
from typing import Optional


def _features(*extra: dict) -> dict:
    # comfy_api/feature_flags.py SERVER_FEATURE_FLAGS (0.3.64 :13-16): the reply to a client's feature_flags message
    features: dict = {"supports_preview_metadata": True, "max_upload_size": 104857600}
    for more in extra:
        features.update(more)
    return features


@dataclass(frozen=True)
class Profile:
    """One ComfyUI version's client-visible behaviour (each field names the release it came with)."""

    version: str
    frontend: str  # requirements.txt's comfyui-frontend-package pin, /system_stats' required_frontend_version
    # 0.12.0 (#12194): an unknown class is the top error `missing_node_type` with extra_info{node_id, class_type,
    # node_title} (0.17.2 execution.py:1023,1040); before, `invalid_prompt` "Cannot execute because node X does not
    # exist." (0.3.64 execution.py:978-987)
    missing_node_type: bool = False
    # 0.14.0 (#12014): POST /prompt rewrites deprecated classes before validation (0.17.2 server.py:893,
    # app/node_replace_manager.py), and GET /node_replacements lists them
    node_replacement: bool = False
    # 0.20.0 (#13169): a cycle is a `dependency_cycle` error on each node in it (0.33 execution.py:854-868); before,
    # validation recursed until Python's recursion limit
    dependency_cycle: bool = False
    # 0.23.0 (#13802, #14089): RAM_PRESSURE is the default cache (0.33 main.py:378-398): results of earlier prompts
    # stay cached until memory runs short; before, CLASSIC keeps only the previous prompt's (caching.py:175-182)
    ram_pressure_cache: bool = False
    # 0.3.68 to 0.27.x: a cached output node's result is added to /history only when the prompt had a client_id
    # (0.8.0 execution.py:419-423); 0.3.64 (:708-719) and 0.28.0+ (#14939, 0.33 :430-436) add it always
    cached_history_needs_client: bool = False
    # 0.25.0 (#13998): a client's prompt_id must be a canonical lowercase UUID, else 400 invalid_prompt_id
    # (0.33 server.py:1090-1104, comfy_execution/jobs.py:34-50); before, any value is str()-ed (0.8.0 server.py:872)
    canonical_prompt_id: bool = False
    # 0.6.0 (#11054): GET /api/jobs/{id} (0.8.0 server.py:802); `cancelled` status from 0.9.0 (#11680)
    jobs_api: bool = False
    jobs_cancelled_status: bool = False
    # 0.26.0 (#14493): POST /api/jobs/{id}/cancel (0.33 server.py:944-987); before, no POST route matches and the
    # static catch-all answers 405 (observed on 0.3.64)
    jobs_cancel: bool = False
    # 0.28.0 (#14734): /view sends HTML, JS, CSS, SVG and XML as application/octet-stream attachments with nosniff
    # (0.33 server.py:615-659, folder_paths.py:279-323); before, only HTML and CSS became octet-stream, inline
    dangerous_as_attachment: bool = False
    # 0.18.0 (#12863): /view resolves `blake3:<hash>` names through the asset database (0.19.3 server.py:501-510)
    view_blake3: bool = False
    # 0.25.0 (#13862): with --enable-assets, output entries carry the asset's `id` (0.33 asset_enrichment.py)
    asset_ids: bool = False
    # 0.3.69 (#10741): extra_data.create_time (ms) in /queue and /history
    create_time: bool = True
    server_features: dict = field(default_factory=_features)
    extra_system: dict = field(default_factory=dict)

    def at_least(self, version: str) -> bool:
        return _parts(self.version) >= _parts(version)


def _parts(version: str) -> tuple:
    return tuple(int(part) for part in version.split("."))


PROFILES = {
    profile.version: profile
    for profile in (
        Profile("0.3.64", frontend="1.27.10", cached_history_needs_client=False, create_time=False),
        Profile(
            "0.8.0",
            frontend="1.35.9",
            cached_history_needs_client=True,
            jobs_api=True,
            server_features=_features({"extension": {"manager": {"supports_v4": True}}}),
        ),
        Profile(
            "0.17.2",
            frontend="1.41.20",
            missing_node_type=True,
            node_replacement=True,
            cached_history_needs_client=True,
            jobs_api=True,
            jobs_cancelled_status=True,
            server_features=_features(
                {"extension": {"manager": {"supports_v4": True}}, "node_replacements": True, "assets": False}
            ),
        ),
        Profile(
            "0.35.1",
            frontend="1.49.6",
            missing_node_type=True,
            node_replacement=True,
            dependency_cycle=True,
            ram_pressure_cache=True,
            canonical_prompt_id=True,
            jobs_api=True,
            jobs_cancelled_status=True,
            jobs_cancel=True,
            dangerous_as_attachment=True,
            view_blake3=True,
            asset_ids=True,
            server_features=_features(
                {
                    "extension": {"manager": {"supports_v4": True}},
                    "node_replacements": True,
                    "assets": False,
                    "supports_model_type_tags": True,
                }
            ),
            # /system_stats gained these in 0.22.0 (#13875) and 0.25.0 (#14402) (0.33 server.py:695-732)
            extra_system={"comfy_package_versions": {}, "deploy_environment": "local"},
        ),
    )
}
DEFAULT_VERSION = "0.8.0"
NEWEST_VERSION = "0.35.1"


def profile(version: Optional[str] = None) -> Profile:
    """The profile of `version` ("0.17" picks the 0.17.x modelled); `ValueError` for one not modelled."""
    wanted = version or DEFAULT_VERSION
    if wanted in PROFILES:
        return PROFILES[wanted]
    matches = [known for known in PROFILES if known.startswith(wanted + ".")]
    if len(matches) == 1:
        return PROFILES[matches[0]]
    raise ValueError(f"ComfyUI {wanted} is not modelled; the simulator models {', '.join(PROFILES)}")
