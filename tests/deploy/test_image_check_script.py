"""scripts/image_check.sh (`make image-check`) without a Docker engine: it says SKIPPED in a way nobody reads as a
pass (a banner, the last line, exit status 77) and touches nothing."""
import os
import subprocess

from deploy.start_harness import ROOT


def test_without_an_engine_the_check_is_skipped_never_passed(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "docker.calls"
    (bin_dir / "docker").write_text(f'#!/usr/bin/env bash\necho "$*" >> {calls}\necho "no engine" >&2\nexit 1\n')
    (bin_dir / "docker").chmod(0o755)
    result = subprocess.run(["bash", str(ROOT / "scripts/image_check.sh")], capture_output=True, text=True,
                            timeout=60, env=os.environ | {"PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert result.returncode == 77
    assert result.stdout.strip().splitlines()[-1] == "image-check: SKIPPED"
    assert "NOT a pass" in result.stderr and "PASSED" not in result.stdout
    assert calls.read_text().split() == ["info"], "nothing is built or run"
