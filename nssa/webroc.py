"""Web-attack scoring on labelled requests: TPR at 1 % and 0.1 % FPR per attack class.

Attack requests are the events the CrowdSec hub tests of the corpus assert inside an expected
web-attack overflow (labelled with the test's attack class; brute-force and flood tests are
left out); benign requests are the HTTP requests of the
corpus's benign captures and of the scenario captures (``pcaps/``) minus their attacker's.
Every request gets the web-attack detector's inbound anomaly score at each paranoia level;
the operating points come from ``nssa.roc``. The HTTP requests of the other attack categories
(scans, brute force, floods, beacons, malware) carry no web attack: their false-alarm rate is
reported apart (row ``other-http``), as they are not known to be benign.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from detectors.webattack import WebAttackConfig
from detectors.webrules import anomaly_score, match_request
from nssa.evaluate import events_of, read_manifest
from nssa.groundtruth import HubTest
from nssa.roc import OperatingPoint, operating_point, rates
from nssa.settings import Settings
from sensors.events import HttpRequest

SCENARIOS = Path(__file__).resolve().parents[1] / "pcaps"
"""The repository's scenario captures; their README table names each one's attacker."""
BUDGETS = (0.01, 0.001)
"""False-positive budgets reported (1 % and 0.1 %)."""
ALL = "all"
"""The pseudo attack class that pools every attack request of a generic class."""
OTHER = "other-http"
"""The row of HTTP requests from non-web attack categories (false alarms only)."""
NOT_WEB = frozenset({"scan", "bruteforce", "dos", "beacon", "malware"})
"""Categories whose HTTP requests are no web attack but not known benign either."""
PRODUCT_SPECIFIC = frozenset({"cve-probe"})
"""Classes reported but left out of ``all``: one product's URLs, beyond generic rules."""
_README_ROW = re.compile(r"^\|\s*`([\w.-]+\.pcap)`\s*\|\s*([0-9a-fA-F.:]+)", re.MULTILINE)


@dataclass(frozen=True, kw_only=True)
class LabelledRequest:
    """One HTTP request with its label: an attack class, or None when no web attack."""

    origin: str
    attack: str | None
    uri: str
    agent: str
    form: str = ""
    other: bool = False
    """No web attack, from a non-web attack category: not counted as benign."""


@dataclass(frozen=True, kw_only=True)
class ClassRoc:
    """One attack class at one paranoia level: rates at the configured and at fixed FPRs."""

    attack: str
    paranoia: int
    at_threshold: OperatingPoint
    at_budgets: tuple[OperatingPoint, ...]


def labelled_requests(
    corpus: Path, settings: Settings, scenarios: Path | None = SCENARIOS
) -> list[LabelledRequest]:
    """Attack requests of the CrowdSec hub tests and benign requests of the benign captures."""
    found: list[LabelledRequest] = []
    for sample in read_manifest(corpus):
        if sample.category == "benign" or sample.category in NOT_WEB:
            other = sample.category != "benign"
            found += _requests(sample.path, settings, exclude=frozenset(), other=other)
        elif sample.hub is not None and sample.hub.family == "webattack":
            found += _attacks(sample.path, sample.hub, settings)
    if scenarios is not None and (scenarios / "README.md").is_file():
        attackers = dict(_README_ROW.findall((scenarios / "README.md").read_text("utf-8")))
        for capture in sorted(scenarios.glob("*.pcap")):
            skip = frozenset({attackers.get(capture.name, "")})
            found += _requests(capture, settings, exclude=skip, other=False)
    return found


def _attacks(path: Path, hub: HubTest, settings: Settings) -> list[LabelledRequest]:
    return [
        LabelledRequest(
            origin=path.name, attack=hub.attack_class, uri=e.uri, agent=e.user_agent, form=e.form
        )
        for e in events_of(path, settings)
        if isinstance(e, HttpRequest) and (e.src_ip, e.uri) in hub.requests
    ]


def _requests(
    path: Path, settings: Settings, *, exclude: frozenset[str], other: bool
) -> list[LabelledRequest]:
    return [
        LabelledRequest(
            origin=path.name, attack=None, uri=e.uri, agent=e.user_agent, form=e.form, other=other
        )
        for e in events_of(path, settings)
        if isinstance(e, HttpRequest) and e.src_ip not in exclude
    ]


def score(request: LabelledRequest, paranoia: int) -> int:
    """The request's inbound anomaly score with rules up to ``paranoia`` counting."""
    matches = match_request(request.uri, request.agent, paranoia, request.form)
    return anomaly_score(matches, paranoia)


def web_roc(
    requests: Sequence[LabelledRequest],
    paranoia_levels: Iterable[int] = (1, 2),
    config: WebAttackConfig | None = None,
) -> list[ClassRoc]:
    """Per paranoia level and attack class (and all pooled): rates at each budget; then the
    false alarms on the other categories' HTTP requests."""
    threshold = (config or WebAttackConfig()).inbound_threshold
    classes = sorted({r.attack for r in requests if r.attack is not None})
    rows = []
    for level in paranoia_levels:
        scores = [(r.attack, score(r, level)) for r in requests if not r.other]
        benign = [s for a, s in scores if a is None]
        others = [score(r, level) for r in requests if r.other]
        for attack in [*classes, ALL]:
            mine = [s for a, s in scores if a == attack or (attack == ALL and _generic(a))]
            rows.append(
                ClassRoc(
                    attack=attack,
                    paranoia=level,
                    at_threshold=rates(mine, benign, threshold),
                    at_budgets=tuple(operating_point(mine, benign, b) for b in BUDGETS),
                )
            )
        if others:
            point = rates([], others, threshold)
            rows.append(ClassRoc(attack=OTHER, paranoia=level, at_threshold=point, at_budgets=()))
    return rows


def _show(threshold: float | None) -> str:
    return "-" if threshold is None else f"{threshold:g}"


def _generic(attack: str | None) -> bool:
    return attack is not None and attack not in PRODUCT_SPECIFIC


def render_roc(rows: Sequence[ClassRoc]) -> str:
    """A plain-text table: TPR (threshold) at the configured threshold and at each budget."""
    limit = _show(rows[0].at_threshold.threshold) if rows else "-"
    head = ["class", "PL", "attacks", "benign", f"TPR@{limit}", f"FPR@{limit}"]
    head += [f"TPR@{b:.1%}FPR" for b in BUDGETS]
    lines = [f"{head[0]:<16}" + "".join(f"{h:>15}" for h in head[1:])]
    for row in rows:
        t = row.at_threshold
        cells = [row.paranoia, t.positives, t.negatives, f"{t.tpr:.3f}", f"{t.fpr:.4f}"]
        cells += [f"{p.tpr:.3f} (>={_show(p.threshold)})" for p in row.at_budgets] or ["-", "-"]
        lines.append(f"{row.attack:<16}" + "".join(f"{c!s:>15}" for c in cells))
    lines.append("score: inbound anomaly points of the rules up to PL; flagged at score >= t;")
    lines.append(f"{OTHER}: requests of non-web attack captures, their FPR only (benign column)")
    return "\n".join(lines)
