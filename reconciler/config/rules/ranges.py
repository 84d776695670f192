"""IP range rules: valid networks, unique names, the plan's 50-range limit, overlaps."""

from __future__ import annotations

import ipaddress

from reconciler.config.merge import MergedOrg, RangeEntry
from reconciler.config.rules._common import diag
from reconciler.findings import Finding
from reconciler.model import MAX_IP_RANGES

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def check_ranges(org: MergedOrg, diags: list[Finding]) -> None:
    names: dict[str, RangeEntry] = {}
    networks: list[tuple[Network, RangeEntry]] = []
    for position, entry in enumerate(org.ranges):
        name = entry.range.name
        if name in names:
            diags.append(
                diag(
                    entry.locate("name"),
                    "duplicate_range_name",
                    f"range name `{name}` is already used at {names[name].locate('name')}",
                    "give each range of an organization its own name",
                )
            )
        else:
            names[name] = entry
        if position == MAX_IP_RANGES:
            diags.append(
                diag(
                    entry.locate(),
                    "too_many_ranges",
                    f"organization `{org.name}` declares {len(org.ranges)} IP ranges; the "
                    f"platform allows at most {MAX_IP_RANGES}",
                    "merge neighbouring ranges into wider networks",
                )
            )
        network = _network(entry, diags)
        if network is not None:
            networks.append((network, entry))
    _check_overlaps(networks, diags)


def _network(entry: RangeEntry, diags: list[Finding]) -> Network | None:
    cidr = entry.range.cidr
    if "/" not in cidr:
        diags.append(
            diag(
                entry.locate("cidr"),
                "cidr_invalid",
                f"`{cidr}` has no prefix length",
                f"write `{cidr}/32` for one IPv4 address"
                if ":" not in cidr
                else f"write `{cidr}/128` for one IPv6 address",
            )
        )
        return None
    try:
        return ipaddress.ip_network(cidr, strict=True)
    except ValueError:
        pass
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        diags.append(
            diag(
                entry.locate("cidr"),
                "cidr_invalid",
                f"`{cidr}` is not a network in CIDR notation",
                "write an address and a prefix length, e.g. 203.0.113.0/24",
            )
        )
        return None
    diags.append(
        diag(
            entry.locate("cidr"),
            "cidr_host_bits",
            f"`{cidr}` has host bits set",
            f"use {network}: host bits are set",
        )
    )
    return None


def _check_overlaps(networks: list[tuple[Network, RangeEntry]], diags: list[Finding]) -> None:
    """Sort by start address and sweep: each range is compared with the widest one before it."""
    ordered = sorted(networks, key=lambda item: (item[0].version, int(item[0].network_address)))
    widest: tuple[Network, RangeEntry] | None = None
    for network, entry in ordered:
        if (
            widest is not None
            and widest[0].version == network.version
            and int(network.network_address) <= int(widest[0].broadcast_address)
        ):
            other, other_entry = widest
            diags.append(
                diag(
                    entry.locate("cidr"),
                    "overlapping_ranges",
                    f"`{entry.range.name}` ({network}) overlaps `{other_entry.range.name}` "
                    f"({other}) at {other_entry.locate()}",
                    "one range is enough for an address; remove or narrow one of them",
                    severity="warning",
                )
            )
        if (
            widest is None
            or widest[0].version != network.version
            or int(network.broadcast_address) > int(widest[0].broadcast_address)
        ):
            widest = (network, entry)
