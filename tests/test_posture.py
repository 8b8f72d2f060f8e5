"""City picture: hourly posture per unit and city, trend, unknown assets."""

from __future__ import annotations

from collections.abc import Callable

from correlator.incident import Incident, IncidentStatus
from correlator.posture import CITY, Direction, PosturePoint, posture, trends, unknown_assets
from detectors.alert import Severity
from sensors.events import Flow
from tests.test_exceptions import ORG

H = 3600.0
T0 = 1_717_200_000.0  # on the hour


def test_hourly_posture_rolls_units_up_to_their_parents(
    make_incident: Callable[..., Incident],
) -> None:
    incidents = [
        make_incident(id="a", units=("police",), risk_score=70, first_seen=T0, last_seen=T0 + 10),
        make_incident(
            id="b",
            units=("cloud",),
            risk_score=40,
            severity=Severity.CRITICAL,
            first_seen=T0 + H,
            last_seen=T0 + H + 5,
        ),
        make_incident(
            id="fp",
            units=("police",),
            risk_score=99,
            status=IncidentStatus.FALSE_POSITIVE,
            first_seen=T0,
            last_seen=T0 + 5,
        ),
    ]
    points = posture(incidents, ORG, since=T0, until=T0 + 2 * H)
    table = {(p.scope, p.hour - T0): (p.risk, p.incidents, p.critical) for p in points}
    assert table == {
        (CITY, 0): (70, 1, 0),
        (CITY, H): (40, 1, 1),
        ("smx", 0): (70, 1, 0),
        ("smx", H): (40, 1, 1),
        ("cloud", 0): (70, 1, 0),
        ("cloud", H): (40, 1, 1),
        ("police", 0): (70, 1, 0),
        ("police", H): (0, 0, 0),
    }


def test_trend_compares_the_last_hour_with_the_ones_before() -> None:
    series = [
        PosturePoint(scope="x", hour=n * H, risk=r, incidents=1, critical=0)
        for n, r in enumerate([10, 20, 60])
    ]
    steady = [
        PosturePoint(scope="y", hour=n * H, risk=30, incidents=1, critical=0) for n in range(3)
    ]
    assert [(t.scope, t.baseline, t.direction) for t in trends(series + steady)] == [
        ("x", 15.0, Direction.WORSE),
        ("y", 30.0, Direction.FLAT),
    ]


def test_unknown_assets_are_private_addresses_no_unit_owns(
    make_flow: Callable[..., Flow],
) -> None:
    flows = [
        make_flow(src_ip="10.99.0.7", dst_ip="10.10.2.15"),  # 10.99/16 is on no unit's list
        make_flow(src_ip="10.99.0.7", dst_ip="8.8.8.8", start=T0 + 50, end=T0 + 60),
        make_flow(src_ip="127.0.0.1", dst_ip="10.10.2.15"),
    ]
    (asset,) = unknown_assets(flows, ORG)
    assert (asset.ip, asset.flows, asset.last_seen) == ("10.99.0.7", 2, T0 + 60)
