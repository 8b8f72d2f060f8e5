"""Brute-force, flood and amplification detectors on ../shared/corpus (skipped when absent).

Expected attackers and victims are the ground truth of ``MANIFEST.tsv`` (captures) and of
fail2ban's ``failJSON`` / CrowdSec's scenario asserts (logs); benign captures must stay silent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from detectors.alert import Alert
from detectors.amplification import Amplification
from detectors.base import Detector
from detectors.bruteforce import BruteForce
from detectors.flood import Flood
from nssa.pipeline import capture_events, detect, finish, is_capture, log_batches
from nssa.settings import Settings
from sensors.capture import CaptureStats
from sensors.events import Event
from sensors.flows import FlowTable
from sensors.logs.reader import LogStats
from sensors.metadata import MetadataExtractor

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
FAMILIES = ("bruteforce", "flood", "amplification")

corpus = pytest.mark.skipif(not CORPUS.exists(), reason="../shared/corpus is absent")


def alerts_of(path: Path) -> list[Alert]:
    """Replay one capture or log through the three detectors."""
    detectors: list[Detector] = [BruteForce(BruteForce.Config()), Flood(Flood.Config())]
    detectors.append(Amplification(Amplification.Config()))
    batches: list[list[Event]]
    if is_capture(path):
        table, metadata = FlowTable("corpus", Settings().flows), MetadataExtractor("corpus")
        batches = list(capture_events(path, table, metadata, CaptureStats()))
    else:
        batches = list(log_batches(path, "corpus", LogStats()))
    alerts = [a for events in batches for a in detect(detectors, events)]
    return alerts + finish(detectors)


@corpus
@pytest.mark.corpus
@pytest.mark.parametrize(
    ("name", "attacker"),
    [
        ("bruteforce/zeek_ssh_password_guessing.pcap", "192.168.56.1"),
        ("bruteforce/zeek_ftp_bruteforce.pcap", "192.168.56.1"),
        ("bruteforce/ppa_ftp_password_crack.pcap", "10.234.125.254"),
        ("bruteforce/honeynet_fc2010_4_voip_sip_scan_webadmin.pcap", "172.25.105.43"),
        ("logs/fail2ban/sshd-journal.log", "127.0.0.1"),
        ("logs/fail2ban/testcase04.log", "212.41.96.185"),
        ("logs/fail2ban/apache-auth.log", "127.0.0.1"),
        ("logs/fail2ban/traefik-auth.log", "10.0.0.2"),
        ("logs/crowdsec/web/http-bf-wordpress-bf.log", "81.150.104.130"),
        ("logs/crowdsec/web/nginx-http-generic-bf.log", "127.0.0.1"),
    ],
)
def test_brute_force_names_the_attacker(name: str, attacker: str) -> None:
    alerts = alerts_of(CORPUS / name)
    assert attacker in {a.source_ip for a in alerts if a.detector == "bruteforce"}


@corpus
@pytest.mark.corpus
@pytest.mark.parametrize(
    ("name", "victim"),
    [
        ("dos/sv_syn_flood_100_sessions.pcap", "198.51.100.5"),
        ("dos/sv_thc_ipv6_rsmurf6.pcap", "ff02::1"),
        ("dos/ppa_syn_flood_random_spoofed.pcap", None),  # random victims: site-wide alarm
    ],
)
def test_flood_names_the_victim(name: str, victim: str | None) -> None:
    alerts = alerts_of(CORPUS / name)
    assert victim in {a.destination_ip for a in alerts if a.detector == "flood"}


@corpus
@pytest.mark.corpus
def test_benign_captures_raise_no_brute_force_flood_or_amplification_alert() -> None:
    noisy = {
        path.name: [a.rule for a in alerts_of(path)]
        for path in sorted((CORPUS / "benign").iterdir())
        if is_capture(path)
    }
    assert {name: rules for name, rules in noisy.items() if rules} == {}


def test_scenario_brute_force_ends_in_a_likely_compromise() -> None:
    alerts = alerts_of(ROOT / "pcaps" / "ssh_bruteforce.pcap")
    assert [(a.rule, a.source_ip, a.destination_ip) for a in alerts] == [
        ("bruteforce.flows", "198.51.100.23", "10.10.1.22"),
        ("bruteforce.compromise", "198.51.100.23", "10.10.1.22"),
    ]
