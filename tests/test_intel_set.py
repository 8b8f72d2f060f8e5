"""The indicator set: CIDR boundaries, IPv6, subdomains, URLs, expiry and batch lookups."""

from __future__ import annotations

import ipaddress

import numpy as np
import pytest

from detectors.indicators import Indicator, IndicatorKind, Rejection, classify
from detectors.indicatorset import IndicatorSet


def listed(
    value: str, *, source: str = "feed", confidence: int = 50, expires: float | None = None
) -> Indicator:
    found = classify(value)
    assert not isinstance(found, Rejection)
    kind, normal = found
    return Indicator(kind=kind, value=normal, source=source, confidence=confidence, expires=expires)


def ips(found: list[Indicator]) -> list[str]:
    return sorted(i.value for i in found)


@pytest.mark.parametrize(
    ("address", "hit"),
    [
        ("203.0.113.63", False),  # one below the network
        ("203.0.113.64", True),  # network address
        ("203.0.113.127", True),  # broadcast address
        ("203.0.113.128", False),  # one above
        ("0.0.0.0", False),
        ("255.255.255.255", False),
    ],
)
def test_cidr_boundaries(address: str, hit: bool) -> None:
    indicators = IndicatorSet([listed("203.0.113.64/26")])
    assert bool(indicators.match_ip(address)) is hit


def test_nested_networks_and_addresses_all_match_and_adjacent_ones_merge() -> None:
    indicators = IndicatorSet(
        [
            listed("10.0.0.0/25", source="a"),
            listed("10.0.0.128/25", source="b"),  # adjacent: merged into one interval
            listed("10.0.0.5", source="c"),
            listed("10.0.0.0/16", source="d"),  # holds all of the above
        ]
    )
    assert indicators.intervals == 1
    assert ips(indicators.match_ip("10.0.0.5")) == ["10.0.0.0/16", "10.0.0.0/25", "10.0.0.5/32"]
    assert ips(indicators.match_ip("10.0.0.200")) == ["10.0.0.0/16", "10.0.0.128/25"]
    assert ips(indicators.match_ip("10.0.255.255")) == ["10.0.0.0/16"]
    assert indicators.match_ip("10.1.0.0") == []


def test_ipv6_addresses_and_networks() -> None:
    indicators = IndicatorSet([listed("2001:db8:abcd::/48"), listed("2001:db8::1")])
    assert ips(indicators.match_ip("2001:db8:abcd:ffff:ffff:ffff:ffff:ffff")) == [
        "2001:db8:abcd::/48"
    ]
    assert ips(indicators.match_ip("2001:DB8::1")) == ["2001:db8::1/128"]
    assert indicators.match_ip("2001:db8:abce::") == []
    assert indicators.match_ip("2001:db8::2") == []
    assert indicators.match_ip("not an address") == []


def test_domain_matches_its_subdomains_but_not_lookalikes() -> None:
    indicators = IndicatorSet([listed("c2.example"), listed("deep.sub.other.example")])
    assert [i.value for i in indicators.match_domain("A.B.C2.Example.")] == ["c2.example"]
    assert [i.value for i in indicators.match_domain("c2.example")] == ["c2.example"]
    assert indicators.match_domain("notc2.example") == []
    assert (
        indicators.match_domain("other.example") == []
    )  # the parent of a listed name is not listed
    assert indicators.match_domain("example") == []


def test_url_matches_its_normal_form_only() -> None:
    indicators = IndicatorSet([listed("http://c2.example/gate.php?id=1")])
    assert len(indicators.match_url("HTTP://C2.EXAMPLE:80/gate.php?id=1#x")) == 1
    assert indicators.match_url("http://c2.example/gate.php?id=2") == []
    assert indicators.match_url("https://c2.example/gate.php?id=1") == []


def test_expiry_is_compared_with_the_time_given() -> None:
    indicators = IndicatorSet(
        [
            listed("198.51.100.7", source="old", expires=1000.0),
            listed("198.51.100.0/24", source="new"),
        ]
    )
    assert [i.source for i in indicators.match_ip("198.51.100.7", 999.0)] == ["old", "new"]
    assert [i.source for i in indicators.match_ip("198.51.100.7", 1000.0)] == ["new"]
    assert [i.source for i in indicators.match_ip("198.51.100.7")] == ["old", "new"]  # any time


def test_the_same_value_from_several_sources_is_kept_per_source() -> None:
    indicators = IndicatorSet(
        [listed("bad.example", source="a"), listed("bad.example", source="b")]
    )
    assert sorted(i.source for i in indicators.match_domain("x.bad.example")) == ["a", "b"]
    assert indicators.counts() == {
        IndicatorKind.IP: 0,
        IndicatorKind.DOMAIN: 2,
        IndicatorKind.URL: 0,
    }


def test_batch_lookup_agrees_with_a_naive_scan() -> None:
    rng = np.random.default_rng(7)
    nets = [
        f"{ipaddress.IPv4Address(int(a) << 8)}/{int(p)}"
        for a, p in zip(rng.integers(0, 2**24, 150), rng.integers(16, 33, 150), strict=True)
    ]
    networks = [ipaddress.ip_network(n, strict=False) for n in nets]
    indicators = IndicatorSet([listed(n) for n in nets])
    probes = [str(ipaddress.IPv4Address(int(a))) for a in rng.integers(0, 2**32, 600)]
    probes += [str(net[0]) for net in networks[:50]] + [str(net[-1]) for net in networks[:50]]
    probes += ["2001:db8::1", "garbage"]
    naive = [
        any(ipaddress.ip_address(p) in net for net in networks)
        if ":" in p or p[0].isdigit()
        else False
        for p in probes
    ]
    assert indicators.contains_ips(probes).tolist() == naive
    assert [bool(indicators.match_ip(p)) for p in probes] == naive
    assert sum(naive) >= 100  # the boundaries, at least


def test_empty_set_matches_nothing() -> None:
    indicators = IndicatorSet()
    assert len(indicators) == 0
    assert indicators.match_ip("1.2.3.4") == []
    assert indicators.contains_ips(["1.2.3.4", "::1"]).tolist() == [False, False]
