"""The dumb baseline every detector is compared with: Zeek's default thresholds.

Zeek's scan policy flags 25 failed hosts on one port or 15 failed ports on one host within
5 minutes; its SSH policy flags 30 failed logins from one source within 30 minutes.
"""

from __future__ import annotations

from collections import deque
from typing import ClassVar, TypeGuard

from detectors.alert import Alert, Severity
from detectors.attack import Tactic
from detectors.base import Detector
from detectors.portscan import PortScan, PortScanConfig
from sensors.events import AuthEvent, AuthOutcome, Event

ZEEK_SCAN = PortScanConfig(window_seconds=300.0, vertical_ports=15, horizontal_hosts=25)
"""Zeek ``scan.zeek``: 15 ports or 25 hosts in 5 minutes."""
SSH_GUESSES = 30
"""Zeek ``detect-bruteforcing.zeek``: ``password_guesses_limit``."""
SSH_WINDOW = 1800.0
"""Zeek ``detect-bruteforcing.zeek``: ``guessing_timeout`` (30 min)."""


class ZeekSshGuessing:
    """Zeek's SSH password-guessing notice: 30 failures from one source within 30 minutes."""

    name: ClassVar[str] = "zeek_ssh_guessing"
    Config: ClassVar[type[object]] = object

    def __init__(self, config: object | None = None) -> None:
        self._failures: dict[str, deque[float]] = {}
        self._fired: set[str] = set()

    def observe(self, event: Event) -> list[Alert]:
        """Count one failed SSH login; fire once per source at the limit."""
        if not _ssh_failure(event) or event.src_ip is None:
            return []
        times = self._failures.setdefault(event.src_ip, deque(maxlen=SSH_GUESSES))
        times.append(event.time)
        full = len(times) == SSH_GUESSES and times[-1] - times[0] <= SSH_WINDOW
        if not full or event.src_ip in self._fired:
            return []
        self._fired.add(event.src_ip)
        return [_guessing_alert(event, times)]

    def flush(self, now: float) -> list[Alert]:
        """Nothing to close: the alert fires when the limit is reached."""
        return []


def zeek_detectors() -> list[Detector]:
    """The baseline detector set: Zeek-default fan-out scans and SSH guessing."""
    return [PortScan(ZEEK_SCAN), ZeekSshGuessing()]


def _ssh_failure(event: Event) -> TypeGuard[AuthEvent]:
    return (
        isinstance(event, AuthEvent)
        and event.outcome is AuthOutcome.FAILURE
        and "ssh" in event.service
    )


def _guessing_alert(event: AuthEvent, times: deque[float]) -> Alert:
    source = event.src_ip or ""
    return Alert(
        time=event.time,
        first_seen=times[0],
        last_seen=times[-1],
        detector=ZeekSshGuessing.name,
        rule="bruteforce.ssh_guessing",
        severity=Severity.MEDIUM,
        sensor=event.sensor,
        source_ip=source,
        destination_ip=event.dst_ip,
        tactic=Tactic.CREDENTIAL_ACCESS,
        technique="T1110",
        identifier=f"bruteforce.ssh_guessing:{source}",
        explanation=f"{source} failed {SSH_GUESSES} SSH logins within {SSH_WINDOW:g}s (Zeek)",
        facts={"failures": SSH_GUESSES, "window_seconds": SSH_WINDOW},
    )
