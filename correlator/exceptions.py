"""One exception system: suppressions and allowlists, scoped, owned, expiring and audited.

An exception hides the alerts its scope matches (detector, source, destination, unit, sensor,
time) from correlation. It never deletes them: each hidden alert gets an ``AlertMark`` naming
the exception, for new alerts as they arrive and for past ones when the exception is saved.
Every save and expiry writes an ``AuditRecord``. All of it is pure; stores keep the records.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from functools import cached_property
from typing import Any

from correlator.organisation import OrganisationMap
from detectors.alert import Alert
from sensors.ecs import format_time

MAX_LIFETIME = 366 * 86_400.0
"""Longest an exception may last: a forgotten allowlist entry is a permanent blind spot."""


class ExceptionKind(StrEnum):
    """Why alerts are hidden: known noise for a while, or legitimate behaviour."""

    SUPPRESS = "suppress"  # noise to silence (a broken sensor, a known campaign being handled)
    ALLOW = "allow"  # a benign trigger (the internal vulnerability scanner, backup jobs)


class AuditAction(StrEnum):
    """What happened to an exception."""

    CREATED = "created"
    EXPIRED = "expired"
    REVISED = "revised"  # a new version replacing an expired one (its detail names the old)
    # Analysts' incident actions share the trail; their record's exception_id is the incident's.
    INCIDENT_ASSIGNED = "incident_assigned"
    INCIDENT_STATUS = "incident_status"
    INCIDENT_NOTE = "incident_note"
    # Account changes (``nssa user``); their record's exception_id is "user:NAME".
    USER_ADDED = "user_added"
    USER_DISABLED = "user_disabled"
    USER_ENABLED = "user_enabled"
    USER_PASSWORD = "user_password"
    # Dashboard sign-ins; their record's exception_id is "user:NAME" (the name as typed).
    SIGNED_IN = "signed_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGNED_OUT = "signed_out"
    # The packets behind an alert, downloaded; their record's exception_id is the alert's id.
    PACKETS_DOWNLOADED = "packets_downloaded"


@dataclass(frozen=True, kw_only=True)
class Scope:
    """Which alerts an exception covers: every given field must hold."""

    detector: str | None = None
    source: str | None = None  # an address or a network (CIDR)
    destination: str | None = None  # an address or a network; any target of the alert matches
    unit: str | None = None  # a unit code: the alert's targets in that unit or below it
    sensor: str | None = None
    starts: float | None = None  # alert time from (inclusive)
    ends: float | None = None  # alert time until (exclusive)

    def __post_init__(self) -> None:
        for name in ("source", "destination"):
            value = getattr(self, name)
            if value is not None:
                try:
                    ipaddress.ip_network(value, strict=False)
                except ValueError as exc:
                    raise ValueError(f"{name}: not an address or network: {value!r}") from exc
        if self.starts is not None and self.ends is not None and self.ends <= self.starts:
            raise ValueError("ends: must be after starts")
        if not any(
            getattr(self, n) is not None
            for n in ("detector", "source", "destination", "unit", "sensor")
        ):
            # A time window alone would hide every alert in it: too easy to do by mistake.
            raise ValueError("scope: name at least a detector, source, destination, unit or sensor")

    @cached_property
    def _networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network | None, ...]:
        return tuple(
            ipaddress.ip_network(v, strict=False) if v else None
            for v in (self.source, self.destination)
        )

    def matches(self, alert: Alert, organisation: OrganisationMap) -> bool:
        """Whether ``alert`` is inside this scope."""
        return self._fields_match(alert) and self._addresses_match(alert, organisation)

    def _fields_match(self, alert: Alert) -> bool:
        return (
            (self.detector is None or alert.detector == self.detector)
            and (self.sensor is None or alert.sensor == self.sensor)
            and (self.starts is None or alert.time >= self.starts)
            and (self.ends is None or alert.time < self.ends)
        )

    def _addresses_match(self, alert: Alert, organisation: OrganisationMap) -> bool:
        source_net, destination_net = self._networks
        if source_net is not None and not _inside(alert.source_ip, source_net):
            return False
        targets = _targets(alert)
        if destination_net is not None and not any(_inside(t, destination_net) for t in targets):
            return False
        return self.unit is None or any(
            self.unit in {u.code for u in organisation.lineage(unit.code)}
            for unit in organisation.units_of(targets)
        )


@dataclass(frozen=True, kw_only=True)
class AlertException:
    """A suppression or allowlist entry: scope, reason, owner, and until when it holds."""

    kind: ExceptionKind
    scope: Scope
    reason: str
    owner: str
    created: float
    expires: float

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValueError("reason: say why these alerts may be hidden")
        if not self.owner.strip():
            raise ValueError("owner: name who answers for this exception")
        if not self.created < self.expires <= self.created + MAX_LIFETIME:
            raise ValueError("expires: must be after creation and within 366 days of it")

    @property
    def id(self) -> str:
        """Deterministic id from what the exception is and when it was made."""
        text = json.dumps(
            [self.kind.value, _scope_key(self.scope), self.owner, self.created], sort_keys=True
        )
        return "x-" + hashlib.blake2b(text.encode(), digest_size=8).hexdigest()

    def covers(self, alert: Alert, organisation: OrganisationMap) -> bool:
        """Whether this exception hides ``alert``: in scope and seen before it expired."""
        return alert.time < self.expires and self.scope.matches(alert, organisation)


@dataclass(frozen=True, kw_only=True)
class AlertMark:
    """An alert hidden by an exception: kept, never deleted, just marked."""

    alert_id: str
    exception_id: str


@dataclass(frozen=True, kw_only=True)
class AuditRecord:
    """One change to an exception (or an analyst's incident action): who, what, when, detail."""

    time: float
    who: str
    action: AuditAction
    exception_id: str
    detail: str  # the exception's description after the change

    @property
    def id(self) -> str:
        """Deterministic id: the same change recorded twice is one record."""
        text = f"{self.time}|{self.who}|{self.action.value}|{self.exception_id}"
        return "au-" + hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


@dataclass(frozen=True, kw_only=True)
class Preview:
    """What an exception would hide, before it is saved."""

    matched: int
    examined: int
    by_detector: tuple[tuple[str, int], ...]
    sample: tuple[str, ...]  # ids of the first matching alerts


def apply(
    alerts: Iterable[Alert], exceptions: Sequence[AlertException], organisation: OrganisationMap
) -> tuple[list[Alert], list[AlertMark]]:
    """Split alerts into those correlation sees and marks for those an exception hides."""
    kept: list[Alert] = []
    marks: list[AlertMark] = []
    for alert in alerts:
        hit = [x for x in exceptions if x.covers(alert, organisation)]
        if not hit:
            kept.append(alert)
            continue
        alert_id = alert.id
        marks.extend(AlertMark(alert_id=alert_id, exception_id=x.id) for x in hit)
    return kept, marks


def preview(
    exception: AlertException,
    alerts: Sequence[Alert],
    organisation: OrganisationMap,
    sample: int = 10,
) -> Preview:
    """Count what ``exception`` would hide among ``alerts``, by detector, with sample ids."""
    hidden = [a for a in alerts if exception.covers(a, organisation)]
    counts = Counter(a.detector for a in hidden)
    return Preview(
        matched=len(hidden),
        examined=len(alerts),
        by_detector=tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        sample=tuple(a.id for a in hidden[:sample]),
    )


def expire(exception: AlertException, at: float) -> AlertException:
    """The exception ending at ``at`` (never later than it already ends)."""
    return replace(exception, expires=max(min(exception.expires, at), exception.created + 1e-6))


def audit(exception: AlertException, action: AuditAction, *, who: str, at: float) -> AuditRecord:
    """The audit record of ``action`` on ``exception``."""
    return AuditRecord(
        time=at, who=who, action=action, exception_id=exception.id, detail=describe(exception)
    )


def describe(exception: AlertException) -> str:
    """One line: kind, scope, owner, reason and expiry."""
    scope = ", ".join(f"{k}={v}" for k, v in _scope_key(exception.scope).items())
    return (
        f"{exception.kind.value} [{scope}] owner={exception.owner} "
        f"until {format_time(exception.expires)}: {exception.reason}"
    )


def to_document(record: AlertException | AuditRecord | AlertMark) -> dict[str, Any]:
    """A record as a JSON document for the stores (enums as their values)."""
    doc = asdict(record)
    if isinstance(record, AlertException | AuditRecord):
        doc["id"] = record.id
    plain: dict[str, Any] = json.loads(json.dumps(doc, default=str))
    return plain


def exception_from_document(doc: Mapping[str, Any]) -> AlertException:
    """Rebuild an exception from :func:`to_document`'s output."""
    return AlertException(
        kind=ExceptionKind(doc["kind"]),
        scope=Scope(**doc["scope"]),
        reason=doc["reason"],
        owner=doc["owner"],
        created=float(doc["created"]),
        expires=float(doc["expires"]),
    )


def audit_from_document(doc: Mapping[str, Any]) -> AuditRecord:
    """Rebuild an audit record from :func:`to_document`'s output."""
    return AuditRecord(
        time=float(doc["time"]),
        who=doc["who"],
        action=AuditAction(doc["action"]),
        exception_id=doc["exception_id"],
        detail=doc["detail"],
    )


def _scope_key(scope: Scope) -> dict[str, object]:
    names = ("detector", "source", "destination", "unit", "sensor", "starts", "ends")
    return {n: getattr(scope, n) for n in names if getattr(scope, n) is not None}


def _targets(alert: Alert) -> tuple[str, ...]:
    head = (alert.destination_ip,) if alert.destination_ip else ()
    return head + alert.destinations


def _inside(ip: str | None, net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    if not ip:
        return False
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return addr.version == net.version and addr in net
