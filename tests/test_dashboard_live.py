"""Live updates (server-sent events) and sensor health on the overview, over a real SQLite store.

Streams are read through the test client with a bounded iterator: the server's own lifetime
ends every stream, so a missing event fails the test instead of hanging it.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from correlator.organisation import OrganisationMap, Unit, UnitKind
from dashboard.live_alerts import AlertFeed, AlertTally, alerts_message
from dashboard.live_stream import LivePicture, SharedReads, StreamTiming, message, stream
from dashboard.queries import Viewer, live_picture, overview_with_picture
from detectors.alert import Severity
from nssa.errors import ConfigError
from nssa.serve import dashboard_server
from nssa.settings import load_settings
from nssa.stores.sqlite import SqliteStore
from tests.conftest import T0, build_alert, build_flow, build_incident
from tests.dashboard_scene import ORGANISATION as SCENE
from tests.dashboard_scene import fill
from tests.dashboard_users import make_app, signed_in
from tests.test_store_aggregation import CITY, COUNTY
from tests.test_store_aggregation import _incidents as aggregation_incidents

ORGANISATION = OrganisationMap(
    units=(
        Unit(code="city", name="三门峡市", kind=UnitKind.CITY),
        Unit(code="police", name="市公安局", kind=UnitKind.DEPARTMENT, parent="city"),
        Unit(code="lushi", name="卢氏县", kind=UnitKind.COUNTY, parent="city"),
        Unit(code="lushi-edu", name="卢氏县教育局", kind=UnitKind.DEPARTMENT, parent="lushi"),
    )
)
LIFETIME = 20.0  # seconds: the longest a stream read below can take before it fails


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "nssa.db") as opened:
        opened.put_incidents(
            [
                build_incident(id="inc-police", units=("police",), last_seen=T0 + 500),
                build_incident(id="inc-county", units=("lushi-edu",), last_seen=T0 + 100),
            ]
        )
        yield opened


@pytest.fixture
def app(store: SqliteStore) -> Flask:
    return make_app(
        store,
        {
            "organisation": ORGANISATION,
            "LIVE_POLL_SECONDS": 0.02,
            "LIVE_HEARTBEAT_SECONDS": 60.0,
            "LIVE_LIFETIME_SECONDS": LIFETIME,
        },
    )


def pictures(client: FlaskClient) -> Iterator[dict[str, int]]:
    """The pictures the stream sends, parsed, until the stream ends."""
    response = client.get("/events/stream", buffered=False)
    assert (response.status_code, response.mimetype) == (200, "text/event-stream")
    try:
        for chunk in response.iter_encoded():
            text = chunk.decode()
            if text.startswith("event: picture\n"):
                yield json.loads(text.split("data: ", 1)[1])
    finally:
        response.close()


def test_a_new_incident_is_streamed(app: Flask, store: SqliteStore) -> None:
    stream_ = pictures(signed_in(app, "analyst"))
    first = next(stream_)
    assert (first["incidents"], first["latest_ms"]) == (2, round((T0 + 500) * 1000))
    store.put_incidents([build_incident(id="inc-new", units=("police",), last_seen=T0 + 900)])
    # The next message is the changed picture (unchanged polls send nothing).
    changed = next(stream_)
    assert (changed["incidents"], changed["latest_ms"]) == (3, round((T0 + 900) * 1000))


def test_a_county_viewer_is_streamed_only_its_county(app: Flask, store: SqliteStore) -> None:
    stream_ = pictures(signed_in(app, "county-viewer"))
    assert next(stream_) == {
        "incidents": 1,
        "open_incidents": 1,
        "critical": 0,
        "latest_ms": round((T0 + 100) * 1000),
        "score": 40,
    }
    # One write: another unit's newer incident and one of the county's.
    store.put_incidents(
        [
            build_incident(id="inc-police-2", units=("police",), last_seen=T0 + 900),
            build_incident(id="inc-county-2", units=("lushi",), last_seen=T0 + 200),
        ]
    )
    changed = next(stream_)
    assert (changed["incidents"], changed["latest_ms"]) == (2, round((T0 + 200) * 1000))


def test_the_stream_needs_a_signed_in_user(app: Flask) -> None:
    response = app.test_client().get("/events/stream")
    assert response.status_code == 401


def test_live_pages_carry_their_picture_and_the_script(app: Flask) -> None:
    client = signed_in(app, "analyst")
    for path in ("/overview", "/incidents", "/screen"):
        html = client.get(path).get_data(as_text=True)
        assert 'data-incidents="2"' in html, path
        assert "/static/live.js" in html, path
    assert client.get("/static/live.js").status_code == 200


def test_the_stream_sends_only_changes_and_keeps_alive_until_its_lifetime() -> None:
    now = [0.0]
    shown = iter([1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2])

    def read() -> LivePicture:
        return LivePicture(incidents=next(shown), open_incidents=0, critical=0, latest_ms=0)

    def wait(seconds: float) -> None:
        now[0] += seconds

    sent = list(
        stream(
            read,
            StreamTiming(poll=1.0, heartbeat=3.0, lifetime=7.5),
            clock=lambda: now[0],
            wait=wait,
        )
    )
    picture = LivePicture(incidents=1, open_incidents=0, critical=0, latest_ms=0)
    assert sent == [
        "retry: 5000\n\n",
        message(picture),
        message(LivePicture(incidents=2, open_incidents=0, critical=0, latest_ms=0)),
        ": keep-alive\n\n",  # t=5: three seconds after the change at t=2
    ]
    assert now[0] == 7.0  # polled at 0..7, then stopped: an eighth poll would pass 7.5


def test_the_overview_flags_silent_sensors_for_city_viewers(app: Flask, store: SqliteStore) -> None:
    now = time.time()
    store.put_events(
        [
            build_flow(sensor="cloud-core", start=now - 30, src_port=40001),
            build_flow(sensor="cloud-core", start=now - 7200, src_port=40002),
            build_flow(sensor="lushi-tap", start=now - 3 * 3600, src_port=40003),
        ]
    )
    html = signed_in(app, "analyst").get("/overview").get_data(as_text=True)
    section = html.split('id="sensor-health"', 1)[1].split("</section>", 1)[0]
    rows = section.split("<tr class=")[1:]
    # The silent sensor comes first; the live one counts only its last hour.
    assert rows[0].startswith('"stale"') and "lushi-tap" in rows[0]
    assert rows[1].startswith('"reporting"') and "cloud-core" in rows[1]
    assert '<td class="num">1</td>' in rows[1]
    county = signed_in(app, "county-viewer").get("/overview").get_data(as_text=True)
    assert "sensor-health" not in county and "lushi-tap" not in county


def test_the_served_dashboard_streams_to_several_clients_at_once(store: SqliteStore) -> None:
    # A quick keep-alive: once a client hangs up, its server thread finds out within 50 ms.
    config = {"LIVE_POLL_SECONDS": 0.02, "LIVE_HEARTBEAT_SECONDS": 0.05}
    app = make_app(store, {"organisation": ORGANISATION, "TESTING": False, **config})
    cookie = app.session_interface.get_signing_serializer(app).dumps({"user": "analyst"})  # type: ignore[attr-defined]
    server = dashboard_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    opened: list[http.client.HTTPConnection] = []
    try:
        for _ in range(3):  # each stream stays open while the next one is asked for
            connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
            connection.request("GET", "/events/stream", headers={"Cookie": f"session={cookie}"})
            response = connection.getresponse()
            assert response.status == 200
            lines = iter(response.readline, b"")
            assert b"event: picture\n" in lines  # a blocked server would time out here
            assert json.loads(next(lines).decode().removeprefix("data: "))["incidents"] == 2
            opened.append(connection)
    finally:
        for connection in opened:
            connection.close()
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("table", "problem"),
    [("live_poll_seconds = 0", "above 0"), ("live_lifetime_seconds = 1.0", "at most")],
)
def test_live_timings_are_checked_when_settings_load(
    tmp_path: Path, table: str, problem: str
) -> None:
    path = tmp_path / "nssa.toml"
    path.write_text(f"[dashboard]\n{table}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert (caught.value.key, problem in caught.value.problem) == (
        "dashboard.live_poll_seconds",
        True,
    )


def test_live_timings_load_from_the_dashboard_table(tmp_path: Path) -> None:
    path = tmp_path / "nssa.toml"
    path.write_text("[dashboard]\nlive_poll_seconds = 2.5\n", encoding="utf-8")
    dashboard = load_settings(path).dashboard
    assert (dashboard.live_poll_seconds, dashboard.live_lifetime_seconds) == (2.5, 300.0)


def test_streams_of_the_same_units_share_one_read_per_interval() -> None:
    now = [0.0]
    reads: list[str] = []

    def read(name: str) -> Callable[[], LivePicture]:
        def counted() -> LivePicture:
            reads.append(name)
            return LivePicture(incidents=len(reads), open_incidents=0, critical=0, latest_ms=0)

        return counted

    shared = SharedReads(max_age=1.0, clock=lambda: now[0])
    city, county = None, frozenset({"lushi"})
    first = shared.get(city, read("city"))
    assert shared.get(city, read("city")) == first  # a second page within the interval
    shared.get(county, read("county"))  # other units are never served the city's picture
    now[0] = 1.0
    assert shared.get(city, read("city")).incidents == 3
    assert reads == ["city", "county", "city"]


@pytest.mark.parametrize("units", [None, COUNTY])
def test_the_streamed_picture_is_the_one_the_overview_renders(
    tmp_path: Path, units: frozenset[str] | None
) -> None:
    # Were they to differ, every page would show the banner at once with nothing new.
    viewer = Viewer("v", units)
    with SqliteStore(tmp_path / "nssa.db") as sqlite:
        sqlite.put_incidents(aggregation_incidents())
        overview, rendered = overview_with_picture(sqlite, viewer, CITY)
        streamed = live_picture(sqlite, viewer)
    assert overview.score > 0 and rendered.incidents > 0
    assert streamed == rendered
    assert (streamed.score, streamed.open_incidents) == (overview.score, overview.open_incidents)


def events(client: FlaskClient) -> Iterator[tuple[str, dict[str, int]]]:
    """Every event the stream sends (name and parsed data), until the stream ends."""
    response = client.get("/events/stream", buffered=False)
    try:
        for chunk in response.iter_encoded():
            text = chunk.decode()
            if text.startswith("event: "):
                name, data = text.removeprefix("event: ").split("\ndata: ", 1)
                yield name, json.loads(data)
    finally:
        response.close()


def test_new_alerts_are_streamed_by_severity_for_each_viewers_units(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "nssa.db") as sqlite:
        fill(sqlite)  # its alert was stored before any page opened: not new
        timing = {"LIVE_POLL_SECONDS": 0.02, "LIVE_LIFETIME_SECONDS": LIFETIME}
        app = make_app(sqlite, {"organisation": SCENE, **timing})
        city, county = events(signed_in(app, "analyst")), events(signed_in(app, "county-viewer"))
        assert next(city)[0] == next(county)[0] == "picture"
        sqlite.put_alerts(
            [
                build_alert(severity=Severity.CRITICAL, identifier="a", time=T0 + 70),
                build_alert(severity=Severity.HIGH, identifier="b", destination_ip="10.30.5.8"),
                build_alert(severity=Severity.HIGH, identifier="c", destination_ip="10.30.5.9"),
            ]
        )
        city_alerts = next(data for name, data in city if name == "alerts")
        county_alerts = next(data for name, data in county if name == "alerts")
    assert city_alerts == {"critical": 1, "high": 2, "medium": 0, "low": 0, "total": 3}
    # The county sees the alerts against its department's subnet, not the police bureau's.
    assert county_alerts == {"critical": 0, "high": 2, "medium": 0, "low": 0, "total": 2}


def test_an_alerts_event_carries_only_what_arrived_since_the_last_one() -> None:
    now = [0.0]
    tallies = iter(
        AlertTally(counts=c)
        for c in [(0, 0, 0, 0), (0, 0, 0, 0), (1, 0, 2, 0), (1, 0, 2, 0), (1, 3, 2, 1)]
    )

    def wait(seconds: float) -> None:
        now[0] += seconds

    def read() -> LivePicture:
        return LivePicture(incidents=1, open_incidents=0, critical=0, latest_ms=0)

    sent = list(
        stream(
            read,
            StreamTiming(poll=1.0, heartbeat=60.0, lifetime=3.5),
            alerts=lambda: next(tallies),
            clock=lambda: now[0],
            wait=wait,
        )
    )
    assert sent == [
        "retry: 5000\n\n",
        message(read()),
        alerts_message(AlertTally(counts=(1, 0, 2, 0))),  # low 1, high 2 at the second poll
        alerts_message(AlertTally(counts=(0, 3, 0, 1))),  # the fourth poll: only the new ones
    ]
    assert json.loads(sent[3].split("data: ", 1)[1]) == {
        "low": 0, "medium": 3, "high": 0, "critical": 1, "total": 4
    }  # fmt: skip


def test_the_overview_has_the_new_alerts_counters_hidden_until_some_arrive(app: Flask) -> None:
    html = signed_in(app).get("/overview").get_data(as_text=True)
    box = html.split('id="new-alerts"', 1)[1].split("</div>", 1)[0]
    assert box.startswith(" hidden>") and 'data-new-alerts="total">0<' in box
    assert all(f'data-new-alerts="{s.value}">0<' in box for s in Severity)
    assert "<script>" not in html  # the counters are updated by live.js, under the CSP


def test_the_alert_feed_catches_up_in_bounded_steps_before_counting(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "nssa.db") as sqlite:
        sqlite.put_alerts([build_alert(identifier=f"old-{n}", time=T0 + n) for n in range(7)])
        feed = AlertFeed(sqlite, SCENE, interval=0.0, page=2, max_pages=2)
        assert feed.tally(None) == AlertTally()  # read four of the seven: still catching up
        sqlite.put_alerts([build_alert(identifier=f"during-{n}") for n in range(3)])
        # Two more bounded reads reach the end; what arrived meanwhile was passed, not counted.
        assert feed.tally(None) == feed.tally(None) == AlertTally()
        sqlite.put_alerts([build_alert(identifier="new", severity=Severity.HIGH)])
        assert feed.tally(None).counts == (0, 0, 1, 0)
