"""Flood and amplification detectors on ../shared/corpus/dos (skipped when it is absent).

Each capture is classified below: the floods must be flagged with the victim that its
manifest row names; protocol and single-packet DoS is the IDS's job, listed with the reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from detectors.alert import Alert
from nssa.evaluate import Sample, events_of, read_manifest
from nssa.pipeline import build_detectors
from nssa.settings import Settings

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent")

VICTIMS = {
    "sv_syn_flood_100_sessions.pcap": ("flood.syn", "198.51.100.5"),
    "ppa_syn_flood_random_spoofed.pcap": ("flood.syn", None),  # random victims: site-wide
    "sv_thc_ipv6_denial6_echo_flood.pcap": ("flood.rate", "2001:db8:1::1"),
    "sv_thc_ipv6_rsmurf6.pcap": ("amplification.smurf", "ff02::1"),
    "sv_dhcp_request_flood_10000.pcap": ("flood.rate", "255.255.255.255"),
}
"""Flood captures: the rule that must fire and the victim it must name."""
GAPS = {
    "evilfingers_CVE-2005-3934_Symantec_PcAnywhere_Denial_of_Service1.pcap": "one-session exploit",
    "evilfingers_CVE-2005-3934_Symantec_PcAnywhere_Denial_of_Service2.pcap": "one-session exploit",
    "evilfingers_Telnet_Multiple_EOTCharacters_Denial_of_Service.pcap": "one-session exploit",
    "evilfingers_UDP_Echo7_Chargen19_DoS.pcap": "one chargen request; the reply is a fragment",
    "sv_dnp3_flood.pcap": "37 unanswered DNP3 requests in one session: an app-layer IDS event",
    "sv_thc_ipv6_kill_router6.pcap": "4 Router Advertisements with lifetime 0: needs RA parsing",
    "sv_thc_ipv6_malformed_fragments_15.pcap": "fragmentation evasion, not a flood",
    "sv_thc_ipv6_toobig6_atomic_fragments.pcap": "one forged Packet Too Big: IDS signature",
}
"""DoS captures that are not floods, and why no flood alert is forced on them."""


def samples(category: str) -> list[Sample]:
    return [s for s in read_manifest(CORPUS) if s.category == category] if CORPUS.is_dir() else []


def alerts_of(path: Path) -> list[Alert]:
    settings = Settings()
    detectors = build_detectors(settings)
    alerts = [a for e in events_of(path, settings) for d in detectors for a in d.observe(e)]
    return alerts + [a for d in detectors for a in d.flush(float("inf"))]


def test_every_dos_capture_is_classified() -> None:
    names = {s.path.name for s in samples("dos")}
    assert names <= VICTIMS.keys() | GAPS.keys()


@pytest.mark.parametrize("sample", samples("dos"), ids=lambda s: s.path.name)
def test_floods_name_their_victim(sample: Sample) -> None:
    if sample.path.name in GAPS:
        pytest.xfail(GAPS[sample.path.name])
    rule, victim = VICTIMS[sample.path.name]
    alerts = alerts_of(sample.path)
    assert victim in {a.destination_ip for a in alerts if a.rule == rule}, [a.rule for a in alerts]
    assert all(a.technique.startswith(("T1498", "T1499")) for a in alerts if a.rule == rule)


@pytest.mark.parametrize("sample", samples("benign"), ids=lambda s: s.path.name)
def test_benign_captures_raise_no_flood_or_amplification_alert(sample: Sample) -> None:
    rules = [a.rule for a in alerts_of(sample.path)]
    assert [r for r in rules if r.split(".")[0] in {"flood", "amplification"}] == []
