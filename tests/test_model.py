from __future__ import annotations

import ipaddress

import pytest
from pydantic import ValidationError

from reconciler.live import _is_address
from reconciler.model import IpRange, OrgConfig, Policy, ip_in_network, normalise_email


@pytest.mark.parametrize(
    ("limit", "live", "allowed"),
    [("10%", 5, 1), ("10%", 0, 0), ("10%", 100, 10), ("25%", 10, 3), (3, 1000, 3), ("0%", 50, 0)],
)
def test_removal_limit_counts_or_rounds_a_percentage_up(
    limit: int | str, live: int, allowed: int
) -> None:
    assert Policy(max_removals=limit).removal_limit(live) == allowed


def test_emails_compare_without_case_but_keep_their_letters() -> None:
    assert normalise_email("  Alice@Acme.Example ") == "alice@acme.example"
    assert normalise_email("Straße@Example.de") == "straße@example.de"


@pytest.mark.parametrize(
    ("ip", "cidr", "inside"),
    [
        ("203.0.113.7", "203.0.113.0/24", True),
        ("::ffff:203.0.113.7", "203.0.113.0/24", True),  # an IPv4 caller seen over IPv6
        ("::ffff:198.51.100.7", "203.0.113.0/24", False),
        ("2001:db8::1", "2001:db8::/32", True),
        ("2001:db8::1", "203.0.113.0/24", False),
        ("not-an-ip", "203.0.113.0/24", False),
        ("203.0.113.7", "not-a-network", False),
    ],
)
def test_ip_in_network(ip: str, cidr: str, inside: bool) -> None:
    assert ip_in_network(ip, cidr) is inside


@pytest.mark.parametrize("limit", [True, False, "150%", "100.5%", "1000%", "-1%", "10 %"])
def test_max_removals_refuses_a_bool_and_more_than_all(limit: object) -> None:
    with pytest.raises(ValidationError):
        Policy.model_validate({"max_removals": limit})


@pytest.mark.parametrize("limit", [0, 1, 250, "0%", "0.5%", "10%", "99.9%", "100%", "100.0%"])
def test_max_removals_takes_a_count_or_a_share(limit: int | str) -> None:
    assert Policy.model_validate({"max_removals": limit}).max_removals == limit


def test_names_must_not_be_blank() -> None:
    with pytest.raises(ValidationError, match="must not be blank"):
        IpRange(name="   ", cidr="203.0.113.0/24")
    with pytest.raises(ValidationError, match="must not be blank"):
        OrgConfig(organization=" \t ")
    assert IpRange(name=" Office ", cidr="203.0.113.0/24").name == "Office"
    assert OrgConfig(organization=" acme-eu ").organization == "acme-eu"


@pytest.mark.parametrize(
    "text",
    [
        "0.0.0.0", "255.255.255.255", "10.0.0.5", "256.0.0.1", "01.2.3.4", "192.168.001.1",
        "1.2.3", "1.2.3.4.5", " 1.2.3.4", "1.2.3.4\n", "1..2.3", "10.0.0.500", "1.2.3.\u0664",
        "\uff11.2.3.4", "", "::1", "fe80::1%eth0", "::ffff:1.2.3.4", "2001:db8::7", "a.b.c.d",
    ],
)  # fmt: skip
def test_a_login_address_is_read_as_ipaddress_reads_it(text: str) -> None:
    # `_is_address` answers IPv4 by a regular expression (ten times as fast on 100,000 logins):
    # it must agree with `ipaddress`, which the range checks use, on every text.
    try:
        ipaddress.ip_address(text)
        expected = True
    except ValueError:
        expected = False
    assert _is_address(text) is expected
