"""DNS tunnelling and DGA detectors: literal queries in, alerts out."""

from __future__ import annotations

import math
import random
import string

import pytest

from detectors.dga import Dga, DgaConfig
from detectors.dnstunnel import DnsTunnel, DnsTunnelConfig
from detectors.domains import lexical_score, registered_domain
from sensors.events import DnsQuery, Transport


def query(name: str, t: float, qtype: str = "A", rcode: str = "NOERROR") -> DnsQuery:
    return DnsQuery(
        time=t,
        sensor="s",
        src_ip="10.24.1.50",
        src_port=5353,
        dst_ip="10.10.0.53",
        dst_port=53,
        transport=Transport.UDP,
        query=name,
        qtype=qtype,
        rcode=rcode,
        request_bytes=60,
        response_bytes=120,
    )


def hex_label(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


@pytest.mark.parametrize(
    ("name", "domain"),
    [
        ("a.b.t.cdn-sync.example.net", "example.net"),
        ("x.foo.co.uk", "foo.co.uk"),
        ("abc.github.io", "abc.github.io"),
        ("WWW.Example.COM.", "example.com"),
    ],
)
def test_registered_domain_uses_the_public_suffix_list(name: str, domain: str) -> None:
    assert registered_domain(name) == domain


def test_tunnel_is_flagged_once_per_client_and_domain() -> None:
    rng = random.Random(1)
    names = [f"{hex_label(rng, 40)}.t.cdn-sync.example.net" for _ in range(15)]
    detector = DnsTunnel(DnsTunnelConfig())
    alerts = [a for n, name in enumerate(names) for a in detector.observe(query(name, n, "TXT"))]
    assert [(a.rule, a.source_ip, a.facts["domain"], a.facts["zone"]) for a in alerts] == [
        ("dnstunnel.exfiltration", "10.24.1.50", "example.net", "t.cdn-sync.example.net")
    ]
    assert alerts[0].facts["unusual_type_share"] == 1.0
    assert alerts[0].technique == "T1071.004"


def test_ordinary_lookups_of_one_domain_stay_silent() -> None:
    names = [f"{w}.smx.gov.example" for w in ("www", "zwfw", "ga", "yjj", "jtj", "cgj", "mzj")]
    names += [f"{w}.smx.gov.example" for w in ("rsj", "wjw", "jyj", "czj", "zrzyj", "oa", "mail")]
    detector = DnsTunnel(DnsTunnelConfig())
    alerts = [a for n, name in enumerate(names) for a in detector.observe(query(name, n))]
    assert alerts == []


def test_allowed_suffixes_are_ignored() -> None:
    rng = random.Random(2)
    detector = DnsTunnel(DnsTunnelConfig(allow_domains=("sophosxl.net",)))
    names = [f"{hex_label(rng, 40)}.sophosxl.net" for _ in range(20)]
    assert [a for n, x in enumerate(names) for a in detector.observe(query(x, n))] == []


@pytest.mark.parametrize(
    ("label", "high"),
    [("xjw8q2kd9lmz", True), ("kqzvbnrtplx", True), ("wikipedia", False), ("google", False)],
)
def test_lexical_score(label: str, high: bool) -> None:
    assert (lexical_score(label) >= 0.6) is high


def test_dga_burst_of_random_nxdomains() -> None:
    rng = random.Random(3)
    names = ["".join(rng.choice(string.ascii_lowercase) for _ in range(14)) for _ in range(10)]
    detector = Dga(DgaConfig())
    alerts = [
        a
        for n, name in enumerate(names)
        for a in detector.observe(query(f"{name}.com", n, rcode="NXDOMAIN"))
    ]
    assert [(a.rule, a.source_ip, a.technique) for a in alerts] == [
        ("dga.lexical", "10.24.1.50", "T1568.002")
    ]


def test_typos_are_not_a_dga() -> None:
    typos = ["rsj.smxgov.example", "mial.smx.gov.example", "www.smx.gvo.example"] * 5
    detector = Dga(DgaConfig())
    events = [query(n, i, rcode="NXDOMAIN") for i, n in enumerate(typos)]
    assert [a for e in events for a in detector.observe(e)] + detector.flush(math.inf) == []


def test_wordlist_dga_caught_by_the_nxdomain_burst() -> None:
    words = ["table", "river", "summer", "garden", "window", "silver", "market", "castle"]
    names = [f"{a}{b}.net" for a in words for b in words][:30]
    detector = Dga(DgaConfig())
    alerts = [
        a for n, x in enumerate(names) for a in detector.observe(query(x, n, rcode="NXDOMAIN"))
    ]
    assert [a.rule for a in alerts] == ["dga.nxburst"]


@pytest.mark.parametrize(
    ("cls", "field", "value"),
    [
        (DnsTunnelConfig, "min_names", 1),
        (DnsTunnelConfig, "info_bytes", 0.0),
        (DgaConfig, "min_lexical", 0.0),
        (DgaConfig, "nx_burst", 2),
    ],
)
def test_config_is_range_checked(cls: type, field: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"^{field}: "):
        cls(**{field: value})


def test_a_busy_pair_still_starts_a_new_window() -> None:
    rng = random.Random(4)
    detector = DnsTunnel(DnsTunnelConfig(window_seconds=60.0, min_names=10))
    slow = [f"{hex_label(rng, 40)}.t.example.net" for _ in range(12)]
    alerts = [a for n, name in enumerate(slow) for a in detector.observe(query(name, n * 10.0))]
    assert alerts == []  # never 10 names within one minute


def test_allowed_domains_match_whole_labels_only() -> None:
    config = DnsTunnelConfig(allow_domains=("sophosxl.net", "in-addr.arpa"))
    assert config.allowed("sophosxl.net") and config.allowed("a.b.sophosxl.net")
    assert config.allowed("4.3.2.1.in-addr.arpa")
    assert not config.allowed("evilsophosxl.net") and not config.allowed("net")
    assert not config.allowed("sophosxl.net.example.com")
    assert not DnsTunnelConfig(allow_domains=()).allowed("sophosxl.net")
