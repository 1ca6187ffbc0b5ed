"""HttpInputFetcher against a real HTTP server on loopback: guard both ways, redirects, size cap, timeouts."""
import http.server
import socket
import threading

import pytest

from adapters.http_input_fetcher import HttpInputFetcher
from adapters.ssrf_guard import parse_address, refusal_reason, system_resolver
from domain.budget import Budget
from domain.errors import InputFetchFailed, InvalidInput, JobTimedOut
from integration.sim_job import wait_until

BODY = b"hello, input"
CAP = 1000


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.seen.append((self.path, self.headers.get("Host")))
        route, _, arg = self.path.partition("?")[0].strip("/").partition("/")
        getattr(self, "route_" + route.replace("-", "_"), self.route_missing)(arg)

    def send(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def route_ok(self, _):
        self.send(200, BODY)

    def route_missing(self, _):
        self.send(404, b"no")

    def route_host(self, _):
        self.send(200, self.headers.get("Host", "").encode())

    def route_hops(self, arg):
        left = int(arg)
        self.send(302, headers=[("Location", f"/hops/{left - 1}" if left > 1 else "/ok")])

    def route_to(self, _):
        self.send(302, headers=[("Location", self.server.redirect_target)])

    def route_declared_big(self, _):
        # declares far more than the cap and sends nothing: only a refusal before reading ends this quickly
        self.send_response(200)
        self.send_header("Content-Length", str(10 * CAP * 1000))
        self.end_headers()
        self.wfile.flush()
        self.server.release.wait(30)

    def route_endless(self, _):
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"x" * 512
        try:
            while not self.server.release.is_set():
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass

    def route_stall(self, _):
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        self.wfile.write(b"0123456789")
        self.wfile.flush()
        self.server.release.wait(30)

    def drip(self, count):
        """One byte every DRIP_S until `count` bytes or the client is gone; `server.drips` says which."""
        try:
            for _ in range(count):
                if self.server.release.wait(DRIP_S):
                    return
                self.wfile.write(b"x")
                self.wfile.flush()
        except OSError:
            self.server.drips.append("cut by the client")
            return
        self.server.drips.append("all sent")

    def route_drip(self, _):
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        self.wfile.flush()
        self.drip(100)

    def route_drip_unsized(self, _):
        # no length: the body ends when the connection closes, so a cut connection must not pass for a whole body
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        self.drip(100)
        self.close_connection = True

    def route_drip_headers(self, _):
        self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        self.wfile.flush()
        self.drip(100)

    def route_superscript_length(self, _):
        self.send_response(200)
        self.send_header("Content-Length", "\u00b2")  # '²'.isdigit() is True, int('²') raises
        self.end_headers()
        self.wfile.write(b"xx")


DRIP_S = 0.3  # 100 bytes at this pace take 30 s: far beyond the 1 s download deadline of the tests


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host, port=0):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), Handler)
        self.seen, self.release, self.redirect_target, self.drips = [], threading.Event(), "", []

    def url(self, path):
        host = self.server_address[0]
        return f"http://{'[' + host + ']' if ':' in host else host}:{self.server_address[1]}{path}"


def serve(host, port=0):
    server = Server(host, port)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


@pytest.fixture
def server():
    server = serve("127.0.0.1")
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def fetcher(**overrides):
    settings = dict(max_bytes=CAP, allow_private=True, connect_timeout_s=5, read_timeout_s=5)
    return HttpInputFetcher(**{**settings, **overrides})


def only(address):
    """A guard that lets exactly `address` through (our loopback server) and judges every other like the default."""
    return lambda candidate: None if candidate == parse_address(address) else refusal_reason(candidate)


def test_loopback_is_refused_by_default_before_any_request(server):
    with pytest.raises(InvalidInput, match="loopback"):
        fetcher(allow_private=False).fetch(server.url("/ok"), Budget())
    assert server.seen == []


def test_loopback_is_fetched_when_private_addresses_are_allowed(server):
    assert fetcher().fetch(server.url("/ok"), Budget()) == BODY


