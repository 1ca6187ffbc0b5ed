"""The SSRF guard's own table of refused ranges: IANA special-purpose ranges, IPv4 forms inside IPv6 decoded per
their RFCs, metadata and link-local addresses refused even when private addresses are allowed."""
import ipaddress
import threading

import pytest

from adapters.ssrf_guard import (
    MAX_PENDING_LOOKUPS,
    REFUSED,
    LookupTimedOut,
    embedded_ipv4,
    parse_address,
    refusal_reason,
    resolve_within,
)

IANA_RANGES = ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
               "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
               "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
               "::/128", "::1/128", "100::/64", "2001::/23", "2001:db8::/32", "fc00::/7", "fe80::/10", "fec0::/10",
               "ff00::/8"]


@pytest.mark.parametrize("network", IANA_RANGES)
def test_every_special_purpose_range_is_refused_at_both_ends(network):
    net = ipaddress.ip_network(network)
    for address in (net.network_address, net.broadcast_address):
        if isinstance(address, ipaddress.IPv6Address) and embedded_ipv4(address) is not None:
            continue  # judged by the IPv4 address it carries (2001::/23 starts with Teredo)
        assert refusal_reason(address), f"{address} of {network} passed"


def test_the_table_lists_its_ranges_explicitly():
    listed = {str(network) for network, _ in REFUSED} | {"169.254.0.0/16", "fe80::/10"}
    assert set(IANA_RANGES) <= listed


@pytest.mark.parametrize("address,reason", [
    ("fec0::1", "private"),  # site-local, deprecated but still routed by some stacks
    ("192.0.0.8", "private"),  # 3.11.2 and 3.11.7 disagree about it; the table does not
    ("192.0.0.170", "private"),
    ("3fff::1", "private"),  # documentation, RFC 9637
    ("5f00::1", "not a public"),  # SRv6 SIDs
    ("4000::1", "not a public"),  # outside 2000::/3
    ("2001:2::1", "private"),  # benchmarking, inside 2001::/23
    ("64:ff9b:1:7f00:0:100::", "loopback"),  # NAT64 local-use /48 carrying 127.0.0.1
    ("64:ff9b:1:7f00:0:100:808:808", "loopback"),  # read as a /96 it would be 8.8.8.8
    ("64:ff9b:1:a9fe:a9:fe00::", "metadata"),  # 169.254.169.254
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),  # Teredo, client 127.0.0.1 (inverted)
])
def test_ranges_the_python_tables_miss_or_misread_are_refused(address, reason):
    assert reason in (refusal_reason(parse_address(address)) or "")


@pytest.mark.parametrize("address", ["8.8.8.8", "192.0.1.1", "192.31.196.1", "64:ff9b:1:808:8:800::",
                                     "64:ff9b::8.8.8.8", "2001:0:4136:e378:8000:63bf:f7f7:f7f7", "2a00:1450::1"])
def test_public_addresses_and_their_ipv6_forms_pass(address):
    assert refusal_reason(parse_address(address)) is None


def test_nat64_local_use_is_decoded_per_rfc_6052_for_a_48_bit_prefix():
    assert embedded_ipv4(ipaddress.IPv6Address("64:ff9b:1:808:8:800::")) == ipaddress.IPv4Address("8.8.8.8")
    assert embedded_ipv4(ipaddress.IPv6Address("64:ff9b:1:c000:2:100::")) == ipaddress.IPv4Address("192.0.2.1")


def test_only_the_table_decides_not_the_ipaddress_properties(mocker):
    for cls in (ipaddress.IPv4Address, ipaddress.IPv6Address):
        for name, value in (("is_private", False), ("is_global", True), ("is_reserved", False),
                            ("is_loopback", False), ("is_link_local", False)):
            mocker.patch.object(cls, name, new_callable=mocker.PropertyMock, return_value=value)
    for address in ("10.0.0.1", "127.0.0.1", "169.254.169.254", "fc00::1", "::1", "192.0.0.8"):
        assert refusal_reason(parse_address(address)), address


@pytest.mark.parametrize("address,reason", [
    ("169.254.169.254", "metadata"), ("169.254.170.2", "metadata"), ("fd00:ec2::254", "metadata"),
    ("100.100.100.200", "metadata"), ("169.254.1.1", "link-local"), ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"), ("::ffff:169.254.169.254", "metadata"), ("64:ff9b::a9fe:a9fe", "metadata"),
    ("2002:a9fe:a9fe::", "metadata"),
])
def test_metadata_and_link_local_stay_refused_when_private_addresses_are_allowed(address, reason):
    assert reason in (refusal_reason(parse_address(address), allow_private=True) or "")


@pytest.mark.parametrize("address", ["10.0.0.1", "127.0.0.1", "192.168.1.1", "fd12::1", "::1", "100.64.0.1"])
def test_private_addresses_pass_when_allowed(address):
    assert refusal_reason(parse_address(address), allow_private=True) is None


def test_a_lookup_that_hangs_is_abandoned_at_its_timeout():
    release = threading.Event()
    try:
        with pytest.raises(LookupTimedOut, match=r"longer than 0\.2 s"):
            resolve_within(lambda host, port: release.wait(30) and ["8.8.8.8"], "slow.example", 80, 0.2)
    finally:
        release.set()


def test_hung_lookups_are_bounded_in_number():
    release = threading.Event()

    def hang(host, port):
        release.wait(30)
        return ["8.8.8.8"]

    try:
        for _ in range(MAX_PENDING_LOOKUPS):
            with pytest.raises(LookupTimedOut, match="longer than"):
                resolve_within(hang, "slow.example", 80, 0.01)
        with pytest.raises(LookupTimedOut, match="too many host lookups"):
            resolve_within(lambda host, port: ["8.8.8.8"], "fast.example", 80, 5)
    finally:
        release.set()
    for thread in threading.enumerate():
        if thread.name == "input-host-lookup":
            thread.join(10)  # a released lookup returns its slot as it ends
    assert resolve_within(lambda host, port: ["8.8.8.8"], "fast.example", 80, 5) == ["8.8.8.8"]


def test_a_lookup_error_reaches_the_caller():
    def fail(host, port):
        raise OSError("Name or service not known")

    with pytest.raises(OSError, match="not known"):
        resolve_within(fail, "nowhere.invalid", 80, 5)
