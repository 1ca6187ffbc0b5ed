"""The SSRF guard's address classification and the fetcher's refusals, without any network traffic."""
import ipaddress

import pytest
import requests

from adapters.http_input_fetcher import HttpInputFetcher, PinnedAddressAdapter, redacted
from adapters.ssrf_guard import embedded_ipv4, parse_address, refusal_reason
from domain.budget import Budget
from domain.errors import Cancelled, InputFetchFailed, InvalidInput

REFUSED = {
    "127.0.0.1": "loopback", "127.255.0.9": "loopback", "10.1.2.3": "private", "172.16.0.1": "private",
    "192.168.1.1": "private", "169.254.169.254": "metadata", "169.254.170.2": "metadata", "169.254.1.1": "link-local",
    "100.100.100.200": "metadata", "100.64.0.1": "not a public", "0.0.0.0": "unspecified", "224.0.0.1": "multicast",
    "239.1.1.1": "multicast", "240.0.0.1": "reserved", "255.255.255.255": "reserved", "192.0.2.1": "private",
    "198.18.0.1": "private", "::1": "loopback", "::": "unspecified", "fe80::1": "link-local",
    "fe80::1%eth0": "link-local", "fc00::1": "private", "fd00:ec2::254": "metadata", "ff02::1": "multicast",
    "::ffff:127.0.0.1": "loopback", "::ffff:169.254.169.254": "metadata", "::127.0.0.1": "loopback",
    "::ffff:10.0.0.1": "private", "2002:7f00:1::": "loopback", "2002:a00:1::": "private",
    "64:ff9b::10.0.0.1": "private", "64:ff9b:1:a00:0:100::": "private", "2001:db8::1": "private",
}
PUBLIC = ["8.8.8.8", "1.1.1.1", "151.101.1.69", "2001:4860:4860::8888", "2606:4700::1111",
          "::ffff:8.8.8.8", "2002:808:808::", "64:ff9b::8.8.8.8"]


@pytest.mark.parametrize("address,reason", sorted(REFUSED.items()))
def test_non_public_addresses_are_refused_with_a_reason(address, reason):
    assert reason in (refusal_reason(parse_address(address)) or "")


@pytest.mark.parametrize("address", PUBLIC)
def test_public_unicast_addresses_pass(address):
    assert refusal_reason(parse_address(address)) is None


def test_embedded_ipv4_forms():
    expected = ipaddress.IPv4Address("127.0.0.1")
    for form in ("::ffff:127.0.0.1", "::127.0.0.1", "2002:7f00:1::5", "64:ff9b::7f00:1"):
        assert embedded_ipv4(ipaddress.IPv6Address(form)) == expected
    assert embedded_ipv4(ipaddress.IPv6Address("::1")) is None
    assert embedded_ipv4(ipaddress.IPv6Address("2606:4700::1111")) is None


def test_redacted_keeps_scheme_host_port_and_path_only():
    assert redacted("https://user:pw@Example.com:8443/a/b.png?sig=x#frag") == "https://example.com:8443/a/b.png"
    assert redacted("http://[::1]/x?y") == "http://[::1]/x"
    assert redacted("http://example.com") == "http://example.com/"
    assert redacted("http://[::1") == "an unparsable URL"


class Spy:
    """A session and resolver stand-in that records what would have been resolved or sent."""

    def __init__(self, addresses=("93.184.216.34",)):
        self.addresses, self.resolved, self.sent = addresses, [], []

    def resolve(self, host, port):
        self.resolved.append((host, port))
        if isinstance(self.addresses, Exception):
            raise self.addresses
        return self.addresses

    def mount(self, prefix, adapter):
        pass

    def prepare_request(self, request):
        return request.prepare()

    def send(self, prepared, **kwargs):
        self.sent.append((prepared, kwargs))
        raise requests.exceptions.ConnectionError("HTTPConnectionPool(...): Max retries exceeded with url: /p?sig=s3cr3t")


def spied_fetcher(spy, allow_private=False):
    return HttpInputFetcher(max_bytes=10, allow_private=allow_private, connect_timeout_s=2, read_timeout_s=3,
                            session=spy, resolver=spy.resolve)


@pytest.mark.parametrize("url", ["ftp://example.com/a.png", "file:///etc/passwd", "gopher://example.com/",
                                 "data:image/png;base64,AAAA", "javascript:alert(1)", "example.com/a.png",
                                 "http:///nohost", "http://[::1/"])
def test_other_schemes_and_malformed_urls_are_refused_before_resolving(url):
    spy = Spy()
    with pytest.raises(InvalidInput):
        spied_fetcher(spy).fetch(url, Budget())
    assert spy.resolved == [] and spy.sent == []


def test_a_host_with_any_private_address_is_refused_before_connecting():
    spy = Spy(["93.184.216.34", "10.0.0.7"])
    with pytest.raises(InvalidInput, match="private"):
        spied_fetcher(spy).fetch("https://images.example.com/a.png", Budget())
    assert spy.resolved == [("images.example.com", 443)] and spy.sent == []


def test_unresolvable_hosts_fail_to_fetch():
    spy = Spy(OSError("Name or service not known"))
    with pytest.raises(InputFetchFailed, match="could not be resolved"):
        spied_fetcher(spy).fetch("http://nowhere.invalid/a.png", Budget())


def test_a_public_host_is_sent_with_its_host_header_budget_timeouts_and_no_proxies():
    spy = Spy()
    with pytest.raises(InputFetchFailed) as caught:
        spied_fetcher(spy).fetch("http://u:pw@Images.Example.com:8080/a.png?sig=s3cr3t", Budget())
    prepared, kwargs = spy.sent[0]
    assert prepared.headers["Host"] == "images.example.com:8080"
    assert kwargs["timeout"] == (2, 3) and kwargs["allow_redirects"] is False and kwargs["stream"] is True
    assert not any(kwargs["proxies"].values())
    assert caught.value.summary() == "input_fetch_failed: input URL http://images.example.com:8080/a.png: the connection failed"


def test_a_stopped_budget_stops_before_sending():
    spy = Spy()
    budget = Budget()
    budget.stop.set()
    with pytest.raises(Cancelled):
        spied_fetcher(spy).fetch("http://images.example.com/a.png", budget)
    assert spy.sent == []


def test_the_pinned_adapter_swaps_the_address_and_keeps_the_name_for_tls():
    adapter = PinnedAddressAdapter()
    request = requests.Request("GET", "https://images.example.com/a.png").prepare()
    with pytest.raises(requests.exceptions.InvalidURL):
        adapter.build_connection_pool_key_attributes(request, True)
    with adapter.pinned("93.184.216.34"):
        host_params, pool_kwargs = adapter.build_connection_pool_key_attributes(request, True)
    assert (host_params["scheme"], host_params["host"]) == ("https", "93.184.216.34")
    assert pool_kwargs["server_hostname"] == pool_kwargs["assert_hostname"] == "images.example.com"
