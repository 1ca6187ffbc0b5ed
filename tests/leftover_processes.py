"""pytest plugin: every process the tests started, orphans included, must be gone when the session ends.

Processes are told apart by a variable they inherit (a token new to each session), so the processes of other
test runs on the same machine are never counted; a process started with an environment of its own is not seen.
"""
import os
import uuid

import psutil
import pytest

MARK = "TEST_SESSION_MARK"
GRACE_S = 3.0
_token = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_token] = os.environ[MARK] = uuid.uuid4().hex


def pytest_unconfigure(config: pytest.Config) -> None:
    if os.environ.get(MARK) == config.stash.get(_token, None):
        os.environ.pop(MARK, None)


def pytest_sessionfinish(session: pytest.Session) -> None:
    left = leftovers(session.config.stash[_token])
    _, alive = psutil.wait_procs(left, timeout=GRACE_S)
    if not alive:
        return
    lines = [describe(process) for process in alive]
    for process in alive:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = f"{len(alive)} process(es) started by the tests outlived the session (now killed):"
    if reporter is not None:
        reporter.write_line("")
        for line in [message, *lines]:
            reporter.write_line(line, red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def leftovers(token: str) -> list[psutil.Process]:
    """Live processes whose environment carries this session's token (zombies are gone already)."""
    found = []
    for process in psutil.process_iter(["environ", "status"], ad_value=None):
        environ = process.info["environ"] or {}
        if (process.pid != os.getpid() and environ.get(MARK) == token
                and process.info["status"] != psutil.STATUS_ZOMBIE):
            found.append(process)
    return found


def describe(process: psutil.Process) -> str:
    try:
        command = " ".join(process.cmdline())[:160]
        started_in = (process.environ() or {}).get("PYTEST_CURRENT_TEST", "?")
    except psutil.Error:
        command, started_in = "?", "?"
    return f"  pid {process.pid}: {command} (started during {started_in})"
