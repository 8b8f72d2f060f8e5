"""Brute-force detector: literal auth events, web requests and flows in, alerts out."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from detectors.alert import Alert, Severity
from detectors.attack import Tactic
from detectors.bruteforce import BruteForce, BruteForceConfig
from sensors.events import AuthEvent, AuthOutcome, Event, Flow, HttpRequest, TcpOutcome, Transport

GUESSER, SERVER = "198.51.100.23", "10.10.1.22"


def auth(t: float, outcome: AuthOutcome, src: str = GUESSER, user: str = "root") -> AuthEvent:
    return AuthEvent(
        time=t, sensor="s", src_ip=src, dst_ip=SERVER, service="sshd", user=user, outcome=outcome
    )


def ssh_flow(t: float, packets: int, src: str = GUESSER, port: int = 22) -> Flow:
    return Flow(
        start=t,
        end=t + packets / 10,
        sensor="s",
        src_ip=src,
        src_port=40000 + int(t),
        dst_ip=SERVER,
        dst_port=port,
        transport=Transport.TCP,
        packets_out=packets // 2,
        packets_in=packets - packets // 2,
        bytes_out=100 * packets,
        bytes_in=100 * packets,
        outcome=TcpOutcome.CLOSED,
    )


def login(t: float, status: int, method: str = "POST", uri: str = "/wp-login.php") -> HttpRequest:
    return HttpRequest(
        time=t, sensor="s", src_ip=GUESSER, dst_ip=SERVER, method=method, uri=uri, status=status
    )


def run(events: Sequence[Event], config: BruteForceConfig | None = None) -> list[Alert]:
    detector = BruteForce(config or BruteForceConfig())
    alerts = [a for e in events for a in detector.observe(e)]
    return alerts + detector.flush(float("inf"))


def test_five_failures_in_ten_minutes_fire_once() -> None:
    alerts = run([auth(60.0 * n, AuthOutcome.FAILURE, user=f"u{n}") for n in range(8)])
    assert [(a.rule, a.time, a.facts["failures"]) for a in alerts] == [
        ("bruteforce.auth", 240.0, 5)
    ]
    first = alerts[0]
    assert first.source_ip == GUESSER and first.destination_ip == SERVER
    assert first.tactic is Tactic.CREDENTIAL_ACCESS and first.technique == "T1110.001"
    assert first.identifier == f"bruteforce.auth:{GUESSER}:sshd" and len(first.evidence) == 5


def test_failures_spread_wider_than_the_window_do_not_fire() -> None:
    assert run([auth(200.0 * n, AuthOutcome.FAILURE) for n in range(10)]) == []


def test_out_of_order_log_lines_still_count() -> None:
    times = [300.0, 0.0, 100.0, 200.0, 50.0]
    alerts = run([auth(t, AuthOutcome.FAILURE) for t in times])
    assert [a.facts["failures"] for a in alerts] == [5]


def test_success_after_failures_is_a_critical_compromise() -> None:
    events: list[Event] = [auth(float(n), AuthOutcome.FAILURE) for n in range(6)]
    events.append(auth(100.0, AuthOutcome.SUCCESS, user="admin"))
    alerts = run(events)
    assert [a.rule for a in alerts] == ["bruteforce.auth", "bruteforce.compromise"]
    compromise = alerts[1]
    assert compromise.severity is Severity.CRITICAL and compromise.tactic is Tactic.INITIAL_ACCESS
    assert "likely compromise" in compromise.explanation and "'admin'" in compromise.explanation


def test_success_after_few_failures_is_a_typo_not_a_compromise() -> None:
    events = [auth(0.0, AuthOutcome.FAILURE), auth(5.0, AuthOutcome.SUCCESS)]
    assert run(events) == []


def test_web_login_failures_and_the_redirect_that_follows() -> None:
    events: list[Event] = [login(float(n), 200) for n in range(5)]
    events.append(login(9.0, 302))
    alerts = run(events)
    assert [(a.rule, a.facts["service"]) for a in alerts] == [
        ("bruteforce.auth", "http"),
        ("bruteforce.compromise", "http"),
    ]


def test_ordinary_pages_are_not_logins() -> None:
    events: list[Event] = [login(float(n), 200, "GET", "/index.html") for n in range(50)]
    assert run(events) == []


def test_similar_short_ssh_flows_then_a_long_session() -> None:
    flows: list[Event] = [ssh_flow(5.0 * n, 24 + n % 2) for n in range(40)]
    flows.append(ssh_flow(210.0, 427))
    alerts = run(flows)
    assert [(a.rule, a.time) for a in alerts] == [
        ("bruteforce.flows", 45.0),
        ("bruteforce.compromise", 210.0),
    ]
    assert alerts[0].facts["median_packets"] == 24.5 and alerts[0].destination_ports == (22,)
    assert alerts[1].severity is Severity.CRITICAL and alerts[1].source_ip == GUESSER


def test_long_session_reported_before_the_guessing_flows_still_counts() -> None:
    flows: list[Event] = [ssh_flow(300.0, 427)]
    flows += [ssh_flow(5.0 * n, 24) for n in range(12)]
    assert [a.rule for a in run(flows)] == ["bruteforce.flows", "bruteforce.compromise"]


def test_varied_sessions_of_an_admin_are_not_guessing() -> None:
    flows: list[Event] = [ssh_flow(30.0 * n, 10 + 7 * n) for n in range(12)]
    assert run(flows) == []


def test_distributed_campaign_of_sources_each_under_the_threshold() -> None:
    config = BruteForceConfig(interval_seconds=600.0, cusum_threshold=10.0)
    quiet = [auth(600.0 * n + 5, AuthOutcome.FAILURE, src="10.1.0.9") for n in range(6)]
    campaign = [
        auth(3600.0 + 20.0 * n, AuthOutcome.FAILURE, src=f"203.0.113.{n}") for n in range(25)
    ]
    alerts = run([*quiet, *campaign, auth(9000.0, AuthOutcome.FAILURE, src="10.1.0.9")], config)
    assert [a.rule for a in alerts] == ["bruteforce.distributed"]
    assert alerts[0].facts["sources"] == 25 and alerts[0].technique == "T1110.003"


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_failures", 1), ("window_seconds", 0.0), ("similar_share", 1.5), ("max_keys", 0)],
)
def test_config_rejects_out_of_range(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"^{field}: "):
        BruteForceConfig(**{field: value})  # type: ignore[arg-type]


def test_state_is_capped_and_evictions_counted() -> None:
    detector = BruteForce(BruteForceConfig(max_keys=10))
    for n in range(25):
        detector.observe(auth(float(n), AuthOutcome.FAILURE, src=f"192.0.2.{n}"))
    assert len(detector._tallies) == 10 and detector.evictions == 15


def test_sources_silent_for_the_lookback_are_forgotten() -> None:
    detector = BruteForce(BruteForceConfig())
    detector.observe(auth(0.0, AuthOutcome.FAILURE, src="192.0.2.1"))
    detector.observe(auth(7200.0, AuthOutcome.FAILURE, src="192.0.2.2"))
    assert [key[1] for key in detector._tallies] == ["192.0.2.2"]
