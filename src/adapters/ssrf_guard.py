"""SSRF guard: which resolved addresses an input URL may reach, and a bounded host lookup to check them.

Only the project's own table below decides (never `ipaddress`'s is_private/is_global, whose tables change
between Python patch releases: 192.0.0.8 is "private" in 3.11.2 and not in 3.11.7). The table follows the
IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and their later entries), the IANA multicast
registries, 240.0.0.0/4 (RFC 1112), the deprecated site-local fec0::/10 (RFC 3879), and the IANA IPv6 Address
Space registry, in which only 2000::/3 is global unicast. IPv6 forms that carry an IPv4 address (mapped,
compatible, NAT64 per RFC 6052 and RFC 8215, 6to4, Teredo) are judged by the IPv4 address they carry.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from typing import Callable, Optional, Sequence, Union

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
Resolver = Callable[[str, int], Sequence[str]]
Guard = Callable[[IPAddress], Optional[str]]

LOOPBACK, PRIVATE, UNSPECIFIED = "a loopback address", "a private address", "an unspecified address"
NOT_PUBLIC, RESERVED, MULTICAST = "not a public address", "a reserved address", "a multicast address"
LINK_LOCAL, METADATA = "a link-local address", "a cloud metadata address"

# Cloud metadata services, named even where a broader rule (link-local, ULA, shared space) already refuses them.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud
    )
)
# Refused whatever INPUT_URL_ALLOW_PRIVATE says: metadata services answer there.
ALWAYS_REFUSED: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(net), LINK_LOCAL) for net in ("169.254.0.0/16", "fe80::/10")
)
# Refused unless INPUT_URL_ALLOW_PRIVATE=true; first match names the reason.
REFUSED: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(net), reason)
    for net, reason in (
        # IANA IPv4 Special-Purpose Address Registry
        ("0.0.0.0/8", UNSPECIFIED),  # "this network" (RFC 791)
        ("10.0.0.0/8", PRIVATE),  # RFC 1918
        ("100.64.0.0/10", NOT_PUBLIC),  # shared address space, carrier-grade NAT (RFC 6598)
        ("127.0.0.0/8", LOOPBACK),
        ("172.16.0.0/12", PRIVATE),  # RFC 1918
        ("192.0.0.0/24", PRIVATE),  # IETF protocol assignments (RFC 6890), DS-Lite 192.0.0.0/29, 192.0.0.8
        ("192.0.2.0/24", PRIVATE),  # documentation, TEST-NET-1 (RFC 5737)
        ("192.88.99.0/24", NOT_PUBLIC),  # deprecated 6to4 relay anycast (RFC 7526)
        ("192.168.0.0/16", PRIVATE),  # RFC 1918
        ("198.18.0.0/15", PRIVATE),  # benchmarking (RFC 2544)
        ("198.51.100.0/24", PRIVATE),  # documentation, TEST-NET-2 (RFC 5737)
        ("203.0.113.0/24", PRIVATE),  # documentation, TEST-NET-3 (RFC 5737)
        ("224.0.0.0/4", MULTICAST),  # IANA IPv4 Multicast Address Space Registry
        ("255.255.255.255/32", RESERVED),  # limited broadcast (RFC 919)
        ("240.0.0.0/4", RESERVED),  # reserved for future use (RFC 1112)
        # IANA IPv6 Special-Purpose Address Registry
        ("::/128", UNSPECIFIED),
        ("::1/128", LOOPBACK),
        ("100::/64", NOT_PUBLIC),  # discard-only (RFC 6666)
        ("100:0:0:1::/64", NOT_PUBLIC),  # dummy prefix (RFC 9780)
        ("2001::/23", PRIVATE),  # IETF protocol assignments (RFC 2928); Teredo 2001::/32 is decoded before
        ("2001:db8::/32", PRIVATE),  # documentation (RFC 3849)
        ("3fff::/20", PRIVATE),  # documentation (RFC 9637)
        ("5f00::/16", NOT_PUBLIC),  # segment routing SIDs (RFC 9602)
        ("fc00::/7", PRIVATE),  # unique local (RFC 4193)
        ("fec0::/10", PRIVATE),  # site-local, deprecated (RFC 3879)
        ("ff00::/8", MULTICAST),  # IANA IPv6 Multicast Address Space Registry
    )
)
GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")  # IANA IPv6 Address Space: the rest is reserved by the IETF

MAPPED = ipaddress.ip_network("::ffff:0:0/96")  # RFC 4291
COMPATIBLE = ipaddress.ip_network("::/96")  # RFC 4291, deprecated, still routed by some stacks
NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052
NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215
SIX_TO_FOUR = ipaddress.ip_network("2002::/16")  # RFC 3056
TEREDO = ipaddress.ip_network("2001::/32")  # RFC 4380


def embedded_ipv4(address: ipaddress.IPv6Address) -> Optional[ipaddress.IPv4Address]:
    """The IPv4 address an IPv6 form carries: mapped, compatible, NAT64, 6to4 or Teredo (client side)."""
    packed = address.packed
    if address in MAPPED or address in NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(packed[12:16])
    if address in COMPATIBLE and int(address) > 1:  # :: and ::1 are not IPv4 forms
        return ipaddress.IPv4Address(packed[12:16])
    if address in NAT64_LOCAL_USE:
        # RFC 6052 section 2.2, a /48 prefix: the IPv4 bits sit in bits 48-63 and 72-87, around the u octet (64-71)
        return ipaddress.IPv4Address(packed[6:8] + packed[9:11])
    if address in SIX_TO_FOUR:
        return ipaddress.IPv4Address(packed[2:6])
    if address in TEREDO:
        # RFC 4380 section 4: the client's IPv4 address is the last 32 bits, inverted
        return ipaddress.IPv4Address(bytes(b ^ 0xFF for b in packed[12:16]))
    return None


def refusal_reason(address: IPAddress, allow_private: bool = False) -> Optional[str]:
    """Why a fetch must not reach `address` (None when it may). With `allow_private`, only metadata and
    link-local addresses are refused."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            address = ipaddress.IPv6Address(address.compressed.split("%")[0])
        inner = embedded_ipv4(address)
        if inner is not None:
            reason = refusal_reason(inner, allow_private)
            return f"{reason} (embedded in an IPv6 address)" if reason else None
    if address in METADATA_ADDRESSES:
        return METADATA
    table = ALWAYS_REFUSED if allow_private else ALWAYS_REFUSED + REFUSED
    for network, reason in table:
        if address.version == network.version and address in network:
            return f"{reason} ({network})"
    if not allow_private and isinstance(address, ipaddress.IPv6Address) and address not in GLOBAL_UNICAST_V6:
        return f"{NOT_PUBLIC} (outside {GLOBAL_UNICAST_V6})"
    return None


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host`, in its order (literal IPs resolve to themselves)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class LookupTimedOut(OSError):
    """The host lookup did not answer in time (its thread is left to finish on its own)."""


MAX_PENDING_LOOKUPS = 8
_pending_lookups = threading.BoundedSemaphore(MAX_PENDING_LOOKUPS)


def resolve_within(resolver: Resolver, host: str, port: int, timeout_s: float) -> list[str]:
    """`resolver(host, port)` given at most `timeout_s`: getaddrinfo has no timeout of its own, so it runs in a
    thread of its own, abandoned when late; at most MAX_PENDING_LOOKUPS such threads exist at once."""
    if not _pending_lookups.acquire(blocking=False):
        raise LookupTimedOut("too many host lookups are still pending")
    answer: list = []

    def lookup() -> None:
        try:
            answer.append(list(resolver(host, port)))
        except BaseException as exc:  # handed to the caller below
            answer.append(exc)
        finally:
            _pending_lookups.release()

    thread = threading.Thread(target=lookup, name="input-host-lookup", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if not answer:
        raise LookupTimedOut(f"the host lookup took longer than {timeout_s:g} s")
    if isinstance(answer[0], BaseException):
        raise answer[0]
    return answer[0]


def parse_address(text: str) -> IPAddress:
    return ipaddress.ip_address(text)
