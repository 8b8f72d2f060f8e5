"""The alert page resolves the records an alert cites and shows them, escaped, in both stores."""

from __future__ import annotations

import re

from correlator.storage import Store
from dashboard.explorer import AlertDetail
from dashboard.queries import EVIDENCE_SHOWN, Viewer, alert_detail, cited_records
from sensors.events import DnsQuery, HttpRequest, Transport
from tests.conftest import T0, build_alert, build_flow, build_incident
from tests.dashboard_scene import ORGANISATION, XSS
from tests.dashboard_users import make_app, signed_in

FLOW = build_flow(src_ip="203.0.113.7", dst_ip="10.10.2.15", dst_port=80)
REQUEST = HttpRequest(
    time=T0 + 1,
    sensor="cloud-core",
    src_ip="203.0.113.7",
    src_port=51000,
    dst_ip="10.10.2.15",
    dst_port=80,
    method="GET",
    host="portal.example",
    uri=f"/search?q={XSS}",
    user_agent=XSS,
    status=200,
)
QUERY = DnsQuery(
    time=T0 + 2,
    sensor="cloud-core",
    src_ip="10.10.2.15",
    src_port=53000,
    dst_ip="10.10.0.53",
    dst_port=53,
    transport=Transport.UDP,
    query=f"{XSS}.example",
    qtype="TXT",
    rcode="NXDOMAIN",
)
MISSING = "f-never-stored"
ALERT = build_alert(
    detector="webattack",
    rule="http_xss",
    identifier="webattack:evidence",
    evidence=(QUERY.id, MISSING, FLOW.id, REQUEST.id),
)


def _filled(store: Store) -> Store:
    store.put_events([FLOW, REQUEST, QUERY])
    store.put_alerts([ALERT])
    store.put_incidents([build_incident(id="inc-evidence", alert_ids=(ALERT.id,))])
    return store


def test_cited_records_come_back_typed_in_the_cited_order(store: Store) -> None:
    assert cited_records(_filled(store), ALERT) == (QUERY, FLOW, REQUEST)


def test_ids_the_store_lacks_are_listed_as_unresolved(store: Store) -> None:
    detail = alert_detail(_filled(store), Viewer("analyst", None), ALERT.id)
    assert isinstance(detail, AlertDetail)
    assert detail.unresolved == (MISSING,)


def test_only_the_first_cited_records_are_resolved() -> None:
    class Counting:
        asked: tuple[str, ...] = ()

        def events_by_id(self, ids: tuple[str, ...]) -> list[object]:
            self.asked = tuple(ids)
            return []

    many = build_alert(evidence=tuple(f"f-{n}" for n in range(EVIDENCE_SHOWN + 25)))
    counting = Counting()
    assert cited_records(counting, many) == ()  # type: ignore[arg-type]
    assert len(counting.asked) == EVIDENCE_SHOWN


def test_the_alert_page_shows_each_record_escaped(store: Store) -> None:
    app = make_app(_filled(store), {"organisation": ORGANISATION})
    page = signed_in(app).get(f"/alerts/{ALERT.id}?lang=en").get_data(as_text=True)
    assert "<script>" not in page and "<img" not in page
    rows = re.findall(r'<tr class="record-(\w+)">', page)
    assert rows == ["dns", "flow", "http"]
    escaped = "&lt;script&gt;window.nssaXss = 1;"
    # DNS name, URI and user agent, each once in the evidence table.
    assert page.split('<table class="evidence">')[1].count(escaped) == 3
    assert "User agent" in page and "NXDOMAIN" in page
    assert "out 12 packets / 1400 bytes, back 10 packets / 9000 bytes" in page
    assert f"<code>{MISSING}</code>" in page
