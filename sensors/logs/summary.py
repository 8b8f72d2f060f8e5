"""The few facts every event shares, whatever its type: what ``nssa parse`` prints per event."""

from __future__ import annotations

from dataclasses import dataclass

from sensors.events import (
    AuthEvent,
    AuthOutcome,
    DnsQuery,
    Event,
    FirewallAction,
    FirewallEvent,
    Flow,
    HttpRequest,
    TcpOutcome,
    WebError,
)

FAILED_FLOWS = {
    TcpOutcome.REJECTED,
    TcpOutcome.UNANSWERED,
    TcpOutcome.HALF_OPEN,
}


@dataclass(frozen=True, kw_only=True)
class EventSummary:
    """Kind, outcome, endpoints and user of one event."""

    kind: str  # the event.dataset without "nssa.": auth, http, firewall, ids, flow...
    outcome: AuthOutcome
    source_ip: str | None
    destination_ip: str | None
    user: str | None
    time: float


def summarise(event: Event) -> EventSummary:
    """The shared facts of any event."""
    dataset = str(event.ECS_CONSTANTS["event.dataset"])
    user = getattr(event, "user", None) or None
    return EventSummary(
        kind=dataset.removeprefix("nssa."),
        outcome=outcome_of(event),
        source_ip=getattr(event, "src_ip", None),
        destination_ip=getattr(event, "dst_ip", None),
        user=user,
        time=event.start if isinstance(event, Flow) else event.time,
    )


def outcome_of(event: Event) -> AuthOutcome:
    """ECS ``event.outcome`` of an event: did what it records succeed for the client?"""
    if isinstance(event, AuthEvent | WebError):
        return event.outcome
    if isinstance(event, HttpRequest):
        return _status_outcome(event.status)
    if isinstance(event, FirewallEvent):
        allowed = event.action is FirewallAction.ALLOW
        unknown = event.action is FirewallAction.UNKNOWN
        return AuthOutcome.UNKNOWN if unknown else _ok(allowed)
    if isinstance(event, Flow):
        return _flow_outcome(event)
    if isinstance(event, DnsQuery) and event.rcode is not None:
        return _ok(event.rcode.upper() == "NOERROR")
    return AuthOutcome.UNKNOWN


def _status_outcome(status: int | None) -> AuthOutcome:
    return AuthOutcome.UNKNOWN if status is None else _ok(status < 400)


def _flow_outcome(flow: Flow) -> AuthOutcome:
    if flow.outcome in FAILED_FLOWS:
        return AuthOutcome.FAILURE
    if flow.outcome in (TcpOutcome.ESTABLISHED, TcpOutcome.CLOSED):
        return AuthOutcome.SUCCESS
    return AuthOutcome.UNKNOWN


def _ok(success: bool) -> AuthOutcome:
    return AuthOutcome.SUCCESS if success else AuthOutcome.FAILURE
