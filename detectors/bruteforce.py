"""Password guessing from logs and from flows, the compromise that may follow, and campaigns.

Four rules:

- ``bruteforce.auth``: failed logins of one source against one service (sshd, FTP, RDP, web
  logins from logs; web 401s and re-shown login forms from HTTP metadata) within a window;
- ``bruteforce.flows``: many short flows of near-constant packet count from one source to a
  login port (22, 21, 23, 3389), SSHCure's brute-force phase, when no log is available;
- ``bruteforce.compromise``: a success after the failures (a logged success, a login
  redirect, or a flow that breaks the attack pattern: far more packets), rated critical;
- ``bruteforce.distributed``: a CUSUM on the site-wide failure count per interval (Javed and
  Paxson 2013) that names the sources that each stayed under the per-source threshold.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import ClassVar

from detectors.alert import Alert, Severity
from detectors.attack import Tactic
from detectors.campaign import CampaignAlarm, FailureCampaign
from detectors.cusum import Cusum
from detectors.logins import LOGIN_PORTS, densest, flow_shape, login_flow, web_outcome, within
from detectors.ranges import check_ranges
from sensors.events import AuthEvent, AuthOutcome, Event, Flow, HttpRequest


@dataclass(frozen=True, kw_only=True)
class BruteForceConfig:
    """Thresholds of the brute-force detector."""

    window_seconds: float = 600.0
    """Failures older than this are forgotten (fail2ban ``findtime`` 10 min; Zeek 30 min)."""
    max_failures: int = 5
    """Failures of one source on one service that make an attack (fail2ban 5; Zeek 30)."""
    flow_attempts: int = 10
    """Similar short flows to one login port that make a flow-based attack."""
    similarity: float = 0.25
    """Relative tolerance around the median packets per flow for a flow to be 'similar'."""
    similar_share: float = 0.8
    """Share of the short flows that must be similar (near-constant packets per flow)."""
    max_attempt_packets: int = 100
    """A flow with more packets is not a single guessing session."""
    compromise_factor: float = 3.0
    """A flow with this many times the attack's median packets breaks the pattern."""
    lookback_seconds: float = 3600.0
    """A success this long after the last failure is still linked to the attack."""
    interval_seconds: float = 600.0
    """Distributed guessing: the aggregate failure count is taken per interval."""
    baseline_failures: float = 1.0
    """Starting estimate of legitimate failures per interval (typos, stale keys)."""
    cusum_drift: float = 2.0
    """Failures per interval above the baseline that the CUSUM tolerates."""
    cusum_threshold: float = 10.0
    """Cumulative excess failures that raise a distributed-campaign alarm."""
    min_campaign_sources: int = 3
    """Sources, each under ``max_failures``, that make a distributed campaign."""
    sample_size: int = 20
    """How many users, sources and evidence records an alert lists."""
    max_keys: int = 100_000
    """State cap: the stalest sources are dropped beyond it (counted in ``evictions``)."""

    def __post_init__(self) -> None:
        checks = {
            "window_seconds": 1.0 <= self.window_seconds <= 86_400.0,
            "max_failures": 2 <= self.max_failures <= 100_000,
            "flow_attempts": 3 <= self.flow_attempts <= 100_000,
            "similarity": 0.0 < self.similarity <= 1.0,
            "similar_share": 0.0 < self.similar_share <= 1.0,
            "max_attempt_packets": 4 <= self.max_attempt_packets <= 1_000_000,
            "compromise_factor": 1.0 < self.compromise_factor <= 1000.0,
            "lookback_seconds": 1.0 <= self.lookback_seconds <= 7 * 86_400.0,
            "interval_seconds": 1.0 <= self.interval_seconds <= 86_400.0,
            "baseline_failures": 0.0 <= self.baseline_failures <= 1e6,
            "cusum_drift": 0.0 <= self.cusum_drift <= 1e6,
            "cusum_threshold": 0.0 < self.cusum_threshold <= 1e9,
            "min_campaign_sources": 2 <= self.min_campaign_sources <= 1_000_000,
            "sample_size": 1 <= self.sample_size <= 1000,
            "max_keys": 1 <= self.max_keys <= 10_000_000,
        }
        check_ranges(self, checks)


