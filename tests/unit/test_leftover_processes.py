"""The session-end check: a run whose tests leave a process behind (an orphan too) fails and kills it."""
import os
import pathlib
import subprocess
import sys
import textwrap

import psutil

TESTS = pathlib.Path(__file__).resolve().parents[1]

INNER = textwrap.dedent('''
    import subprocess
    import sys

    SLEEP = [sys.executable, "-c", "import time; time.sleep(120)"]


    def test_ends_what_it_starts():
        process = subprocess.Popen(SLEEP, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        process.kill()
        process.wait()


    def test_leaves_a_child_and_an_orphan():
        child = subprocess.Popen(SLEEP, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # the parent exits at once: its child is adopted by init and is no longer a descendant of pytest
        spawner = "import subprocess as s, sys; print(s.Popen(sys.argv[1:], stdout=s.DEVNULL, stderr=s.DEVNULL).pid)"
        orphan = subprocess.run([sys.executable, "-c", spawner, *SLEEP], capture_output=True, text=True, check=True)
        with open("pids.txt", "w") as pids:
            pids.write(f"{child.pid} {orphan.stdout.strip()}")
''')


def run_inner(tmp_path, select: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_inner.py").write_text(INNER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "leftover_processes", "-p", "no:cacheprovider",
                           "-q", "-k", select, "test_inner.py"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_session_whose_tests_end_their_processes_passes(tmp_path):
    inner = run_inner(tmp_path, "ends_what_it_starts")
    assert inner.returncode == 0, inner.stdout + inner.stderr
    assert "outlived" not in inner.stdout


def test_a_process_left_behind_fails_the_session_and_is_killed(tmp_path):
    inner = run_inner(tmp_path, "leaves_a_child")
    pids = [int(pid) for pid in (tmp_path / "pids.txt").read_text().split()]
    try:
        assert inner.returncode == 1, inner.stdout + inner.stderr
        assert "1 passed" in inner.stdout
        assert "2 process(es) started by the tests outlived the session" in inner.stdout
        assert inner.stdout.count("test_inner.py::test_leaves_a_child_and_an_orphan (call)") == 2
        assert not any(running(pid) for pid in pids)
    finally:
        for pid in pids:
            if running(pid):
                psutil.Process(pid).kill()
