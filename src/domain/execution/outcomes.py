"""The error an unsuccessful prompt means, from how ComfyUI says it ended."""

from __future__ import annotations

from typing import Optional

from domain.errors import ExecutionFailed, ExecutionInterrupted, WorkerError
from domain.model import Outcome


def error_for_outcome(outcome: Outcome) -> Optional[WorkerError]:
    """The error an unsuccessful outcome means; None for a success."""
    if outcome.status == "success":
        return None
    where = (
        ""
        if outcome.node_id is None
        else f"node {outcome.node_id}" + (f" ({outcome.node_type})" if outcome.node_type else "")
    )
    if outcome.status == "interrupted":
        return ExecutionInterrupted(
            f"ComfyUI interrupted the prompt{' at ' + where if where else ''}", data=outcome.report
        )
    reason = ": ".join(part for part in (outcome.exception_type, outcome.message.strip()) if part)
    return ExecutionFailed(f"{where or 'workflow'}: {reason or 'ComfyUI reported an error'}", data=outcome.report)