@dataclass
class _Tally:
    """Attempts of one (source, service): failure times or flow sizes, and what fired."""

    sensor: str
    first: float
    last: float
    times: list[float] = field(default_factory=list)  # failure times or flow starts
    sizes: list[int] = field(default_factory=list)  # packets per flow (flow tallies only)
    targets: Counter[str] = field(default_factory=Counter)
    users: set[str] = field(default_factory=set)
    evidence: list[str] = field(default_factory=list)
    outliers: list[Flow] = field(default_factory=list)  # pattern-breaking flows seen early
    fired_at: float | None = None
    median: float = 0.0
    compromised: bool = False


class BruteForce:
    """Password guessing per source and service, compromise after it, distributed campaigns."""

    name: ClassVar[str] = "bruteforce"
    Config: ClassVar[type[BruteForceConfig]] = BruteForceConfig
    accepts: ClassVar[tuple[type[Event], ...]] = (AuthEvent, HttpRequest, Flow)

    def __init__(self, config: BruteForceConfig) -> None:
        self.config = config
        self.evictions = 0
        self._tallies: dict[tuple[str, str, str], _Tally] = {}
        cusum = Cusum(config.baseline_failures, config.cusum_drift, config.cusum_threshold)
        self.campaign = FailureCampaign(config.interval_seconds, cusum, config.max_keys)
        self._campaign_run: float | None = None  # start of the alarm run already reported
        self._next_forget = -math.inf

    def observe(self, event: Event) -> list[Alert]:
        """Count failures and successes of auth events, web logins and login-port flows."""
        if isinstance(event, AuthEvent) and event.src_ip:
            return self._login(event, event.service or "auth", event.outcome, event.user)
        if isinstance(event, HttpRequest) and event.src_ip:
            outcome = web_outcome(event)
            if outcome is not AuthOutcome.UNKNOWN:
                return self._login(event, "http", outcome, event.user or "")
        if isinstance(event, Flow) and login_flow(event):
            return self._flow(event)
        return []

    def flush(self, now: float) -> list[Alert]:
        """Close aggregate intervals before ``now`` and forget sources silent for the lookback."""
        alerts = self._campaign_alerts(self.campaign.close(now))
        self._forget(now - self.config.lookback_seconds)
        return alerts

    def _forget(self, horizon: float) -> None:
        for key in [k for k, t in self._tallies.items() if t.last < horizon]:
            del self._tallies[key]

    # -- logs and web logins -------------------------------------------------------------

    def _login(
        self, event: AuthEvent | HttpRequest, service: str, outcome: AuthOutcome, user: str
    ) -> list[Alert]:
        src = event.src_ip or ""
        if outcome is not AuthOutcome.FAILURE:  # a success matters only after failures
            known = self._tallies.get(("auth", src, service))
            if outcome is AuthOutcome.SUCCESS and known is not None:
                return self._success(event, known, service)
            return []
        tally = self._tally(("auth", src, service), event.sensor, event.time)
        bisect.insort(tally.times, event.time)  # logs may arrive out of order
        tally.targets[event.dst_ip or event.host or ""] += 1
        _remember(tally, user, event, self.config.sample_size)
        alerts = self._campaign_alerts(self.campaign.add(event.time, src))
        recent = densest(tally.times, event.time, self.config.window_seconds)
        if tally.fired_at is None and recent >= self.config.max_failures:
            tally.fired_at = event.time
            alerts.append(self._auth_alert(src, service, tally, recent))
        return alerts

    def _success(self, event: AuthEvent | HttpRequest, tally: _Tally, service: str) -> list[Alert]:
        src = event.src_ip or ""
        failures = within(tally.times, event.time, self.config.lookback_seconds)
        if tally.compromised or failures < self.config.max_failures:
            return []
        tally.compromised = True
        user = event.user or ""
        what = f"a successful {service} login" + (f" as {user!r}" if user else "")
        alert = self._compromise(src, service, tally, event.time, what, event.id, failures)
        if user:  # the correlator groups authentication findings by source and account
            alert = dataclasses.replace(alert, facts={**alert.facts, "user": user})
        return [alert]

    # -- flows ---------------------------------------------------------------------------

    def _flow(self, flow: Flow) -> list[Alert]:
        service = LOGIN_PORTS[flow.dst_port]
        key = ("flow", flow.src_ip, f"{service}:{flow.dst_ip}")
        tally = self._tally(key, flow.sensor, flow.start)
        packets = flow.packets_out + flow.packets_in
        if packets > self.config.max_attempt_packets:
            if tally.fired_at is None:
                tally.outliers = [*tally.outliers[-9:], flow]
                return []
            return self._breaks(flow, tally, service)
        tally.times.append(flow.start)
        tally.sizes.append(packets)
        tally.targets[flow.dst_ip] += 1
        _remember(tally, "", flow, self.config.sample_size)
        if tally.fired_at is not None:
            return []
        return self._flow_attack(flow, tally, service)

    def _flow_attack(self, flow: Flow, tally: _Tally, service: str) -> list[Alert]:
        c = self.config
        horizon = flow.start - c.window_seconds
        sizes = [s for t, s in zip(tally.times, tally.sizes, strict=True) if t >= horizon]
        if len(sizes) < c.flow_attempts:
            return []
        median, similar = flow_shape(sizes, c.similarity)
        if similar < c.flow_attempts or similar < c.similar_share * len(sizes):
            return []
        tally.fired_at, tally.median = flow.start, median
        alerts = [self._flow_alert(flow, tally, service, len(sizes), similar)]
        for early in tally.outliers:
            alerts.extend(self._breaks(early, tally, service))
        tally.outliers = []
        return alerts

    def _breaks(self, flow: Flow, tally: _Tally, service: str) -> list[Alert]:
        packets = flow.packets_out + flow.packets_in
        late_enough = flow.start >= tally.first
        if tally.compromised or not late_enough:
            return []
        if packets < self.config.compromise_factor * tally.median:
            return []
        tally.compromised = True
        what = (
            f"a {service} session of {packets} packets over {flow.end - flow.start:.1f}s "
            f"(the {len(tally.sizes)} guessing flows had a median of {tally.median:g})"
        )
        return [
            self._compromise(
                flow.src_ip, service, tally, flow.start, what, flow.id, len(tally.sizes)
            )
        ]

    # -- distributed guessing ------------------------------------------------------------

    def _campaign_alerts(self, alarms: list[CampaignAlarm]) -> list[Alert]:
        """One alert per alarm run, once enough sources each stayed under the threshold."""
        alerts: list[Alert] = []
        for alarm in alarms:
            under = [s for s, n in alarm.sources.items() if n < self.config.max_failures]
            if alarm.run_start == self._campaign_run:
                continue
            if len(under) >= self.config.min_campaign_sources:
                self._campaign_run = alarm.run_start
                alerts.append(self._campaign_alert(alarm, under))
        return alerts

    # -- state ---------------------------------------------------------------------------

    def _tally(self, key: tuple[str, str, str], sensor: str, time: float) -> _Tally:
        if time >= self._next_forget:  # once per window of attempt time, not per attempt
            self._forget(time - self.config.lookback_seconds)
            self._next_forget = time + self.config.window_seconds
        tally = self._tallies.pop(key, None)  # re-inserted last: the dict is in LRU order
        if tally is None:
            if len(self._tallies) >= self.config.max_keys:
                del self._tallies[next(iter(self._tallies))]
                self.evictions += 1
            tally = _Tally(sensor=sensor, first=time, last=time)
        self._tallies[key] = tally
        tally.first, tally.last = min(tally.first, time), max(tally.last, time)
        keep = 4 * max(self.config.max_failures, self.config.flow_attempts)
        if len(tally.times) > keep + 1000:  # bounded: the oldest attempts go first
            del tally.times[:-keep], tally.sizes[: max(0, len(tally.sizes) - keep)]
        return tally

    # -- alerts --------------------------------------------------------------------------

    def _auth_alert(self, src: str, service: str, tally: _Tally, recent: int) -> Alert:
        c = self.config
        target = tally.targets.most_common(1)[0][0]
        users = sorted(tally.users)[: c.sample_size]
        where = f" on {target}" if target else ""
        return self._alert(
            rule="bruteforce.auth",
            tally=tally,
            time=tally.fired_at or tally.last,
            severity=Severity.HIGH if recent >= 6 * c.max_failures else Severity.MEDIUM,
            source=src,
            target=target,
            identifier=f"bruteforce.auth:{src}:{service}",
            explanation=(
                f"{src} failed {recent} {service} logins{where} within "
                f"{c.window_seconds:g}s (threshold: {c.max_failures}); users tried: "
                f"{', '.join(users) or 'unknown'}"
            ),
            facts={
                "failures": recent,
                "distinct_users": len(tally.users),
                "threshold": c.max_failures,
                "window_seconds": c.window_seconds,
                "service": service,
            },
        )

    def _flow_alert(
        self, flow: Flow, tally: _Tally, service: str, flows: int, similar: int
    ) -> Alert:
        c = self.config
        return self._alert(
            rule="bruteforce.flows",
            tally=tally,
            time=flow.start,
            severity=Severity.MEDIUM,
            source=flow.src_ip,
            target=flow.dst_ip,
            port=flow.dst_port,
            identifier=f"bruteforce.flows:{flow.src_ip}:{flow.dst_ip}:{flow.dst_port}",
            explanation=(
                f"{flow.src_ip} opened {flows} short {service} sessions to {flow.dst_ip}:"
                f"{flow.dst_port} within {c.window_seconds:g}s, {similar} of them with about "
                f"{tally.median:g} packets each (threshold: {c.flow_attempts} similar flows)"
            ),
            facts={
                "flows": flows,
                "similar_flows": similar,
                "median_packets": tally.median,
                "threshold": c.flow_attempts,
                "window_seconds": c.window_seconds,
                "service": service,
            },
        )

    def _compromise(
        self, src: str, service: str, tally: _Tally, time: float, what: str, ref: str, n: int
    ) -> Alert:
        target = tally.targets.most_common(1)[0][0] if tally.targets else ""
        return self._alert(
            rule="bruteforce.compromise",
            tally=tally,
            time=time,
            severity=Severity.CRITICAL,
            source=src,
            target=target,
            tactic=Tactic.INITIAL_ACCESS,
            technique="T1078",
            identifier=f"bruteforce.compromise:{src}:{service}:{target}",
            explanation=f"likely compromise: {src} made {what} after {n} failed attempts",
            facts={"failed_attempts": n, "service": service, "success_time": time},
            extra=(ref,),
        )

    def _campaign_alert(self, alarm: CampaignAlarm, under: list[str]) -> Alert:
        c = self.config
        sources = sorted(under, key=lambda s: (-alarm.sources[s], s))
        return Alert(
            time=alarm.end,
            first_seen=alarm.run_start,
            last_seen=alarm.end,
            detector=self.name,
            rule="bruteforce.distributed",
            severity=Severity.HIGH,
            sensor="",
            destinations=tuple(sources[: c.sample_size]),
            tactic=Tactic.CREDENTIAL_ACCESS,
            technique="T1110.003",
            identifier=f"bruteforce.distributed:{alarm.run_start:.0f}",
            explanation=(
                f"site-wide failed logins rose to {alarm.failures} over "
                f"{alarm.end - alarm.run_start:g}s (baseline {alarm.baseline:.1f} per "
                f"{c.interval_seconds:g}s); {len(sources)} sources each stayed under "
                f"{c.max_failures} failures: {', '.join(sources[:5])}"
            ),
            facts={
                "failures": alarm.failures,
                "sources": len(sources),
                "cusum": round(alarm.cusum, 3),
                "cusum_threshold": c.cusum_threshold,
                "baseline_per_interval": round(alarm.baseline, 3),
                "interval_seconds": c.interval_seconds,
            },
        )

    def _alert(
        self,
        *,
        rule: str,
        tally: _Tally,
        time: float,
        severity: Severity,
        source: str,
        target: str,
        identifier: str,
        explanation: str,
        facts: dict[str, int | float | str],
        port: int | None = None,
        tactic: Tactic = Tactic.CREDENTIAL_ACCESS,
        technique: str = "T1110.001",
        extra: tuple[str, ...] = (),
    ) -> Alert:
        return Alert(
            time=time,
            first_seen=tally.first,
            last_seen=max(tally.last, time),
            detector=self.name,
            rule=rule,
            severity=severity,
            sensor=tally.sensor,
            source_ip=source,
            destination_ip=target or None,
            destinations=(target,) if target else (),
            destination_ports=(port,) if port is not None else (),
            tactic=tactic,
            technique=technique,
            identifier=identifier,
            explanation=explanation,
            facts=facts,
            evidence=(*tally.evidence, *extra),
        )


def _remember(tally: _Tally, user: str, event: Event, size: int) -> None:
    if user and len(tally.users) < size:
        tally.users.add(user)
    if len(tally.evidence) < size:  # ids are hashes of the whole record: only take the ones kept
        tally.evidence.append(event.id)
