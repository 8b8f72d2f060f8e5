"""Attacker data from real packets in a real Chromium: a crafted capture whose URIs, User-Agents
and DNS names carry markup is replayed through the whole pipeline, and the pages that show what
it left (incidents, alert details, the alerts explorer) must show it as text and run none of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

from correlator.storage import AlertQuery, IncidentQuery
from detectors.alert import Alert
from nssa.pipeline import replay
from nssa.settings import Settings
from nssa.stores.sqlite import SqliteStore
from sensors.events import HttpRequest
from tests.browser import Misbehaviour, login, needs_chromium, serving, shot
from tests.conftest import T0
from tests.dashboard_scene import ORGANISATION
from tests.dashboard_users import make_app
from tests.hostile_capture import (
    AGENTS,
    DNS_NAMES,
    DNS_ZONE,
    URI_PAYLOADS,
    URIS,
    write_hostile_capture,
)

pytestmark = needs_chromium

INJECTED = (
    "img[src=x], svg[onload], script:not([src]), [onerror], [onload],"
    ' a[href^="javascript:" i], iframe, object, embed'
)
"""Elements and attributes the payloads would add if any reached the page as markup (the
dashboard's own pages have none: its CSP forbids inline script)."""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    """A store filled by replaying the hostile capture, as ``nssa replay`` does."""
    folder = tmp_path_factory.mktemp("hostile")
    capture = write_hostile_capture(folder / "hostile.pcap", T0 + 7200)
    with SqliteStore(folder / "nssa.db") as opened:
        replay([capture], Settings(organisation=ORGANISATION), opened, sensor="cloud-core")
        yield opened


@pytest.fixture(scope="module")
def base_url(store: SqliteStore) -> Iterator[str]:
    """The dashboard over the replayed store, served from a thread."""
    with serving(make_app(store, {"organisation": ORGANISATION, "TESTING": False})) as url:
        yield url


def raised(store: SqliteStore, rule: str) -> Alert:
    """The one alert of ``rule`` the replay raised."""
    [alert] = [a for a in store.alerts(AlertQuery(limit=100)) if a.rule == rule]
    return alert


def incident_of(store: SqliteStore, alert: Alert) -> str:
    """The id of the incident the correlator put ``alert`` in."""
    [found] = [i for i in store.incidents(IncidentQuery(limit=100)) if alert.id in i.alert_ids]
    return found.id


def assert_inert(page: Page, misbehaviour: Misbehaviour) -> None:
    """Nothing of the attacker's became markup, and nothing ran or was blocked from running."""
    assert page.locator(INJECTED).count() == 0
    assert misbehaviour.all() == []


def test_the_capture_carried_every_payload_into_the_store(store: SqliteStore) -> None:
    web, dns = raised(store, "webattack.xss"), raised(store, "dnstunnel.exfiltration")
    requests = [e for e in store.events_by_id(web.evidence) if isinstance(e, HttpRequest)]
    samples = {v for k, v in web.facts.items() if k.startswith("sample_uri_")}
    names = {v for k, v in dns.facts.items() if k.startswith("sample_name_")}
    assert samples == set(URIS)
    assert {r.user_agent for r in requests} == set(AGENTS)  # stored; no page shows them yet
    assert names and names <= set(DNS_NAMES)
    assert dns.facts["domain"] == DNS_ZONE


def test_web_payloads_show_as_text_on_the_incident_and_the_alert(
    page: Page, base_url: str, store: SqliteStore, misbehaviour: Misbehaviour
) -> None:
    web = raised(store, "webattack.xss")
    login(page, base_url, "analyst")
    page.goto(f"{base_url}/incidents/{incident_of(store, web)}")
    for uri in URIS:
        expect(page.locator("body")).to_contain_text(uri)
    shot(page, "capture-web-incident")
    assert_inert(page, misbehaviour)
    page.goto(f"{base_url}/alerts/{web.id}")
    for uri in URIS:
        expect(page.locator("table.facts")).to_contain_text(uri)
    # The cited requests, resolved from the store: each User-Agent shows as text.
    for agent in AGENTS:
        expect(page.locator("table.evidence")).to_contain_text(agent)
    shot(page, "capture-web-alert-evidence")
    assert_inert(page, misbehaviour)


def test_dns_payloads_show_as_text_on_the_incident_and_the_alert(
    page: Page, base_url: str, store: SqliteStore, misbehaviour: Misbehaviour
) -> None:
    dns = raised(store, "dnstunnel.exfiltration")
    names = [str(v) for k, v in sorted(dns.facts.items()) if k.startswith("sample_name_")]
    login(page, base_url, "analyst")
    page.goto(f"{base_url}/incidents/{incident_of(store, dns)}")
    for name in names:
        expect(page.locator("body")).to_contain_text(name)
    shot(page, "capture-dns-incident")
    assert_inert(page, misbehaviour)
    page.goto(f"{base_url}/alerts/{dns.id}")
    expect(page.locator("p.explanation")).to_contain_text(f"under {DNS_ZONE}")
    for name in names:
        expect(page.locator("table.facts")).to_contain_text(name)
    assert_inert(page, misbehaviour)


def test_the_alerts_explorer_shows_payloads_and_filter_values_as_text(
    page: Page, base_url: str, misbehaviour: Misbehaviour
) -> None:
    login(page, base_url, "analyst")
    page.goto(f"{base_url}/alerts")
    expect(page.locator("table.alerts tbody tr")).to_have_count(2)
    expect(page.locator("table.alerts")).to_contain_text(f"under {DNS_ZONE}")
    assert_inert(page, misbehaviour)
    # Filter values come back in the form and in every pivot link: a reflected payload.
    wanted = {"detector": URI_PAYLOADS[1], "rule": URI_PAYLOADS[0], "unit": URI_PAYLOADS[3]}
    page.goto(f"{base_url}/alerts?{urlencode(wanted)}")
    for name, payload in wanted.items():
        expect(page.locator(f"form.filters [name={name}]")).to_have_value(payload)
    expect(page.locator("table.alerts")).to_have_count(0)
    assert_inert(page, misbehaviour)