def test_ipv6_loopback_when_allowed():
    try:
        server6 = serve("::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert fetcher().fetch(server6.url("/ok"), Budget()) == BODY
        with pytest.raises(InvalidInput, match="loopback"):
            fetcher(allow_private=False).fetch(server6.url("/ok"), Budget())
    finally:
        server6.shutdown()
        server6.server_close()


def test_connects_to_the_resolved_address_and_keeps_the_host_name(server):
    port = server.server_address[1]
    calls = []

    def resolver(host, port_):
        calls.append(host)
        return ["127.0.0.1"]

    body = fetcher(resolver=resolver).fetch(f"http://images.example.test:{port}/host", Budget())
    assert body == f"images.example.test:{port}".encode()
    assert calls == ["images.example.test"]


def test_five_redirects_are_followed_and_six_are_refused(server):
    assert fetcher().fetch(server.url("/hops/5"), Budget()) == BODY
    server.seen.clear()
    with pytest.raises(InputFetchFailed, match="more than 5 redirects"):
        fetcher().fetch(server.url("/hops/6"), Budget())
    assert len(server.seen) == 6


@pytest.mark.parametrize("target", ["http://127.0.0.2:{port}/ok", "http://[::1]:{port}/ok",
                                    "http://[::ffff:127.0.0.1]:{port}/ok", "http://169.254.169.254/latest/meta-data/",
                                    "http://10.0.0.1/", "file:///etc/passwd"])
def test_a_redirect_hop_is_checked_like_the_first(server, target):
    server.redirect_target = target.format(port=server.server_address[1])
    guarded = fetcher(allow_private=False, guard=only("127.0.0.1"))
    with pytest.raises(InvalidInput):
        guarded.fetch(server.url("/to"), Budget())
    assert [path for path, _ in server.seen] == ["/to"]


def test_redirect_to_an_allowed_hop_is_followed(server):
    server.redirect_target = server.url("/ok")
    assert fetcher(allow_private=False, guard=only("127.0.0.1")).fetch(server.url("/to"), Budget()) == BODY


def test_declared_length_over_the_cap_is_refused_before_reading(server):
    with pytest.raises(InvalidInput, match=r"over INPUT_MAX_BYTES \(1000 bytes\)"):
        fetcher(read_timeout_s=20).fetch(server.url("/declared-big"), Budget())


def test_streamed_body_over_the_cap_is_refused(server):
    with pytest.raises(InvalidInput, match=r"body is over INPUT_MAX_BYTES \(1000 bytes\)"):
        fetcher().fetch(server.url("/endless"), Budget())


def test_a_body_that_stops_coming_hits_the_read_timeout(server):
    with pytest.raises(InputFetchFailed, match="reading timed out"):
        fetcher(read_timeout_s=0.5).fetch(server.url("/stall"), Budget())


def test_the_budget_is_checked_between_chunks(server):
    ticks = iter(range(10_000))
    budget = Budget(deadline=40, clock=lambda: next(ticks))
    with pytest.raises(JobTimedOut, match="downloading"):
        fetcher(max_bytes=10**9).fetch(server.url("/endless"), budget)


def test_http_errors_and_refused_connections_fail_without_credentials_or_query(server):
    url = server.url("/missing?token=s3cr3t").replace("http://", "http://user:hunter2@")
    with pytest.raises(InputFetchFailed) as caught:
        fetcher().fetch(url, Budget())
    assert caught.value.summary() == f"input_fetch_failed: input URL {server.url('/missing')}: HTTP 404"
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(InputFetchFailed, match="connection failed") as caught:
        fetcher().fetch(f"http://user:hunter2@127.0.0.1:{port}/x?sig=s3cr3t", Budget())
    assert "hunter2" not in caught.value.summary() and "s3cr3t" not in caught.value.summary()


@pytest.mark.parametrize("url", ["http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/", "http://127.1/",
                                 "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/",
                                 "http://[0:0:0:0:0:ffff:127.0.0.1]/", "http://0.0.0.0/", "http://[::]/"])
def test_numeric_loopback_forms_are_refused_as_far_as_the_resolver_takes_them(url):
    from urllib.parse import urlsplit
    try:
        resolved = system_resolver(urlsplit(url).hostname, 80)
    except OSError:
        resolved = None
    expected = InvalidInput if resolved else InputFetchFailed
    with pytest.raises(expected):
        fetcher(allow_private=False, session=NoTraffic()).fetch(url, Budget())


class NoTraffic:
    """A session stand-in that fails the test if anything is sent."""

    def mount(self, prefix, adapter):
        pass

    def prepare_request(self, request):
        return request.prepare()

    def send(self, *args, **kwargs):
        raise AssertionError("a refused URL was requested")


def self_signed(tmp_path, name):
    """A self-signed certificate for `name` (cryptography comes with moto, a test dependency)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_https_is_verified_by_host_name_while_connecting_to_the_checked_address(server, tmp_path):
    import ssl

    import requests

    cert_path, key_path = self_signed(tmp_path, "images.example.test")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    session = requests.Session()
    session.verify = str(cert_path)
    secure = fetcher(session=session, resolver=lambda host, port_: ["127.0.0.1"])
    assert secure.fetch(f"https://images.example.test:{port}/host", Budget()) == f"images.example.test:{port}".encode()
    with pytest.raises(InputFetchFailed, match="TLS failed"):
        secure.fetch(f"https://other.example.test:{port}/ok", Budget())


@pytest.mark.parametrize("route", ["/drip", "/drip-unsized", "/drip-headers"])
def test_a_dripping_server_is_cut_off_at_the_download_deadline(server, route):
    with pytest.raises(InputFetchFailed, match=r"longer than INPUT_FETCH_TIMEOUT_S \(1 s\)"):
        fetcher(fetch_timeout_s=1, read_timeout_s=5).fetch(server.url(route), Budget())
    # the drip lasts 30 s: the server finds the connection cut long before it could send its last byte
    wait_until(lambda: server.drips, 60)
    assert server.drips == ["cut by the client"]


def test_the_download_deadline_spans_redirects(server):
    server.redirect_target = server.url("/drip")
    with pytest.raises(InputFetchFailed, match="INPUT_FETCH_TIMEOUT_S"):
        fetcher(fetch_timeout_s=1, read_timeout_s=5).fetch(server.url("/to"), Budget())


def test_a_cancel_stops_a_dripping_download(server):
    from domain.errors import Cancelled

    budget = Budget()
    threading.Timer(0.5, budget.stop.set).start()
    with pytest.raises(Cancelled):
        fetcher(fetch_timeout_s=60, read_timeout_s=60).fetch(server.url("/drip"), budget)


def test_a_host_lookup_that_hangs_fails_the_download(server):
    release = threading.Event()

    def hanging_resolver(host, port):
        release.wait(5)
        return ["127.0.0.1"]

    try:
        with pytest.raises(InputFetchFailed, match="host lookup took longer"):
            fetcher(connect_timeout_s=0.5, resolver=hanging_resolver).fetch(
                f"http://slow-dns.example.test:{server.server_address[1]}/ok", Budget())
    finally:
        release.set()
    assert server.seen == []


def test_a_content_length_int_refuses_is_a_failed_fetch(server):
    with pytest.raises(InputFetchFailed, match="invalid Content-Length"):
        fetcher().fetch(server.url("/superscript-length"), Budget())


def test_the_jobs_remaining_allowance_caps_the_download(server):
    with pytest.raises(InvalidInput, match=r"INPUT_MAX_TOTAL_BYTES leaves for this job's inputs \(5 bytes\)"):
        fetcher().fetch(server.url("/ok"), Budget(), 5)
    with pytest.raises(InvalidInput, match=r"body is over what INPUT_MAX_TOTAL_BYTES leaves .* \(700 bytes\)"):
        fetcher().fetch(server.url("/endless"), Budget(), 700)
    assert fetcher().fetch(server.url("/ok"), Budget(), len(BODY)) == BODY
    with pytest.raises(InvalidInput, match=r"over INPUT_MAX_BYTES \(1000 bytes\)"):
        fetcher().fetch(server.url("/endless"), Budget(), 10**9)


@pytest.mark.parametrize("address", ["169.254.169.254", "169.254.1.1", "fe80::1", "fd00:ec2::254",
                                     "::ffff:169.254.169.254"])
def test_metadata_and_link_local_stay_refused_when_private_addresses_are_allowed(address):
    with pytest.raises(InvalidInput, match=r"metadata|link-local"):
        fetcher(allow_private=True, resolver=lambda host, port: [address], session=NoTraffic()).fetch(
            "http://images.example.test/a.png", Budget())


def test_a_rebinding_name_never_reaches_the_address_it_rebinds_to(server, monkeypatch):
    """The name answers a 'public' address (a second loopback server the guard treats as public) to the guard's
    lookup and 127.0.0.1 to any later one: the connection must go where the guard looked, with no second lookup."""
    port = server.server_address[1]
    try:
        public = serve("127.0.0.2", port)
    except OSError:
        pytest.skip("127.0.0.2 cannot take the port of the loopback server here")
    real_getaddrinfo = socket.getaddrinfo
    lookups = []

    def rebinding_getaddrinfo(host, *args, **kwargs):
        if host != "rebind.example.test":
            return real_getaddrinfo(host, *args, **kwargs)
        lookups.append(host)
        answer = "127.0.0.2" if len(lookups) == 1 else "127.0.0.1"
        return real_getaddrinfo(answer, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_getaddrinfo)
    try:
        guarded = fetcher(allow_private=False, guard=only("127.0.0.2"))
        assert guarded.fetch(f"http://rebind.example.test:{port}/ok", Budget()) == BODY
        assert server.seen == [] and [path for path, _ in public.seen] == ["/ok"]
        assert lookups == ["rebind.example.test"]
    finally:
        public.release.set()
        public.shutdown()
        public.server_close()


def test_a_dripping_server_over_tls_is_cut_off_at_the_download_deadline(server, tmp_path):
    import ssl

    import requests

    cert_path, key_path = self_signed(tmp_path, "images.example.test")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    session = requests.Session()
    session.verify = str(cert_path)
    secure = fetcher(session=session, resolver=lambda host, port_: ["127.0.0.1"], fetch_timeout_s=1, read_timeout_s=5)
    with pytest.raises(InputFetchFailed, match="INPUT_FETCH_TIMEOUT_S"):
        secure.fetch(f"https://images.example.test:{server.server_address[1]}/drip", Budget())
