"""The harness's web, CrowdSec-log, DNS-tunnel, beacon and malware categories."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

from detectors.alert import Alert
from detectors.base import Detector
from nssa.baselines import LongDnsNames, ZeekSqlInjection
from nssa.cli import main
from nssa.evaluate import Sample, evaluate_file, read_manifest, summarise
from nssa.groundtruth import read_hub_test
from nssa.pipeline import build_detectors
from nssa.settings import Settings
from nssa.webroc import ALL, labelled_requests, web_roc
from sensors.events import DnsQuery, Event, HttpRequest, Transport
from tests.conftest import build_alert

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
BEACON = "AsyncRAT TLS C2: infected 192.168.100.124 -> 181.131.218.39:4041; 2024-02-27"
SANDCAT = "download from C2 172.18.0.2:8888 then HTTP POST /beacon from agent 172.18.0.3"
TUNNEL = "dnscat2 (queries to *.biillpi.com): tunnel client 192.168.1.17 -> DNS 192.168.1.210:53"
ASSERT = """len(results) == 1
"198.51.100.9" in results[0].Overflow.GetSources()
results[0].Overflow.Alert.Events[0].GetMeta("http_path") == "/q?a=%20union%20select%20"
results[0].Overflow.Alert.Events[0].GetMeta("source_ip") == "198.51.100.9"
results[0].Overflow.Alert.Events[1].GetMeta("http_path") == "/q?a=\\\\x5Cthink"
results[0].Overflow.Alert.Events[1].GetMeta("source_ip") == "198.51.100.9"
results[0].Overflow.Alert.GetScenario() == "example/http-sqli-probing"
"""
"""A hand-written hub-test assert in the CrowdSec format (two events, one source)."""
LOG = (
    '198.51.100.9 - - [30/Sep/2021:11:11:54 +0200] "GET /q?a=%20union%20select%20 HTTP/1.1" '
    '404 162 "-" "curl/7.68.0"\n'
    '198.51.100.9 - - [30/Sep/2021:11:11:55 +0200] "GET /q?a=\\x5Cthink HTTP/1.1" '
    '404 162 "-" "curl/7.68.0"\n'
    '203.0.113.20 - - [30/Sep/2021:11:11:56 +0200] "GET /news?id=12 HTTP/1.1" '
    '200 162 "-" "Mozilla/5.0"\n'
)


class Fixed:
    """A detector that raises the given alerts at the end of the input."""

    name: ClassVar[str] = "fixed"
    Config: ClassVar[type[object]] = object

    def __init__(self, alerts: Sequence[Alert]) -> None:
        self.alerts = list(alerts)

    def observe(self, event: Event) -> list[Alert]:
        return []

    def flush(self, now: float) -> list[Alert]:
        out, self.alerts = self.alerts, []
        return out


def scored(sample: Sample, *alerts: Alert) -> tuple[bool, bool]:
    detectors: list[Detector] = [Fixed(alerts)]
    result = evaluate_file(sample, Settings(), lambda: detectors)
    return result.detected, result.named


def beacon(source: str, *destinations: str, **more: Any) -> Alert:
    return build_alert(
        rule="beacon.c2", source_ip=source, destination_ip=None, destinations=destinations, **more
    )


def test_beacon_truth_names_the_infected_host_and_its_c2() -> None:
    sample = Sample(path=Path("absent.pcap"), category="beacon", truth=BEACON)
    assert (sample.sources, sample.peer) == (frozenset({"192.168.100.124"}), "181.131.218.39")
    other = Sample(path=Path("absent.pcap"), category="beacon", truth=SANDCAT)
    assert (other.sources, other.peer) == (frozenset({"172.18.0.3"}), "172.18.0.2")


def test_a_beacon_alert_names_the_sample_only_with_both_ends() -> None:
    sample = Sample(path=Path("absent.pcap"), category="malware", truth=BEACON)
    assert scored(sample, beacon("192.168.100.124", "181.131.218.39")) == (True, True)
    assert scored(sample, beacon("192.168.100.124", "198.51.100.1")) == (True, False)
    assert scored(sample, build_alert(rule="scan.sweep", source_ip="192.168.100.124")) == (
        False,
        False,
    )


@pytest.mark.parametrize(
    ("domain", "named"),
    [
        ("biillpi.com", True),
        ("t1.biillpi.com", True),
        ("example.com", False),
        ("com", False),
        ("", False),
    ],
)
def test_a_tunnel_alert_names_the_client_and_the_domain(domain: str, named: bool) -> None:
    sample = Sample(path=Path("absent.pcap"), category="dns-tunnel", truth=TUNNEL)
    alert = build_alert(rule="dnstunnel.exfiltration", source_ip="192.168.1.17")
    alert = build_alert(**{**alert.__dict__, "facts": {"domain": domain}})
    assert sample.domain == "biillpi.com"
    assert scored(sample, alert) == (True, named)


def hub_corpus(tmp_path: Path) -> Path:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "probe.log").write_text(LOG, encoding="utf-8")
    hub = tmp_path / "groundtruth" / "crowdsec-hub" / "probe"
    hub.mkdir(parents=True)
    (hub / "scenario.assert").write_text(ASSERT, encoding="utf-8")
    (tmp_path / "MANIFEST.tsv").write_text(
        "path\tcategory\tground_truth\n"
        "logs/probe.log\tlogs-web\texpected CrowdSec scenario(s): example/http-sqli-probing\n"
        "logs/parser.log\tlogs-web\tparser test: absent and unlabelled\n",
        encoding="utf-8",
    )
    return tmp_path


def test_hub_test_expectations_are_read_from_the_assert(tmp_path: Path) -> None:
    test = read_hub_test(hub_corpus(tmp_path), Path("logs/probe.log"))
    assert test is not None
    assert (test.family, test.attack_class, test.sources) == (
        "webattack",
        "sqli",
        ("198.51.100.9",),
    )
    assert test.requests == {
        ("198.51.100.9", "/q?a=%20union%20select%20"),
        ("198.51.100.9", "/q?a=\\x5Cthink"),
    }


def test_web_log_alert_names_a_source_of_the_hub_test(tmp_path: Path) -> None:
    [sample] = read_manifest(hub_corpus(tmp_path))
    hit = build_alert(rule="webattack.sqli", source_ip="198.51.100.9")
    assert scored(sample, hit) == (True, True)
    assert scored(sample, build_alert(rule="webattack.sqli")) == (True, False)
    assert scored(sample, build_alert(rule="bruteforce.auth", source_ip="198.51.100.9")) == (
        False,
        False,
    )


def test_labelled_requests_and_their_roc(tmp_path: Path) -> None:
    requests = labelled_requests(hub_corpus(tmp_path), Settings(), scenarios=None)
    assert sorted((r.attack, r.uri) for r in requests) == [
        ("sqli", "/q?a=%20union%20select%20"),
        ("sqli", "/q?a=\\x5Cthink"),
    ]
    rows = web_roc(requests, paranoia_levels=(1,))
    assert [(r.attack, r.at_threshold.tpr) for r in rows] == [("sqli", 0.5), (ALL, 0.5)]


def test_cli_adds_web_roc_rows(tmp_path: Path) -> None:
    out = CliRunner().invoke(main, ["evaluate", str(hub_corpus(tmp_path)), "--json", "--web-roc"])
    rows = [json.loads(line) for line in out.output.splitlines()]
    assert out.exit_code == 0, out.output
    assert rows[0]["category"] == "logs-web" and rows[0]["ours"]["named"] == 1
    assert [r["web_roc"]["attack"] for r in rows if "web_roc" in r] == ["sqli", ALL] * 2


def http(uri: str, t: float, src: str = "198.51.100.9") -> HttpRequest:
    return HttpRequest(time=t, sensor="s", src_ip=src, method="GET", uri=uri)


def test_zeek_sqli_baseline_fires_at_fifty_in_five_minutes() -> None:
    detector = ZeekSqlInjection()
    slow = [a for t in range(50) for a in detector.observe(http("/a?id=1+union+select+2", t * 7))]
    fast = [a for t in range(50) for a in detector.observe(http("/a?id=1'+or+1=1", t, "a"))]
    benign = [a for t in range(60) for a in detector.observe(http("/a?id=12", t, "b"))]
    assert (len(slow), [a.source_ip for a in fast], benign) == (0, ["a"], [])


def test_long_dns_names_baseline_names_the_domain() -> None:
    detector = LongDnsNames()
    label = "a" * 60
    alerts = [
        a
        for t in range(10)
        for a in detector.observe(
            DnsQuery(
                time=float(t),
                sensor="s",
                src_ip="10.0.0.5",
                src_port=5353,
                dst_ip="10.0.0.53",
                dst_port=53,
                transport=Transport.UDP,
                query=f"{label}{t}.tun.example.org",
                qtype="TXT",
            )
        )
    ]
    assert [(a.source_ip, a.facts["domain"]) for a in alerts] == [("10.0.0.5", "example.org")]


corpus_only = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent")


@corpus_only
def test_crowdsec_sqli_traversal_and_file_probes_all_score_as_attacks() -> None:
    requests = [r for r in labelled_requests(CORPUS, Settings(), scenarios=None) if r.attack]
    rows = {r.attack: r for r in web_roc(requests, paranoia_levels=(1,))}
    assert {a: rows[a].at_threshold.tpr for a in ("sqli", "traversal", "sensitive-files")} == {
        "sqli": 1.0,
        "traversal": 1.0,
        "sensitive-files": 1.0,
    }
    assert rows["xss"].at_threshold.tpr >= 0.5


@corpus_only
def test_benign_requests_stay_under_one_alert_per_thousand() -> None:
    requests = [r for r in labelled_requests(CORPUS, Settings()) if r.attack is None]
    [pooled] = [r for r in web_roc(requests, paranoia_levels=(1,)) if r.attack == ALL]
    assert pooled.at_threshold.negatives >= 200 and pooled.at_threshold.fpr <= 0.001


@corpus_only
def test_web_captures_and_logs_name_their_attacker() -> None:
    settings = Settings()
    samples = [s for s in read_manifest(CORPUS) if s.category in {"web", "logs-web"}]
    results = [evaluate_file(s, settings, lambda: build_detectors(settings)) for s in samples]
    rows = {r.category: r for r in summarise(results)}
    assert rows["web"].named >= 12 and rows["logs-web"].named >= 23
    assert math.isfinite(rows["web"].alerts_per_file)
