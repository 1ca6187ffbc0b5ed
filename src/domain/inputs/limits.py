"""The limits on what one job sends: how many files, how large each, how large all together."""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import InvalidInput

DEFAULT_MAX_INPUT_BYTES = 50_000_000
DEFAULT_MAX_INPUT_FILES = 64
DEFAULT_MAX_TOTAL_INPUT_BYTES = 200_000_000


@dataclass(frozen=True)
class InputLimits:
    """The one owner of the input limits: the request's reader checks inline files with them, the use case gives
    each download what the total leaves. Messages name the limits; the edge names the settings behind them."""

    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES
    max_input_files: int = DEFAULT_MAX_INPUT_FILES
    max_total_input_bytes: int = DEFAULT_MAX_TOTAL_INPUT_BYTES

    def check_count(self, count: int, field: str) -> None:
        if count > self.max_input_files:
            raise InvalidInput(
                f"{field} has {count} files, over max_input_files ({self.max_input_files})", limits=("max_input_files",)
            )

    def check_inline_total(self, total: int, name: str) -> None:
        """The inline files read so far come to `total` bytes once decoded."""
        if total > self.max_total_input_bytes:
            raise InvalidInput(
                f"input image {name!r}: the inline inputs are over max_total_input_bytes "
                f"({self.max_total_input_bytes:,} bytes) once decoded",
                limits=("max_total_input_bytes",),
            )

    def too_large(self, name: str) -> InvalidInput:
        """The error of one file over `max_input_bytes`."""
        return InvalidInput(
            f"input image {name!r} is over max_input_bytes ({self.max_input_bytes:,} bytes) once decoded",
            limits=("max_input_bytes",),
        )

    def left_for(self, name: str, held: int) -> int:
        """What a file still to be read may take, once `held` bytes of the job's inputs are held."""
        left = self.max_total_input_bytes - held
        if left <= 0:
            raise InvalidInput(
                f"input {name!r}: the job's inputs already reach max_total_input_bytes "
                f"({self.max_total_input_bytes:,} bytes)",
                limits=("max_total_input_bytes",),
            )
        return left
