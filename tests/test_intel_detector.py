"""The intel detector: literal events in, alerts out; known-good hits suppressed."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import pytest

from detectors.alert import Severity
from detectors.attack import Tactic
from detectors.feedrecords import FeedDefaults
from detectors.feeds import parse_list
from detectors.indicatorset import IndicatorSet
from detectors.intel import Intel, IntelConfig
from detectors.site import Site
from nssa.intel import known_good
from nssa.pipeline import capture_events, is_capture
from nssa.settings import Settings
from sensors.capture import CaptureStats
from sensors.events import DnsQuery, Event, Flow, HttpRequest, TlsHello, Transport
from sensors.flows import FlowTable
from sensors.metadata import MetadataExtractor
from tests.conftest import T0

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"


def feed(text: str, confidence: int = 90, expires: float | None = None) -> IndicatorSet:
    defaults = FeedDefaults(source="feed-a", confidence=confidence, expires=expires)
    return IndicatorSet(parse_list(text, defaults).indicators)


def detector(text: str, **config: object) -> Intel:
    return Intel(IntelConfig(indicators=feed(text), known_good=known_good(), **config))  # type: ignore[arg-type]


def dns(name: str, t: float = T0) -> DnsQuery:
    return DnsQuery(
        time=t,
        sensor="s",
        src_ip="10.24.1.50",
        src_port=5353,
        dst_ip="10.10.0.53",
        dst_port=53,
        transport=Transport.UDP,
        query=name,
        qtype="A",
    )


def test_outbound_flow_to_a_listed_network_is_c2_with_the_local_host_as_victim(
    make_flow: Callable[..., Flow],
) -> None:
    intel = detector("198.51.100.0/24")
    [alert] = intel.observe(make_flow(src_ip="10.25.2.30", dst_ip="198.51.100.77"))
    assert (alert.rule, alert.source_ip, alert.destination_ip) == (
        "intel.ip",
        "10.25.2.30",
        "198.51.100.77",
    )
    assert (alert.tactic, alert.technique, alert.severity) == (
        Tactic.COMMAND_AND_CONTROL,
        "T1071",
        Severity.HIGH,
    )
    assert alert.identifier == "intel.ip:198.51.100.0/24:10.25.2.30"
    assert {k: alert.facts[k] for k in ("intel", "indicator", "confidence", "expires")} == {
        "intel": "feed-a",
        "indicator": "198.51.100.0/24",
        "confidence": 90,
        "expires": "never",
    }


def test_inbound_contact_from_a_listed_address_names_it_the_attacker(
    make_flow: Callable[..., Flow],
) -> None:
    intel = detector("203.0.113.45")
    [alert] = intel.observe(make_flow(src_ip="203.0.113.45", dst_ip="10.10.2.15"))
    assert (alert.source_ip, alert.destination_ip, alert.tactic) == (
        "203.0.113.45",
        "10.10.2.15",
        Tactic.RECONNAISSANCE,
    )


def test_one_alert_per_indicator_and_local_host_per_window(make_flow: Callable[..., Flow]) -> None:
    intel = detector("198.51.100.77", window_seconds=600.0)
    times = [T0, T0 + 60, T0 + 599, T0 + 600, T0 + 700]
    alerts = [a for t in times for a in intel.observe(make_flow(start=t, dst_ip="198.51.100.77"))]
    other = intel.observe(make_flow(start=T0 + 701, src_ip="10.21.9.9", dst_ip="198.51.100.77"))
    assert [a.time for a in alerts] == [T0, T0 + 600]
    assert len(other) == 1
    assert intel.stats.repeats == 3


def test_expired_indicators_do_not_match_after_their_expiry(
    make_flow: Callable[..., Flow],
) -> None:
    intel = Intel(IntelConfig(indicators=feed("198.51.100.77", expires=T0 + 10)))
    assert len(intel.observe(make_flow(start=T0 + 9, dst_ip="198.51.100.77"))) == 1
    assert intel.observe(make_flow(start=T0 + 10, src_ip="10.9.9.9", dst_ip="198.51.100.77")) == []
    assert intel.stats.expired == 1


def test_dns_tls_and_http_names_match_listed_domains_and_urls() -> None:
    intel = detector("c2.example\nhttp://drop.example/payload.bin\n", window_seconds=60.0)
    events: list[Event] = [
        dns("www.C2.example."),
        TlsHello(
            time=T0 + 1,
            sensor="s",
            src_ip="10.25.2.30",
            src_port=50000,
            dst_ip="198.51.100.77",
            dst_port=443,
            server_name="api.c2.example",
        ),
        HttpRequest(
            time=T0 + 2,
            sensor="s",
            src_ip="10.25.2.30",
            dst_ip="198.51.100.78",
            dst_port=80,
            method="GET",
            host="drop.example",
            uri="/payload.bin",
        ),
    ]
    alerts = [a for e in events for a in intel.observe(e)]
    assert [(a.rule, a.source_ip, a.technique, a.facts["observed"]) for a in alerts] == [
        ("intel.domain", "10.24.1.50", "T1071.004", "www.c2.example"),
        ("intel.domain", "10.25.2.30", "T1071.001", "api.c2.example"),
        ("intel.url", "10.25.2.30", "T1071.001", "http://drop.example/payload.bin"),
    ]


def test_known_good_destinations_are_suppressed_and_counted(
    make_flow: Callable[..., Flow],
) -> None:
    intel = detector("8.8.8.0/24\nwindowsupdate.com\nhttp://download.windowsupdate.com/x.cab\n")
    alerts = [
        *intel.observe(make_flow(dst_ip="8.8.8.8", dst_port=53)),
        *intel.observe(dns("ctldl.windowsupdate.com")),
        *intel.observe(
            HttpRequest(
                time=T0,
                sensor="s",
                src_ip="10.21.3.4",
                method="GET",
                host="download.windowsupdate.com",
                uri="/x.cab",
            )
        ),
        *intel.observe(make_flow(dst_ip="8.8.8.9")),  # listed, not known-good
    ]
    assert [a.facts["observed"] for a in alerts] == ["8.8.8.9"]
    assert (intel.stats.hits, intel.stats.suppressed) == (5, 4)


def test_without_a_database_the_detector_is_inert(make_flow: Callable[..., Flow]) -> None:
    intel = Intel(IntelConfig())
    assert intel.observe(make_flow(dst_ip="8.8.8.8")) == []
    assert intel.observe_batch([make_flow(dst_ip="198.51.100.77")]) == []


def test_batch_observation_equals_one_by_one(make_flow: Callable[..., Flow]) -> None:
    flows: list[Event] = [
        make_flow(start=T0 + n, src_ip=f"10.21.3.{n}", dst_ip=f"198.51.100.{n % 7}")
        for n in range(40)
    ]
    one = detector("198.51.100.3\n198.51.100.5")
    batch = detector("198.51.100.3\n198.51.100.5")
    expected = [a for f in flows for a in one.observe(f)]
    assert batch.observe_batch(flows) == expected
    assert len(expected) == 11


def test_site_map_keeps_internal_peers_from_being_treated_as_remote(
    make_flow: Callable[..., Flow],
) -> None:
    site = Site(internal=("10.0.0.0/8",))
    intel = Intel(IntelConfig(indicators=feed("10.21.3.4\n198.51.100.7"), site=site))
    assert intel.observe(make_flow(src_ip="10.21.3.4", dst_ip="10.10.2.15")) == []
    assert len(intel.observe(make_flow(src_ip="10.21.3.4", dst_ip="198.51.100.7"))) == 1


def test_config_ranges_are_checked() -> None:
    with pytest.raises(ValueError, match="min_confidence"):
        IntelConfig(min_confidence=101)
    with pytest.raises(ValueError, match="high_confidence"):
        IntelConfig(high_confidence=40, medium_confidence=50)


NOISY_FEED = """
# a noisy feed: resolvers and CDN/update names that malware also contacts
8.8.8.0/24
8.8.4.4
1.1.1.1
1.0.0.1
2606:4700:4700::/48
9.9.9.9
2620:fe::/48
208.67.222.222
114.114.114.114
223.5.5.5
119.29.29.29
180.76.76.76
windowsupdate.com
update.microsoft.com
apple.com
ubuntu.com
akamaiedge.net
cloudflare.com
alicdn.com
qq.com
baidu.com
360.cn
"""


@pytest.mark.corpus
@pytest.mark.skipif(not (CORPUS / "benign").is_dir(), reason="../shared/corpus is absent")
def test_no_intel_alerts_on_benign_captures_from_a_noisy_feed() -> None:
    intel = detector(NOISY_FEED)
    alerts = []
    for path in sorted((CORPUS / "benign").iterdir()):
        if not is_capture(path):
            continue
        table, metadata = FlowTable("benign", Settings().flows), MetadataExtractor("benign")
        for events in capture_events(path, table, metadata, CaptureStats()):
            alerts.extend(intel.observe_batch(events))
    assert [a.explanation for a in alerts] == []
    assert intel.stats.suppressed == intel.stats.hits >= 1  # the feed did fire, and was held


def test_known_good_list_parses_cleanly_and_ships_as_package_data() -> None:
    text = files("nssa").joinpath("known_good.txt").read_text(encoding="utf-8")
    assert parse_list(text, FeedDefaults(source="known-good")).rejected == {}
    good = known_good()
    resolvers = ["8.8.8.8", "1.1.1.1", "9.9.9.9", "114.114.114.114", "223.5.5.5", "180.76.76.76"]
    assert all(good.match_ip(ip) for ip in [*resolvers, "119.29.29.29", "2400:3200::1"])
    names = ["download.windowsupdate.com", "g.alicdn.com", "www.qq.com", "pop.huorong.cn"]
    assert all(good.match_domain(name) for name in names)
    assert not good.match_domain("windowsupdate.com.evil.example")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "known_good.txt" in pyproject["tool"]["setuptools"]["package-data"]["nssa"]
