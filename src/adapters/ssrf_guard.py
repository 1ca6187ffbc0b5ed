"""SSRF guard: which resolved addresses an input URL may reach, and host resolution to check them."""

from __future__ import annotations

import ipaddress
import socket
from typing import Callable, Optional, Sequence, Union

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
Resolver = Callable[[str, int], Sequence[str]]
Guard = Callable[[IPAddress], Optional[str]]

# Cloud metadata services, named even where a broader rule (link-local, ULA, CGNAT) already refuses them.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud
    )
)
NAT64_PREFIXES = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def embedded_ipv4(address: ipaddress.IPv6Address) -> Optional[ipaddress.IPv4Address]:
    """The IPv4 address an IPv6 form carries: mapped, compatible, 6to4, NAT64 or Teredo (client side)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    packed = address.packed
    if any(address in prefix for prefix in NAT64_PREFIXES):
        return ipaddress.IPv4Address(packed[-4:])
    # IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks); :: and ::1 are not v4 forms
    if packed[:12] == bytes(12) and int(address) > 1:
        return ipaddress.IPv4Address(packed[-4:])
    return None


def refusal_reason(address: IPAddress) -> Optional[str]:
    """Why a fetch must not reach `address` (None when it is a public unicast address)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            address = ipaddress.IPv6Address(address.compressed.split("%")[0])
        inner = embedded_ipv4(address)
        if inner is not None:
            reason = refusal_reason(inner)
            return f"{reason} (embedded in an IPv6 address)" if reason else None
    checks = (
        (address in METADATA_ADDRESSES, "a cloud metadata address"),
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a public address"),
    )
    return next((reason for refused, reason in checks if refused), None)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host`, in its order (literal IPs resolve to themselves)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse_address(text: str) -> IPAddress:
    return ipaddress.ip_address(text)
