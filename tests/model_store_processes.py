"""Another worker process on the same download folder, for the cross-process tests of HttpModelStore.

    python tests/model_store_processes.py ensure ROOT URL FOLDER NAME   one JSON line per progress report
                                                                        ({"progress": n}), then {"ready": ...}
    python tests/model_store_processes.py hold ROOT FOLDER NAME         {"holding": true} once `in_use` holds the
                                                                        file, {"released": true} after a line on stdin
Errors end with {"error": traceback}. `WorkerProcess` starts one and reads its lines.
"""

from __future__ import annotations

import json
import os
import pathlib
import queue
import subprocess
import sys
import threading
import traceback
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
SETTINGS: dict[str, Any] = dict(max_bytes=10**9, fetch_timeout_s=30, allow_private=True)


class WorkerProcess:
    """One such process; `next_message()` waits for its next JSON line."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT / "tests")]))
        self.process = subprocess.Popen(
            [sys.executable, __file__, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        self._messages: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:  # type: ignore[union-attr]
            self._messages.put(json.loads(line))
        self._messages.put({"exited": self.process.wait()})

    def next_message(self, timeout_s: float = 60) -> dict:
        return self._messages.get(timeout=timeout_s)

    def send_line(self) -> None:
        self.process.stdin.write("go\n")  # type: ignore[union-attr]
        self.process.stdin.flush()  # type: ignore[union-attr]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(30)


def _say(**message: object) -> None:
    print(json.dumps(message), flush=True)


def main(argv: list[str]) -> int:
    from adapters.http_model_store import HttpModelStore
    from domain.budget import Budget
    from domain.inputs.model_requests import ModelRequest

    try:
        if argv[0] == "ensure":
            root, url, folder, name = argv[1:5]
            store = HttpModelStore(root, **SETTINGS)
            ready = store.ensure(ModelRequest(url, folder, name), Budget(), lambda done, total: _say(progress=done))
            _say(ready=ready.outcome, moved=ready.bytes_moved, size=ready.size_bytes)
        elif argv[0] == "hold":
            root, folder, name = argv[1:4]
            store = HttpModelStore(root, **SETTINGS)
            with store.in_use([ModelRequest("http://unused.invalid/", folder, name)]):
                _say(holding=True)
                sys.stdin.readline()
            _say(released=True)
    except BaseException:
        _say(error=traceback.format_exc())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
