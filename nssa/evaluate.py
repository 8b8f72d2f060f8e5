"""Evaluation harness: replay a labelled corpus through the detectors and score them.

The corpus is laid out like ``../shared/corpus``: ``MANIFEST.tsv`` lists each file with its
category and a ground-truth sentence naming the attacker. Per category we count the files
with an alert of the right family, the files where that alert names the documented entity
(for DoS: the attacker or the victim; for beacons and malware: the infected host and its C2
server; for DNS tunnels: the client and the tunnel domain; for CrowdSec web logs: one of the
sources their hub test asserts), the attacker's probes and seconds before the first such
alert, and the alerts per benign file. An alert's family is its ``rule`` up to the first dot.
"""

from __future__ import annotations

import csv
import re
import statistics
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from detectors.alert import Alert
from detectors.base import Detector
from nssa.groundtruth import HubTest, is_address, read_hub_test
from nssa.pipeline import capture_events, is_capture, log_batches
from nssa.settings import Settings
from sensors.capture import CaptureFormatError, CaptureStats
from sensors.events import Event
from sensors.flows import FlowTable
from sensors.logs.reader import LogFormatError, LogStats
from sensors.metadata import MetadataExtractor

FAMILIES: dict[str, frozenset[str]] = {
    "scan": frozenset({"portscan", "scan"}),
    "bruteforce": frozenset({"bruteforce"}),
    "dos": frozenset({"flood", "amplification"}),
    "web": frozenset({"webattack"}),
    "logs-web": frozenset({"webattack", "bruteforce", "flood"}),
    "dns-tunnel": frozenset({"dnstunnel"}),
    "beacon": frozenset({"beacon"}),
    "malware": frozenset({"beacon", "dnstunnel", "dga", "intel", "ids"}),
    "benign": frozenset(),
}
"""The alert families that count as detecting each category (benign: none may fire).

A CrowdSec web log counts only the family of its hub test's scenario (brute force, flood or
web attack); its tests without a scenario (parser tests) or without an address are skipped.
"""
WATCHED = frozenset().union(*FAMILIES.values())
"""Families that are false alerts on a benign file."""
HOSTS = frozenset({"beacon", "malware"})
"""Categories whose truth names an infected host and its C2 server, both to be named."""
_IP = r"(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7})"
_ATTACKER = re.compile(rf"(?:attacker|initiator|from)\s+({_IP})")
_INFECTED = re.compile(rf"(?:infected(?: host)?|agent|tunnel client)\s+({_IP})")
_C2 = re.compile(rf"(?:C2|server|<?->)\s+({_IP})")
_DOMAIN = re.compile(r"\*\.((?:[a-z0-9-]+\.)+[a-z]{2,})", re.IGNORECASE)

DetectorFactory = Callable[[], Sequence[Detector]]


@dataclass(frozen=True, kw_only=True)
class Sample:
    """One corpus file and what its manifest row documents."""

    path: Path
    category: str
    truth: str
    hub: HubTest | None = None
    """The CrowdSec hub test of a web log, when there is one."""

    @property
    def addresses(self) -> tuple[str, ...]:
        """Every address the ground truth names, in order (times like 20:39:40 are not)."""
        found = re.findall(rf"(?<![\w:.]){_IP}(?![\w:])", self.truth)
        return tuple(a for a in found if is_address(a))

    @property
    def attacker(self) -> str | None:
        """The documented attacker: named as such, else the first address given."""
        named = _ATTACKER.search(self.truth)
        if named and is_address(named.group(1)):
            return named.group(1)
        return next(iter(self.addresses), None)

    @property
    def sources(self) -> frozenset[str]:
        """Addresses whose alerts name the right entity: attacker(s), infected host, client."""
        if self.hub is not None and self.hub.sources:
            return frozenset(self.hub.sources)
        if self.category in HOSTS or self.category == "dns-tunnel":
            found = _INFECTED.search(self.truth)
            if found and is_address(found.group(1)):
                return frozenset({found.group(1)})
        return frozenset() if self.attacker is None else frozenset({self.attacker})

    @property
    def peer(self) -> str | None:
        """The C2 server of a beacon or malware sample: named as such or after an arrow, else
        the next address."""
        for named in _C2.finditer(self.truth):
            if is_address(named.group(1)) and named.group(1) not in self.sources:
                return named.group(1)
        return next((a for a in self.addresses if a not in self.sources), None)

    @property
    def domain(self) -> str | None:
        """The tunnel domain of a DNS-tunnel sample (``*.zone`` in the truth), lowercase."""
        found = _DOMAIN.search(self.truth)
        return found.group(1).lower() if found else None

    @property
    def families(self) -> frozenset[str]:
        """The alert families that detect this sample."""
        if self.hub is not None and self.hub.family is not None:
            return frozenset({self.hub.family})
        return FAMILIES[self.category]


