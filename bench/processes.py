"""A client process driven job by job over its stdin and stdout, its stderr kept in a log file."""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from typing import Any


class ClientProcess:
    def __init__(self, name: str, env: dict, root: str, log_dir: pathlib.Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "a")  # noqa: SIM115 (a log the process writes until it stops)
        self._process = subprocess.Popen([sys.executable, "-m", f"bench.clients.{name}"], cwd=root, env=env,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True)
        assert self._process.stdin is not None and self._process.stdout is not None  # both are pipes
        self._stdin, self._stdout = self._process.stdin, self._process.stdout
        self._read()  # {"ready": true}: set up, waiting for its first job

    def ask(self, job: dict[str, Any]) -> dict[str, Any]:
        self._stdin.write(json.dumps(job) + "\n")
        self._stdin.flush()
        return self._read()

    def _read(self) -> dict[str, Any]:
        line = self._stdout.readline()
        if not line:
            self._log.flush()
            tail = self.log_path.read_text()[-2000:]
            raise RuntimeError(f"client {self.name} exited with {self._process.wait()}:\n{tail}")
        return json.loads(line)

    def close(self) -> None:
        try:
            self._stdin.close()
            self._process.wait(30)
        except (subprocess.TimeoutExpired, BrokenPipeError):
            self._process.kill()
            self._process.wait()
        finally:
            self._log.close()
