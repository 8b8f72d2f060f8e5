"""The alerts explorer, the alert page, the assets page and superseded incidents (Flask client)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from correlator.aggregation import AlertAggregation, IncidentAggregation
from correlator.incident import IncidentStatus
from correlator.storage import IncidentQuery
from dashboard.explorer import AlertFilter, alert_filter, bucket_for, parse_local
from dashboard.i18n import TIMEZONE
from detectors.alert import Alert
from nssa.stores.sqlite import SqliteStore
from tests.conftest import T0, build_alert, build_incident
from tests.dashboard_scene import ORGANISATION, XSS
from tests.dashboard_users import make_app, signed_in

POLICE = build_alert(time=T0 + 60)
LUSHI = build_alert(
    time=T0 + 120,
    first_seen=T0 + 100,
    last_seen=T0 + 120,
    detector="bruteforce",
    rule="ssh_guessing",
    source_ip="198.51.100.23",
    destination_ip="10.30.5.8",
    identifier="bruteforce:198.51.100.23:10.30.5.8",
    explanation="198.51.100.23 在 60 秒内尝试登录 10.30.5.8 共 40 次",
)
HOSTILE = build_alert(
    time=T0 + 90,
    detector="webattack",
    rule="http_xss",
    explanation=f"GET /search?q={XSS}",
    facts={"uri": f"/search?q={XSS}", "user_agent": XSS, "dns_name": f"{XSS}.example"},
    evidence=(f"pcap:{XSS}",),
    identifier="webattack:xss",
)
LONE = build_alert(
    time=T0 + 30,
    source_ip="192.0.2.9",
    destination_ip="10.99.0.1",
    identifier="portscan:192.0.2.9:10.99.0.1",
)
"""Newest first: LUSHI, HOSTILE, POLICE, LONE (which no incident holds)."""


def ids(*alerts: Alert) -> list[str]:
    """The ids of ``alerts`` in the given order."""
    return [a.id for a in alerts]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "nssa.db") as opened:
        opened.put_alerts([POLICE, LUSHI, HOSTILE, LONE])
        opened.put_incidents(
            [
                build_incident(id="inc-police", risk_score=80, alert_ids=(POLICE.id,)),
                build_incident(
                    id="inc-lushi",
                    risk_score=60,
                    attackers=("198.51.100.23",),
                    victims=("10.30.5.8",),
                    units=("lushi-edu",),
                    first_seen=T0 + 100,
                    last_seen=T0 + 120,
                    alert_ids=(LUSHI.id,),
                ),
                build_incident(id="inc-xss", risk_score=30, alert_ids=(HOSTILE.id,)),
                build_incident(
                    id="inc-unknown",
                    risk_score=20,
                    victims=("10.99.0.7",),
                    first_seen=T0 + 5,
                    last_seen=T0 + 50,
                    status=IncidentStatus.RESOLVED,
                ),
                build_incident(id="inc-old", risk_score=90, superseded_by="inc-police"),
            ]
        )
        yield opened


@pytest.fixture
def app(store: SqliteStore) -> Flask:
    return make_app(store, {"organisation": ORGANISATION, "PER_PAGE": 2})


def listed(app: Flask, url: str, user: str = "analyst") -> list[str]:
    """The alert ids a list page links to, in page order."""
    response = signed_in(app, user).get(url)
    assert response.status_code == 200
    return re.findall(r'href="/alerts/([\w-]+)"', response.get_data(as_text=True))


def test_alerts_are_listed_newest_first_and_paged(app: Flask) -> None:
    assert (listed(app, "/alerts"), listed(app, "/alerts?page=2")) == (
        ids(LUSHI, HOSTILE),
        ids(POLICE, LONE),
    )


def test_paging_links_keep_the_filters(app: Flask) -> None:
    page = signed_in(app).get("/alerts?until=2024-06-01T08:03").get_data(as_text=True)
    assert f'href="/alerts?page=2&amp;until=@{T0 + 180:.0f}"' in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("source=198.51.100.23", [LUSHI]),
        ("destination=10.99.0.1", [LONE]),
        ("detector=portscan", [POLICE, LONE]),
        ("rule=http_xss", [HOSTILE]),
        ("unit=lushi", [LUSHI]),
        ("unit=police", [HOSTILE, POLICE]),
        ("since=2024-06-01T08:01&until=2024-06-01T08:02", [HOSTILE, POLICE]),
        ("source=+&detector=", [LUSHI, HOSTILE]),  # blanks filter nothing
    ],
)
def test_filters_select_the_alerts(app: Flask, query: str, expected: list[Alert]) -> None:
    assert listed(app, f"/alerts?{query}") == ids(*expected)


def test_each_value_in_a_row_pivots_on_it(app: Flask) -> None:
    page = signed_in(app).get("/alerts?detector=bruteforce").get_data(as_text=True)
    pivots = set(re.findall(r'data-pivot="(\w+)" href="([^"]+)"', page))
    assert {
        ("source", "/alerts?source=198.51.100.23&amp;detector=bruteforce"),
        ("destination", "/alerts?destination=10.30.5.8&amp;detector=bruteforce"),
        ("rule", "/alerts?detector=bruteforce&amp;rule=ssh_guessing"),
    } <= pivots


def test_the_side_panel_counts_in_the_store(store: SqliteStore, app: Flask) -> None:
    page = signed_in(app).get("/alerts").get_data(as_text=True)
    panel = page.split('<aside class="panel">', 1)[1]
    counted = store.alert_stats(AlertAggregation(since=T0, until=T0 + 121))
    sources = re.findall(r'data-pivot="source"[^>]*>([^<]+)</a></th><td class="num">(\d+)', panel)
    assert sources == [(c.key, str(c.count)) for c in counted.sources]
    # A day ending at the newest alert, in hours aligned on the clock: 23 whole, 2 partial.
    assert panel.count("<rect ") == 25
    bars = re.findall(r'<a class="bucket" href="/alerts\?since=@(\d+)&amp;until=@(\d+)"', panel)
    assert bars[-1] == (f"{T0:.0f}", f"{T0 + 3600:.0f}")  # a bar pivots on its own hour


def test_a_pivot_narrows_the_side_panel_too(app: Flask) -> None:
    page = signed_in(app).get("/alerts?detector=portscan").get_data(as_text=True)
    panel = page.split('<aside class="panel">', 1)[1]
    detectors = re.findall(r'data-pivot="detector"[^>]*>([^<]+)</a>', panel)
    sources = re.findall(r'data-pivot="source"[^>]*>([^<]+)</a>', panel)
    assert (detectors, sorted(sources)) == (["portscan"], ["192.0.2.9", "203.0.113.7"])


def test_a_county_viewer_sees_only_its_units_alerts(app: Flask) -> None:
    page = signed_in(app, "county-viewer").get("/alerts").get_data(as_text=True)
    assert re.findall(r'href="/alerts/([\w-]+)"', page) == ids(LUSHI)
    assert "203.0.113.7" not in page and "portscan" not in page  # nor in the side panel


def test_a_county_viewer_cannot_pivot_into_another_unit(app: Flask) -> None:
    assert listed(app, "/alerts?unit=police", "county-viewer") == []


@pytest.mark.parametrize(
    ("user", "alert", "status"),
    [
        ("county-viewer", LUSHI, 200),
        ("county-viewer", POLICE, 404),
        ("police-viewer", LUSHI, 404),
        ("police-viewer", LONE, 404),  # in no incident: a unit viewer cannot place it
        ("analyst", LONE, 200),
        ("analyst", build_alert(identifier="never stored"), 404),
    ],
)
def test_opening_an_alert_is_scoped(app: Flask, user: str, alert: Alert, status: int) -> None:
    assert signed_in(app, user).get(f"/alerts/{alert.id}").status_code == status


def test_an_alert_page_shows_its_facts_escaped_and_links_its_incident(app: Flask) -> None:
    page = signed_in(app).get(f"/alerts/{HOSTILE.id}").get_data(as_text=True)
    assert "<script>" not in page and "<img" not in page
    assert page.count("&lt;script&gt;window.nssaXss = 1;") == 5  # explanation, 3 facts, evidence
    assert '<th scope="row"><code>user_agent</code></th>' in page
    assert 'href="/incidents/inc-xss"' in page


def test_an_alert_page_says_when_no_incident_holds_it(app: Flask) -> None:
    page = signed_in(app).get(f"/alerts/{LONE.id}?lang=en").get_data(as_text=True)
    assert "Not part of an incident yet" in page and "/incidents/" not in page.split("<main>")[1]


def test_the_explorer_speaks_english_on_request(app: Flask) -> None:
    page = signed_in(app).get("/alerts?lang=en").get_data(as_text=True)
    assert "<h1>Alerts explorer</h1>" in page and 'href="/assets">Assets</a>' in page


def test_assets_list_units_with_open_incidents_and_undeclared_hosts(app: Flask) -> None:
    page = signed_in(app).get("/assets").get_data(as_text=True)
    opened = dict(re.findall(r'data-unit="([\w-]+)">.*?<td class="num open">(\d+)', page, re.S))
    # inc-old is absorbed and inc-unknown resolved: neither is open work.
    assert opened == {"city": "0", "police": "2", "lushi": "0", "lushi-edu": "1"}
    undeclared = re.findall(r'<td class="ip"><a href="/alerts\?destination=([\d.]+)"', page)
    assert undeclared == ["10.99.0.7"]


def test_a_county_viewer_sees_only_its_assets(app: Flask) -> None:
    page = signed_in(app, "county-viewer").get("/assets").get_data(as_text=True)
    assert re.findall(r'data-unit="([\w-]+)"', page) == ["lushi", "lushi-edu"]
    assert "10.99.0.7" not in page and "10.10.2.0/24" not in page


def test_superseded_incidents_leave_lists_and_counts(store: SqliteStore, app: Flask) -> None:
    page = signed_in(app).get("/incidents").get_data(as_text=True)
    standing = store.incidents(IncidentQuery(superseded=False))
    absorbed = store.incidents(IncidentQuery(superseded=True))
    stats = store.incident_stats(IncidentAggregation())
    assert "inc-old" not in page
    assert ([i.id for i in absorbed], len(standing), stats.total) == (["inc-old"], 4, 4)


def test_a_superseded_incident_points_to_its_survivor(app: Flask) -> None:
    page = signed_in(app).get("/incidents/inc-old").get_data(as_text=True)
    assert '<p class="superseded">' in page and 'href="/incidents/inc-police"' in page


def test_query_strings_become_filters() -> None:
    wanted = alert_filter(
        {"source": " 10.0.0.1 ", "since": "2024-06-01T08:00", "until": "x"}, TIMEZONE
    )
    assert wanted == AlertFilter(source="10.0.0.1", since=T0)
    assert wanted.args(rule="r", source=None) == {"rule": "r", "since": f"@{T0:.0f}"}
    assert parse_local(f"@{T0:.0f}", TIMEZONE) == T0


@pytest.mark.parametrize(("span", "bucket"), [(3600, 300), (86400, 3600), (10**9, 604800)])
def test_the_histogram_bucket_fits_the_span(span: float, bucket: int) -> None:
    assert bucket_for(span) == bucket