@dataclass(kw_only=True)
class FileResult:
    """How one run of the detectors did on one file."""

    path: str
    category: str
    attacker: str | None
    detected: bool = False
    named: bool = False
    probes: int | None = None  # attacker's flows and records up to the first right alert
    hosts: int | None = None  # distinct hosts the attacker had tried by then
    seconds: float | None = None  # from the attacker's first record to that alert
    alerts: int = 0  # alerts of any watched family
    rules: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # every address that names the entity


@dataclass(frozen=True, kw_only=True)
class CategoryRow:
    """One category's figures for one detector set."""

    category: str
    files: int
    detected: int
    named: int
    median_probes: float | None
    median_hosts: float | None
    median_seconds: float | None
    alerts_per_file: float
    files_alerted: int = 0  # files with any watched alert
    alerts_by_family: tuple[tuple[str, int], ...] = ()  # watched alerts per family, most first


def read_manifest(corpus: Path) -> list[Sample]:
    """The manifest rows of the evaluated categories whose files are present."""
    with (corpus / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    samples = [
        Sample(
            path=corpus / r["path"],
            category=r["category"],
            truth=r["ground_truth"],
            hub=read_hub_test(corpus, Path(r["path"])) if r["category"] == "logs-web" else None,
        )
        for r in rows
        if r["category"] in FAMILIES
    ]
    return [s for s in samples if s.path.is_file() and _labelled(s)]


def _labelled(sample: Sample) -> bool:
    """Web logs count only with a hub test that expects an overflow from an address."""
    if sample.category != "logs-web":
        return True
    return sample.hub is not None and sample.hub.family is not None and bool(sample.hub.sources)


def family(alert: Alert) -> str:
    """An alert's family: its rule up to the first dot."""
    return family_of(alert.rule)


def family_of(rule: str) -> str:
    """A rule name's family: the part before the first dot."""
    return rule.split(".", 1)[0]


def events_of(path: Path, settings: Settings) -> Iterator[Event]:
    """Every event of a capture or log file, in pipeline order (unreadable files: none)."""
    try:
        if is_capture(path):
            table, meta = FlowTable("evaluate", settings.flows), MetadataExtractor("evaluate")
            for batch in capture_events(path, table, meta, CaptureStats()):
                yield from batch
        else:
            for batch in log_batches(path, "evaluate", LogStats()):
                yield from batch
    except (CaptureFormatError, LogFormatError, OSError):
        return


class _Scorer:
    """Follows one file's events and alerts, recording the first alert of the right family."""

    def __init__(self, sample: Sample) -> None:
        self.sample = sample
        self.sources = sample.sources
        self.result = FileResult(
            path=str(sample.path),
            category=sample.category,
            attacker=min(self.sources) if len(self.sources) > 1 else sample.attacker,
            sources=sorted(self.sources),
        )
        self.expected = sample.families
        self.named_ips = set(sample.addresses) if sample.category == "dos" else set(self.sources)
        self.probes = 0
        self.hosts: set[str] = set()
        self.first: float | None = None

    def see(self, event: Event) -> None:
        """Count the event when it comes from the attacker."""
        if getattr(event, "src_ip", None) not in self.sources:
            return
        self.probes += 1
        self.hosts.add(str(getattr(event, "dst_ip", "")))
        start = getattr(event, "start", getattr(event, "time", None))
        if isinstance(start, float) and (self.first is None or start < self.first):
            self.first = start

    def score(self, alerts: Sequence[Alert]) -> None:
        """Record the watched alerts; the first of the right family fixes the delay."""
        r = self.result
        for alert in (a for a in alerts if family(a) in WATCHED):
            r.alerts += 1
            r.rules.append(alert.rule)
            if family(alert) not in self.expected:
                continue
            r.named = r.named or self._names(alert)
            if not r.detected:
                r.detected, r.probes, r.hosts = True, self.probes, len(self.hosts)
                r.seconds = None if self.first is None else max(0.0, alert.time - self.first)

    def _names(self, alert: Alert) -> bool:
        """Whether the alert names the documented entity of this category."""
        ips = {alert.source_ip, alert.destination_ip, *alert.destinations}
        category = self.result.category
        if category == "dos":
            return bool(ips & self.named_ips)
        if category in HOSTS:
            peer = self.sample.peer
            return alert.source_ip in self.sources and (peer is None or peer in ips)
        if category == "dns-tunnel":
            return alert.source_ip in self.sources and _same_zone(alert, self.sample.domain)
        return alert.source_ip in self.sources


def _same_zone(alert: Alert, domain: str | None) -> bool:
    """The alert's domain is the truth's tunnel domain or a parent or child of it (never a
    bare top-level domain)."""
    named = str(alert.facts.get("domain", "")).lower().strip(".")
    if domain is None or "." not in named:
        return False
    return domain == named or domain.endswith("." + named) or named.endswith("." + domain)


def evaluate_file(sample: Sample, settings: Settings, detectors: DetectorFactory) -> FileResult:
    """Replay one file through a fresh detector set and score it."""
    scorer, active = _Scorer(sample), detectors()
    for event in events_of(sample.path, settings):
        scorer.see(event)
        scorer.score([a for d in active for a in d.observe(event)])
    scorer.score([a for d in active for a in d.flush(float("inf"))])
    return scorer.result


def summarise(results: Sequence[FileResult]) -> list[CategoryRow]:
    """Per-category figures, in the order of ``FAMILIES``."""
    rows = []
    for category in FAMILIES:
        mine = [r for r in results if r.category == category]
        if mine:
            rows.append(_row(category, mine))
    return rows


def _row(category: str, results: Sequence[FileResult]) -> CategoryRow:
    detected = [r for r in results if r.detected]
    by_family = Counter(family_of(rule) for r in results for rule in r.rules)
    return CategoryRow(
        category=category,
        files=len(results),
        detected=len(detected),
        named=sum(r.named for r in results),
        median_probes=_median([r.probes for r in detected]),
        median_hosts=_median([r.hosts for r in detected]),
        median_seconds=_median([r.seconds for r in detected]),
        alerts_per_file=round(sum(r.alerts for r in results) / len(results), 3),
        files_alerted=sum(r.alerts > 0 for r in results),
        alerts_by_family=tuple(by_family.most_common()),
    )


def _median(values: Sequence[float | int | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


@dataclass(frozen=True, kw_only=True)
class Evaluation:
    """Our detectors and the Zeek-default baseline over the same corpus."""

    ours: list[FileResult]
    baseline: list[FileResult]

    def rows(self) -> list[tuple[CategoryRow, CategoryRow]]:
        """Per category: our figures beside the baseline's."""
        return list(zip(summarise(self.ours), summarise(self.baseline), strict=True))


def evaluate(
    corpus: Path, settings: Settings, ours: DetectorFactory, baseline: DetectorFactory
) -> Evaluation:
    """Replay every evaluated file of ``corpus`` through both detector sets."""
    samples = read_manifest(corpus)
    return Evaluation(
        ours=[evaluate_file(s, settings, ours) for s in samples],
        baseline=[evaluate_file(s, settings, baseline) for s in samples],
    )


COLUMNS = ("files", "detected", "named", "probes", "hosts", "seconds", "alerts/file")


def render(evaluation: Evaluation) -> str:
    """A plain-text table, ours / baseline in each cell."""
    lines = ["category    " + "".join(f"{c:>18}" for c in COLUMNS)]
    for mine, base in evaluation.rows():
        cells = [_cell(a, b) for a, b in zip(_values(mine), _values(base), strict=True)]
        lines.append(f"{mine.category:<12}" + "".join(f"{c:>18}" for c in cells))
    for mine, base in evaluation.rows():
        if mine.category == "benign":
            lines.append(f"benign alerts by family: {_families(mine)} / {_families(base)}")
    lines.append(
        "cells: ours / Zeek defaults (plus Zeek's SQL-injection policy and a long-DNS-name"
    )
    lines.append("rule of thumb; no beacon baseline); probes, hosts and seconds are medians to the")
    lines.append("first alert of the right family; alerts/file counts the scan, brute-force,")
    lines.append("flood, web, DNS-tunnel, beacon and malware families (on benign files every")
    lines.append("one is false)")
    return "\n".join(lines)


def _families(row: CategoryRow) -> str:
    return ", ".join(f"{name} {n}" for name, n in row.alerts_by_family) or "none"


def _values(row: CategoryRow) -> tuple[object, ...]:
    return (
        row.files,
        row.detected,
        row.named,
        row.median_probes,
        row.median_hosts,
        row.median_seconds,
        row.alerts_per_file,
    )


def _cell(ours: object, base: object) -> str:
    return f"{_show(ours)} / {_show(base)}"


def _show(value: object) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
