"""Processes a test starts: each in a process group of its own, ended with everything it started."""
import os
import signal
import subprocess


def end_process_group(process: subprocess.Popen, grace_s: float = 15.0) -> None:
    """SIGTERM to the process and its group (children such as the RunPod SDK's heartbeat process), SIGKILL after
    `grace_s`; the group is killed even when the leader already exited, since its children may outlive it."""
    if process.poll() is None:
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
    _signal_group(process.pid, signal.SIGKILL)
    process.wait(timeout=grace_s)


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass
