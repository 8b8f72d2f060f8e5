"""Naive baselines beside the Zeek defaults, for the web and DNS-tunnel categories.

Zeek's ``detect-sqli.zeek`` counts requests whose URI looks like SQL injection per client and
raises ``SQL_Injection_Attacker`` at 50 within 5 minutes; ``ZeekSqlInjection`` does the same
with a pattern of our own. Zeek ships no DNS-tunnel policy: ``LongDnsNames`` is the common
rule of thumb (names over 52 characters, 10 per client and domain within 5 minutes). Zeek has
no default beacon or malware notice, so those categories have no baseline detector.
"""

from __future__ import annotations

import re
from collections import deque
from typing import ClassVar

from detectors.alert import Alert, Severity
from detectors.attack import Tactic
from detectors.base import Detector
from detectors.webdecode import url_decode
from nssa.baseline import zeek_detectors
from sensors.events import DnsQuery, Event, HttpRequest

SQLI_REQUESTS = 50
"""Zeek ``HTTP::sqli_requests_threshold``."""
SQLI_WINDOW = 300.0
"""Zeek ``HTTP::sqli_requests_interval`` (5 min)."""
_SQLI_URI = re.compile(
    r"[?&][^=&]*=[^&]*?(?:['\")]|\d)(?:\s|/\*.*?\*/|;)*"
    r"\b(?:union|select|insert|update|delete|drop|declare|exec|having|and|or)\b"
    r"|\bunion\b.{0,40}\bselect\b|/\*.*?\*/",
    re.IGNORECASE | re.DOTALL,
)
LONG_NAME = 52
"""Query names longer than this many characters count toward the DNS baseline."""
LONG_NAMES = 10
"""Long names from one client under one domain that raise the DNS baseline."""
DNS_WINDOW = 300.0
"""Window of the DNS baseline, seconds."""


class ZeekSqlInjection:
    """Zeek's SQL-injection attacker notice: 50 SQL-like URIs from one client in 5 minutes."""

    name: ClassVar[str] = "zeek_sqli"
    Config: ClassVar[type[object]] = object

    def __init__(self, config: object | None = None) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._fired: set[str] = set()

    def observe(self, event: Event) -> list[Alert]:
        """Count one SQL-like request; fire once per client at the limit."""
        if not isinstance(event, HttpRequest) or event.src_ip in self._fired:
            return []
        if not _SQLI_URI.search(url_decode(event.uri, plus=True)):
            return []
        times = self._hits.setdefault(event.src_ip, deque(maxlen=SQLI_REQUESTS))
        times.append(event.time)
        if len(times) < SQLI_REQUESTS or times[-1] - times[0] > SQLI_WINDOW:
            return []
        self._fired.add(event.src_ip)
        return [
            _alert(
                event,
                times,
                rule="webattack.sqli",
                detector=self.name,
                tactic=Tactic.INITIAL_ACCESS,
                technique="T1190",
                facts={"requests": SQLI_REQUESTS, "window_seconds": SQLI_WINDOW},
                why=f"sent {SQLI_REQUESTS} SQL-like URIs within {SQLI_WINDOW:g}s (Zeek)",
            )
        ]

    def flush(self, now: float) -> list[Alert]:
        """Nothing to close: the alert fires when the limit is reached."""
        return []


class LongDnsNames:
    """Rule-of-thumb DNS tunnel: 10 names over 52 characters under one domain in 5 minutes."""

    name: ClassVar[str] = "long_dns_names"
    Config: ClassVar[type[object]] = object

    def __init__(self, config: object | None = None) -> None:
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._fired: set[tuple[str, str]] = set()

    def observe(self, event: Event) -> list[Alert]:
        """Count one long query name; fire once per client and domain at the limit."""
        if not isinstance(event, DnsQuery) or len(event.query.rstrip(".")) <= LONG_NAME:
            return []
        domain = ".".join(event.query.rstrip(".").lower().split(".")[-2:])
        key = (event.src_ip, domain)
        if key in self._fired:
            return []
        times = self._hits.setdefault(key, deque(maxlen=LONG_NAMES))
        times.append(event.time)
        if len(times) < LONG_NAMES or times[-1] - times[0] > DNS_WINDOW:
            return []
        self._fired.add(key)
        return [
            _alert(
                event,
                times,
                rule="dnstunnel.long_names",
                detector=self.name,
                tactic=Tactic.COMMAND_AND_CONTROL,
                technique="T1071.004",
                facts={"domain": domain, "names": LONG_NAMES, "window_seconds": DNS_WINDOW},
                why=f"asked {LONG_NAMES} names over {LONG_NAME} characters under {domain}",
            )
        ]

    def flush(self, now: float) -> list[Alert]:
        """Nothing to close: the alert fires when the limit is reached."""
        return []


def baseline_detectors() -> list[Detector]:
    """Zeek's defaults plus the SQL-injection and long-DNS-name baselines."""
    return [*zeek_detectors(), ZeekSqlInjection(), LongDnsNames()]


def _alert(
    event: HttpRequest | DnsQuery,
    times: deque[float],
    *,
    rule: str,
    detector: str,
    tactic: Tactic,
    technique: str,
    facts: dict[str, int | float | str],
    why: str,
) -> Alert:
    source = event.src_ip
    return Alert(
        time=event.time,
        first_seen=times[0],
        last_seen=times[-1],
        detector=detector,
        rule=rule,
        severity=Severity.MEDIUM,
        sensor=event.sensor,
        source_ip=source,
        destination_ip=event.dst_ip,
        tactic=tactic,
        technique=technique,
        identifier=f"{rule}:{source}",
        explanation=f"{source} {why}",
        facts=facts,
    )
