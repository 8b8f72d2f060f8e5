"""What counts as a login attempt, how it ended, and counts over attempt times.

Shared by the brute-force detector's rules: web requests and login-port flows are classified
here; the window counts are pure functions over sorted attempt times.
"""

from __future__ import annotations

import bisect
import re
import statistics

from sensors.events import AuthOutcome, Flow, HttpRequest, TcpOutcome, Transport

LOGIN_PORTS = {22: "ssh", 21: "ftp", 23: "telnet", 3389: "rdp"}
"""Ports whose flows are login attempts (SSHCure's flow shape carries over to all four)."""

LOGIN_URI = re.compile(r"log-?[io]n|sign-?in|auth|wp-login|xmlrpc|/admin|/maint|passw", re.I)
"""URIs that are login endpoints: a 403 or a re-shown form there is a failed login."""

REACHED = (TcpOutcome.CLOSED, TcpOutcome.ESTABLISHED)
"""Flows whose handshake completed: only these carry a password attempt."""


def web_outcome(request: HttpRequest) -> AuthOutcome:
    """A web login's outcome: 401, or a 403 / re-shown form (200 to a POST) on a login URI."""
    if request.status == 401:
        return AuthOutcome.FAILURE
    if not LOGIN_URI.search(request.uri):
        return AuthOutcome.UNKNOWN
    if request.status == 403 or (request.method == "POST" and request.status == 200):
        return AuthOutcome.FAILURE
    if request.method == "POST" and request.status in (301, 302, 303):
        return AuthOutcome.SUCCESS
    return AuthOutcome.UNKNOWN


def login_flow(flow: Flow) -> bool:
    """A TCP flow to a login port whose handshake completed (it carried an attempt)."""
    return (
        flow.transport is Transport.TCP and flow.dst_port in LOGIN_PORTS and flow.outcome in REACHED
    )


def densest(times: list[float], time: float, window: float) -> int:
    """Most of the sorted ``times`` in any one window that contains ``time``."""
    lo, hi = bisect.bisect_left(times, time - window), bisect.bisect_right(times, time)
    return max(
        (bisect.bisect_right(times, times[i] + window) - i for i in range(lo, hi)), default=0
    )


def within(times: list[float], now: float, window: float) -> int:
    """How many times fall in ``[now - window, now]``."""
    return sum(1 for t in times if now - window <= t <= now)


def flow_shape(sizes: list[int], similarity: float) -> tuple[float, int]:
    """Median packets per flow and how many flows lie within ``similarity`` of it (SSHCure)."""
    median = statistics.median(sizes)
    tolerance = max(1.0, similarity * median)
    return median, sum(1 for size in sizes if abs(size - median) <= tolerance)
