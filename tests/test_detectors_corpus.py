"""Web, DNS-tunnel and beacon detectors on the shared corpus; skipped when it is absent."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from detectors.alert import Alert
from detectors.base import Detector
from detectors.beacon import Beacon, BeaconConfig
from detectors.dga import Dga, DgaConfig
from detectors.dnstunnel import DnsTunnel, DnsTunnelConfig
from detectors.webattack import WebAttack, WebAttackConfig
from nssa.evaluate import Sample, events_of
from nssa.settings import Settings

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent")

_CLIENT = re.compile(r"(?:attacker|initiator|client|infected|agent)\s+(?:client\s+)?([\d.]+)")
FAMILY = {"web": "webattack", "dns-tunnel": "dnstunnel", "beacon": "beacon"}

GAPS = {
    "evilfingers_Apache_XSS_using_HTTP_Request_invalid_Content_Length.pcap": "XSS in a header",
    "evilfingers_CVE-2006-4110_Apache_for_Windows_Source_Code_Disclosure.pcap": "case trick",
    "evilfingers_CVE-2007-1868_IBM_GET_Authorization_metasploit.pcap": "header overflow",
    "evilfingers_CVE-2007-1868_IBM_POST_Request.pcap": "POST body overflow",
    "evilfingers_MSExchange_Server_Outlook_Web_Access_XSS.pcap": "XSS inside SMTP mail",
    "evilfingers_sqli_Mafia_moblog_SQL_Injection.pcap": "only a literal [SELECT] placeholder",
    "zeek_testmyids_uid0.pcap": "the sign is in the response body",
    "corelight_dcrat_tls_c2.pcap": "9 beats in an 85 s connection, 12 s apart with pushes between",
    "corelight_sxn_rat_tls_c2.pcap": "a 1 s heartbeat for 40 s: under the 10 s minimum interval",
}
"""Corpus files these detectors do not (yet) attribute, and why."""


def samples(*categories: str) -> list[Sample]:
    """Manifest rows of ``categories`` whose files are present (all categories, not only the
    ones ``nssa evaluate`` scores)."""
    if not CORPUS.is_dir():
        return []
    with (CORPUS / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle, delimiter="\t") if r["category"] in categories]
    found = [
        Sample(path=CORPUS / r["path"], category=r["category"], truth=r["ground_truth"])
        for r in rows
    ]
    return [s for s in found if s.path.is_file()]


def detectors() -> list[Detector]:
    return [
        WebAttack(WebAttackConfig()),
        DnsTunnel(DnsTunnelConfig()),
        Dga(DgaConfig()),
        Beacon(BeaconConfig()),
    ]


def alerts_of(path: Path) -> list[Alert]:
    active: Sequence[Detector] = detectors()
    alerts = [a for e in events_of(path, Settings()) for d in active for a in d.observe(e)]
    return alerts + [a for d in active for a in d.flush(math.inf)]


@pytest.mark.parametrize(
    "sample", samples("web", "dns-tunnel", "beacon"), ids=lambda s: s.path.name
)
def test_attack_captures_name_their_source(sample: Sample) -> None:
    if sample.path.name in GAPS:
        pytest.xfail(GAPS[sample.path.name])
    found = _CLIENT.search(sample.truth)
    assert found is not None, sample.truth
    family = FAMILY[sample.category]
    sources = {a.source_ip for a in alerts_of(sample.path) if a.detector == family}
    assert found.group(1) in sources


@pytest.mark.parametrize("sample", samples("benign"), ids=lambda s: s.path.name)
def test_benign_captures_raise_nothing(sample: Sample) -> None:
    assert [a.rule for a in alerts_of(sample.path)] == []
