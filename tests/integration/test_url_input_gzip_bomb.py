"""A gzip bomb behind a URL input: the decoded bytes are counted against the cap as they stream, and no read
decodes more than a chunk's worth (urllib3 >= 2.6), so memory stays bounded whatever the body expands to."""
import http.server
import threading
import tracemalloc
import zlib

import pytest

from adapters.http_input_fetcher import HttpInputFetcher
from domain.budget import Budget
from domain.errors import InvalidInput

EXPANDED = 200 * 1024 * 1024  # what the body decodes to
CAP = 1_000_000


def bomb() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip framing
    block = bytes(1024 * 1024)
    return b"".join(packer.compress(block) for _ in range(EXPANDED // len(block))) + packer.flush()


@pytest.fixture(scope="module")
def bomb_url():
    body = bomb()
    assert len(body) < EXPANDED // 500  # ~200 kB on the wire

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                pass

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/bomb.png"
    server.shutdown()
    server.server_close()


def test_a_gzip_bomb_input_is_refused_at_the_cap_with_bounded_memory(bomb_url):
    fetcher = HttpInputFetcher(max_bytes=CAP, allow_private=True, connect_timeout_s=5, read_timeout_s=5)
    tracemalloc.start()
    try:
        with pytest.raises(InvalidInput, match="the body is over"):
            fetcher.fetch(bomb_url, Budget(deadline=None))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    print(f"peak traced: {peak:,} bytes")
    assert peak < 16 * 1024 * 1024, peak  # the cap and a few chunks, never the 200 MB it decodes to
