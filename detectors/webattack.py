"""Web attacks in HTTP requests (from packets and access logs), scored the CRS way.

Every request's URI (kept raw by the sensors), URL-encoded form body and User-Agent are
decoded and matched against ``detectors.webrules``. As in the OWASP Core Rule Set, each match
adds its severity in anomaly points (critical 5, error 4, warning 3, notice 2) and a request
is an attack when its
inbound score at the blocking paranoia level (1) reaches ``inbound_threshold`` (5). Rules up
to ``detection_paranoia`` (2) are matched too and reported with their level, so the analyst
sees what a stricter setting would add. Attack requests are folded per source, target and
attack class (``webattack.sqli``, ``webattack.traversal``, ...) for ``window_seconds``; the
alert lists sample URIs as data and how many requests got a 2xx answer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import ClassVar

from detectors.alert import Alert, Severity
from detectors.attack import Tactic
from detectors.ranges import check_ranges
from detectors.site import Site
from detectors.webrules import Match, anomaly_score, match_request
from detectors.windows import BoundedMap
from sensors.events import Event, HttpRequest

TECHNIQUES = {"scanner": ("T1595.002", Tactic.RECONNAISSANCE)}
"""Attack classes that are not exploitation (T1190, initial access) by default."""


@dataclass(frozen=True, kw_only=True)
class WebAttackConfig:
    """Scoring and folding thresholds of the web-attack detector."""

    inbound_threshold: int = 5
    """Anomaly points at the blocking paranoia level that make a request an attack (CRS: 5)."""
    paranoia_level: int = 1
    """Blocking paranoia level: rules at or below it count toward the threshold (CRS: 1)."""
    detection_paranoia: int = 2
    """Rules up to this level are matched and reported, without counting (CRS advice: 2-3)."""
    window_seconds: float = 600.0
    """Attack requests of one source on one target and class are folded for this long."""
    sample_size: int = 5
    """Sample URIs (and matched excerpts) listed in an alert."""
    max_uri_chars: int = 300
    """A sample URI is cut to this length (it is attacker-controlled data)."""
    max_keys: int = 50_000
    """State cap on open (source, target, class) windows."""
    site: Site = field(default_factory=Site, metadata={"site": True})

    def __post_init__(self) -> None:
        checks = {
            "inbound_threshold": 2 <= self.inbound_threshold <= 1000,
            "paranoia_level": 1 <= self.paranoia_level <= 4,
            "detection_paranoia": self.paranoia_level <= self.detection_paranoia <= 4,
            "window_seconds": 1.0 <= self.window_seconds <= 86_400.0,
            "sample_size": 1 <= self.sample_size <= 100,
            "max_uri_chars": 32 <= self.max_uri_chars <= 8192,
            "max_keys": 1 <= self.max_keys <= 10_000_000,
        }
        check_ranges(self, checks)


@dataclass
class _Fold:
    """Attack requests of one (source, target, class) inside one window."""

    first: float
    last: float
    sensor: str
    port: int | None
    requests: int = 0
    answered_2xx: int = 0
    max_score: int = 0
    rules: Counter[str] = field(default_factory=Counter)
    paranoia: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    excerpts: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)


class WebAttack:
    """CRS-style anomaly scoring of HTTP requests, folded per source, target and class."""

    name: ClassVar[str] = "webattack"
    Config: ClassVar[type[WebAttackConfig]] = WebAttackConfig
    accepts: ClassVar[tuple[type[Event], ...]] = (HttpRequest,)

    def __init__(self, config: WebAttackConfig) -> None:
        self.config = config
        self._folds: BoundedMap[tuple[str, str, str], _Fold] = BoundedMap(config.max_keys)

    def observe(self, event: Event) -> list[Alert]:
        """Score one HTTP request; close the windows it shows have ended."""
        if not isinstance(event, HttpRequest):
            return []
        alerts = self.flush(event.time)
        c = self.config
        matches = match_request(event.uri, event.user_agent, c.detection_paranoia, event.form)
        score = anomaly_score(matches, c.paranoia_level)
        if score < c.inbound_threshold:
            return alerts
        blocking = [m for m in matches if m.rule.paranoia <= c.paranoia_level]
        attack = max(blocking, key=lambda m: m.rule.severity).rule.attack
        return alerts + self._fold(event, attack, matches, score)

    def flush(self, now: float) -> list[Alert]:
        """Alert for every window that ended before ``now``."""
        window = self.config.window_seconds
        gone = self._folds.expire(lambda f: f.first + window <= now)
        return [self._alert(key, fold) for key, fold in gone]

    def _fold(
        self, event: HttpRequest, attack: str, matches: list[Match], score: int
    ) -> list[Alert]:
        c = self.config
        key = (event.src_ip, event.dst_ip or event.host or "", attack)
        fold = self._folds.get(key)
        closed = []
        if fold is not None and fold.first + c.window_seconds <= event.time:
            self._folds.pop(key)  # its window ended while other windows kept it from expiring
            closed.append(self._alert(key, fold))
            fold = None
        if fold is None:
            fold = _Fold(
                first=event.time, last=event.time, sensor=event.sensor, port=event.dst_port
            )
            self._folds.touch(key, lambda: fold)
        fold.last = max(fold.last, event.time)
        fold.requests += 1
        fold.answered_2xx += int(event.status is not None and 200 <= event.status < 300)
        fold.max_score = max(fold.max_score, score)
        for m in matches:
            fold.rules[m.rule.id] += 1
            fold.paranoia[f"pl{m.rule.paranoia}"] += 1
        if len(fold.samples) < c.sample_size:
            fold.samples.append(event.uri[: c.max_uri_chars])
            fold.excerpts.append(" | ".join(f"{m.rule.id}@PL{m.rule.paranoia}" for m in matches))
            fold.evidence.append(event.id)
        return closed

    def _alert(self, key: tuple[str, str, str], fold: _Fold) -> Alert:
        source, target, attack = key
        technique, tactic = TECHNIQUES.get(attack, ("T1190", Tactic.INITIAL_ACCESS))
        rules = ", ".join(f"{r} x{n}" for r, n in fold.rules.most_common())
        facts: dict[str, int | float | str] = {
            "requests": fold.requests,
            "answered_2xx": fold.answered_2xx,
            "max_inbound_score": fold.max_score,
            "inbound_threshold": self.config.inbound_threshold,
            "paranoia_level": self.config.paranoia_level,
            "detection_paranoia": self.config.detection_paranoia,
            "window_seconds": self.config.window_seconds,
            "rules": rules,
            **{f"matches_{pl}": n for pl, n in sorted(fold.paranoia.items())},
            **{f"sample_uri_{n}": uri for n, uri in enumerate(fold.samples, 1)},
            **{f"sample_rules_{n}": text for n, text in enumerate(fold.excerpts, 1)},
        }
        alert = Alert(
            time=fold.last,
            first_seen=fold.first,
            last_seen=fold.last,
            detector=self.name,
            rule=f"webattack.{attack}",
            severity=Severity.MEDIUM if attack == "scanner" else Severity.HIGH,
            sensor=fold.sensor,
            source_ip=source,
            destination_ip=target or None,
            destinations=(target,) if target else (),
            destination_ports=(fold.port,) if fold.port else (),
            tactic=tactic,
            technique=technique,
            identifier=f"webattack.{attack}:{source}->{target}",
            explanation=(
                f"{source} sent {fold.requests} {attack} request(s) to {target} scoring up to "
                f"{fold.max_score} anomaly points at paranoia level {self.config.paranoia_level} "
                f"(threshold {self.config.inbound_threshold}); {fold.answered_2xx} answered 2xx"
            ),
            facts=facts,
            evidence=tuple(fold.evidence),
        )
        return self.config.site.label(alert)
