"""Exceptions: scoped by detector, source, destination, unit, sensor and time; marks, not drops."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from correlator.exceptions import (
    AlertException,
    AlertMark,
    ExceptionKind,
    Scope,
    apply,
    expire,
    preview,
)
from correlator.organisation import OrganisationMap, Unit, UnitKind
from detectors.alert import Alert

T0 = 1_717_200_000.0
ORG = OrganisationMap(
    (
        Unit(code="smx", name="三门峡市", kind=UnitKind.CITY),
        Unit(
            code="cloud",
            name="市政务云",
            kind=UnitKind.ZONE,
            parent="smx",
            subnets=("10.10.0.0/16",),
        ),
        Unit(
            code="police",
            name="市公安局",
            kind=UnitKind.DEPARTMENT,
            parent="cloud",
            subnets=("10.10.2.0/24",),
        ),
    )
)


def exception(scope: Scope, expires: float = T0 + 86_400) -> AlertException:
    return AlertException(
        kind=ExceptionKind.ALLOW,
        scope=scope,
        reason="内部漏洞扫描器",
        owner="王工",
        created=T0,
        expires=expires,
    )


@pytest.mark.parametrize(
    ("scope", "hidden"),
    [
        (Scope(detector="portscan"), True),
        (Scope(detector="bruteforce"), False),
        (Scope(source="203.0.113.0/24"), True),
        (Scope(source="198.51.100.7"), False),
        (Scope(destination="10.10.2.15"), True),
        (Scope(unit="police"), True),
        (Scope(unit="cloud"), True),  # a unit covers the units below it
        (Scope(unit="smx", detector="ids"), False),
        (Scope(sensor="cloud-core"), True),
        (Scope(sensor="county-edge"), False),
        (Scope(detector="portscan", starts=T0 + 100), False),
        (Scope(detector="portscan", ends=T0 + 60), False),
        (Scope(detector="portscan", starts=T0, ends=T0 + 61), True),
    ],
)
def test_scope_fields(make_alert: Callable[..., Alert], scope: Scope, hidden: bool) -> None:
    assert exception(scope).covers(make_alert(), ORG) is hidden


def test_an_exception_needs_a_scope_reason_owner_and_expiry() -> None:
    with pytest.raises(ValueError, match="scope"):
        Scope(starts=T0)
    with pytest.raises(ValueError, match="reason"):
        dataclasses.replace(exception(Scope(detector="x")), reason=" ")
    with pytest.raises(ValueError, match="expires"):
        exception(Scope(detector="x"), expires=T0 + 400 * 86_400)
    with pytest.raises(ValueError, match="source"):
        Scope(source="not-an-address")


def test_apply_marks_hidden_alerts_and_keeps_the_rest(make_alert: Callable[..., Alert]) -> None:
    scanner = make_alert(source_ip="10.10.9.9")
    attacker = make_alert()
    rule = exception(Scope(source="10.10.9.9"))
    kept, marks = apply([scanner, attacker], [rule], ORG)
    assert (kept, marks) == ([attacker], [AlertMark(alert_id=scanner.id, exception_id=rule.id)])


def test_an_expired_exception_stops_hiding_new_alerts(make_alert: Callable[..., Alert]) -> None:
    rule = expire(exception(Scope(detector="portscan")), T0 + 30)
    before, after = make_alert(time=T0 + 10), make_alert(time=T0 + 60)
    assert (rule.covers(before, ORG), rule.covers(after, ORG), rule.id) == (
        True,
        False,
        exception(Scope(detector="portscan")).id,
    )


def test_preview_counts_by_detector(make_alert: Callable[..., Alert]) -> None:
    alerts = [make_alert(rule=f"r{n}") for n in range(3)] + [make_alert(detector="ids")]
    shown = preview(exception(Scope(destination="10.10.0.0/16")), alerts, ORG, sample=2)
    assert (shown.matched, shown.examined, shown.by_detector, len(shown.sample)) == (
        4,
        4,
        (("portscan", 3), ("ids", 1)),
        2,
    )
