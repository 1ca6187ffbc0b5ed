"""The worker's configuration as frozen dataclasses (read from the environment by `entrypoints.environment`), and
the error a bad value is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from entrypoints.s3_settings import S3Settings


class ConfigError(ValueError):
    """A configuration value that would make the worker misbehave: `variable` names it, `why` says what is wrong."""

    def __init__(self, variable: str, why: str) -> None:
        super().__init__(f"{variable}: {why}")
        self.variable = variable
        self.why = why


# the use case's limits, as its messages name them, and the variables that set them
LIMIT_VARIABLES = {
    "max_input_files": "INPUT_MAX_FILES",
    "max_input_bytes": "INPUT_MAX_BYTES",
    "max_total_input_bytes": "INPUT_MAX_TOTAL_BYTES",
    "max_response_bytes": "MAX_RESPONSE_BYTES",
}


@dataclass(frozen=True)
class ComfySettings:
    host: str
    base_url: str
    ready_interval_s: float
    ready_max_retries: int  # 0: while ComfyUI's process (PID file) lives; without a PID file, a bounded wait
    pid_file: Optional[str]
    log_file: Optional[str]  # ComfyUI's output, whose last lines tell why a start failed
    org_api_key: Optional[str]
    silence_check_s: float


@dataclass(frozen=True)
class WebsocketSettings:
    reconnect_attempts: int
    reconnect_delay_s: float
    ping_interval_s: float
    trace: bool


@dataclass(frozen=True)
class OutputSettings:
    sink: str
    concurrency: int
    max_response_bytes: int
    stream: bool


@dataclass(frozen=True)
class OutputFormatSettings:
    max_pixels: int


@dataclass(frozen=True)
class InputSettings:
    max_bytes: int
    allow_private: bool
    fetch_timeout_s: float
    max_files: int
    max_total_bytes: int


@dataclass(frozen=True)
class ModelSettings:
    """Model files jobs ask for by URL: downloaded into `download_dir` (None: downloads are off)."""

    download_dir: Optional[str]
    max_bytes: int
    fetch_timeout_s: float
    cache_max_bytes: Optional[int]  # None: nothing is evicted
    hf_token: Optional[str] = field(default=None, repr=False)  # sent to Hugging Face's hosts only
    civitai_token: Optional[str] = field(default=None, repr=False)  # sent to Civitai's hosts only

    @property
    def enabled(self) -> bool:
        return self.download_dir is not None


@dataclass(frozen=True)
class WarmupSettings:
    workflow: Optional[dict]


@dataclass(frozen=True)
class LoggingSettings:
    level: str
    runpod_level: str


@dataclass(frozen=True)
class JobSettings:
    timeout_s: Optional[float]
    stall_timeout_s: float
    refresh_worker: bool
    progress_updates: bool
    partial_results: bool
    max_concurrency: int


@dataclass(frozen=True)
class FolderSettings:
    """ComfyUI's folders, where each job's files are deleted once it ended; unset: nothing is deleted."""

    input_dir: Optional[str]
    output_dir: Optional[str]
    temp_dir: Optional[str]
    cleanup: bool

    @property
    def active(self) -> bool:
        return self.cleanup and any((self.input_dir, self.output_dir, self.temp_dir))


@dataclass(frozen=True)
class Settings:
    comfy: ComfySettings
    websocket: WebsocketSettings
    output: OutputSettings
    s3: S3Settings  # the output stores' own settings: entrypoints.output_stores
    output_format: OutputFormatSettings
    inputs: InputSettings
    warmup: WarmupSettings
    logging: LoggingSettings
    job: JobSettings
    folders: FolderSettings
    models: ModelSettings
