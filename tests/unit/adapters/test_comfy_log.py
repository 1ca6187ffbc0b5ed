"""The end of ComfyUI's log file: its last lines, bounded, and the reason a failed start gave."""
from adapters.comfy_log import LINE_CHARS, TAIL_LINES, ComfyLog

# index main.py stop_startup (after 0.35): logging.error(f"ASSETS_STARTUP_FAILED: {kind}\n{message}"); sys.exit(1)
ASSETS_IN_USE = """\
Total VRAM 24564 MB, total RAM 64221 MB
Import times for custom nodes:
   0.0 seconds: /comfyui/custom_nodes/websocket_image_save.py
ASSETS_STARTUP_FAILED: in_use
Another ComfyUI is already using this database: '/comfyui/user/comfyui.db'.
Close the other ComfyUI and start this one again.
Or give this ComfyUI its own database: --database-url sqlite:///path/to/another.db
Or start ComfyUI without the assets system: --disable-assets
"""


def test_the_assets_startup_failure_is_the_reason_with_its_explanation(tmp_path):
    log = tmp_path / "comfyui.log"
    log.write_text(ASSETS_IN_USE)

    tail = ComfyLog(str(log)).tail()

    assert tail.reason.startswith("ASSETS_STARTUP_FAILED: in_use Another ComfyUI is already using this database")
    assert "--disable-assets" in tail.reason
    assert tail.lines[-1] == "Or start ComfyUI without the assets system: --disable-assets"


def test_a_locked_database_and_a_taken_port_are_reasons_too(tmp_path):
    log = tmp_path / "comfyui.log"
    # 0.33 main.py setup_database (0.17.0 to 0.35), server.py:1437
    log.write_text("Starting server\nDatabase is locked. Another ComfyUI process is already using this database.\n"
                   "To resolve this, specify a separate database file for this instance:\n"
                   "  --database-url sqlite:///path/to/another.db\n")
    assert ComfyLog(str(log)).tail().reason == (
        "Database is locked. Another ComfyUI process is already using this database. To resolve this, specify a "
        "separate database file for this instance: --database-url sqlite:///path/to/another.db")
    log.write_text("Port 8188 is already in use on address 127.0.0.1. Please close the other application or use a "
                   "different port with --port.\n")
    assert ComfyLog(str(log)).tail().reason.startswith("Port 8188 is already in use on address 127.0.0.1.")


def test_a_log_that_tells_no_reason_gives_its_last_lines_bounded(tmp_path):
    log = tmp_path / "comfyui.log"
    log.write_text("".join(f"line {n}\n" for n in range(500)) + "x" * 10_000 + "\n")

    tail = ComfyLog(str(log)).tail()

    assert tail.reason is None
    assert len(tail.lines) <= TAIL_LINES and tail.lines[-1] == "x" * LINE_CHARS + "…"
    assert tail.lines[-2] == "line 499"


def test_no_file_or_an_unreadable_one_is_nothing(tmp_path):
    assert ComfyLog(None).tail().lines == ()
    assert ComfyLog(str(tmp_path / "absent.log")).tail().lines == ()
