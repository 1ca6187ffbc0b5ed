"""Downloads input files from http(s) URLs with a size cap, our own redirect loop and the SSRF guard on every hop."""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Iterator, Optional
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

from adapters.ssrf_guard import Guard, Resolver, parse_address, refusal_reason, system_resolver
from domain.budget import Budget
from domain.errors import InputFetchFailed, InvalidInput

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
NO_PROXIES = {"http": None, "https": None, "all": None}  # a proxy would connect to an address we did not check


def redacted(url: str) -> str:
    """`scheme://host[:port]/path` of a URL: no credentials, query string or fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "an unparsable URL"
    host = f"[{host}]" if ":" in host else host
    path = parts.path or "/"
    return f"{parts.scheme}://{host}{port}{path if len(path) <= 200 else path[:200] + '...'}"


class PinnedAddressAdapter(HTTPAdapter):
    """Connects to the address the guard checked (no second DNS lookup, so no rebinding), while the Host header,
    TLS SNI and certificate verification stay those of the URL's host name."""

    def __init__(self) -> None:
        self._pin = threading.local()
        super().__init__(max_retries=0)

    @contextlib.contextmanager
    def pinned(self, address: str) -> Iterator[None]:
        self._pin.address = address
        try:
            yield
        finally:
            self._pin.address = None

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        address = getattr(self._pin, "address", None)
        if address is None:
            raise requests.exceptions.InvalidURL("refusing to connect to an address the guard did not check")
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        hostname = host_params["host"].strip("[]")
        host_params["host"] = address
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = hostname
            pool_kwargs["assert_hostname"] = hostname
        return host_params, pool_kwargs


class HttpInputFetcher:
    """`InputFetcher` over requests. Refusals (scheme, address, size) are `InvalidInput`; failures `InputFetchFailed`."""

    def __init__(
        self,
        max_bytes: int,
        allow_private: bool,
        connect_timeout_s: float,
        read_timeout_s: float,
        max_redirects: int = 5,
        session: Optional[requests.Session] = None,
        resolver: Resolver = system_resolver,
        guard: Guard = refusal_reason,
    ) -> None:
        self.max_bytes = max_bytes
        self.allow_private = allow_private
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.max_redirects = max_redirects
        self._resolver = resolver
        self._guard = guard
        self._adapter = PinnedAddressAdapter()
        if session is None:
            session = requests.Session()
            session.trust_env = False  # no proxies or .netrc credentials from the environment
        session.mount("http://", self._adapter)
        session.mount("https://", self._adapter)
        self._session = session

    def fetch(self, url: str, budget: Budget) -> bytes:
        current = url
        for _ in range(self.max_redirects + 1):
            with contextlib.closing(self._get(current, budget)) as response:
                if not response.is_redirect:
                    return self._body(response, redacted(current), budget)
                current = urljoin(current, response.headers["location"])
        raise InputFetchFailed(f"input URL {redacted(url)}: more than {self.max_redirects} redirects")

    def _get(self, url: str, budget: Budget) -> requests.Response:
        where = redacted(url)
        try:
            if urlsplit(url).scheme not in ("http", "https"):
                raise InvalidInput(f"input URL {where}: only http and https URLs are accepted")
            prepared = self._session.prepare_request(requests.Request("GET", url))
            parts = urlsplit(str(prepared.url))
            host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        except (requests.RequestException, ValueError):
            raise InvalidInput(f"input URL {where}: not a valid URL") from None
        if not host:
            raise InvalidInput(f"input URL {where}: has no host")
        address = self._checked_address(host, port, where)
        prepared.headers["Host"] = parts.netloc.rpartition("@")[2]
        doing = f"downloading {where}"
        timeout = (budget.timeout(self.connect_timeout_s, doing), budget.timeout(self.read_timeout_s, doing))
        try:
            with self._adapter.pinned(address):
                return self._session.send(
                    prepared, stream=True, allow_redirects=False, timeout=timeout, proxies=dict(NO_PROXIES)
                )
        except requests.RequestException as exc:
            raise InputFetchFailed(f"input URL {where}: {_describe(exc)}") from None

    def _checked_address(self, host: str, port: int, where: str) -> str:
        """The address to connect to: the first one the resolver gives, once every one it gives passed the guard."""
        try:
            addresses = [parse_address(text) for text in self._resolver(host, port)]
        except (OSError, UnicodeError, ValueError):
            raise InputFetchFailed(f"input URL {where}: the host name could not be resolved") from None
        if not addresses:
            raise InputFetchFailed(f"input URL {where}: the host name could not be resolved")
        if not self.allow_private:
            for address in addresses:
                reason = self._guard(address)
                if reason:
                    raise InvalidInput(f"input URL {where}: the host is {reason}; refused")
        return str(addresses[0])

    def _body(self, response: requests.Response, where: str, budget: Budget) -> bytes:
        if not 200 <= response.status_code < 300:
            raise InputFetchFailed(f"input URL {where}: HTTP {response.status_code}")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise InvalidInput(f"input URL {where}: {declared} bytes is over INPUT_MAX_BYTES ({self.max_bytes} bytes)")
        body = bytearray()
        try:
            for chunk in response.iter_content(CHUNK_BYTES):
                body += chunk
                if len(body) > self.max_bytes:
                    raise InvalidInput(f"input URL {where}: the body is over INPUT_MAX_BYTES ({self.max_bytes} bytes)")
                budget.check(f"downloading {where}")
        except requests.RequestException as exc:
            raise InputFetchFailed(f"input URL {where}: {_describe(exc)}") from None
        log.info("downloaded input %s (%d bytes)", where, len(body))
        return bytes(body)


def _describe(exc: requests.RequestException) -> str:
    """What went wrong, without the exception's text (requests puts the full URL, query string included, in it)."""
    text = repr(exc.args)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connecting timed out"
    if isinstance(exc, requests.exceptions.ReadTimeout) or "ReadTimeoutError" in text:
        return "reading timed out"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS failed (certificate or handshake)"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the body was cut short"
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return "the body could not be decoded"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "the connection failed"
    return f"the request failed ({type(exc).__name__})"
