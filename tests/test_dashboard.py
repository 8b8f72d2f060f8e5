"""The dashboard over a real SQLite store: pages, languages, escaping, API and headers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from correlator.exceptions import AuditAction
from correlator.incident import Incident, IncidentStatus
from correlator.organisation import OrganisationMap, Unit, UnitKind
from correlator.posture import Direction
from dashboard import SECURITY_HEADERS
from dashboard.catalogue import catalogue_path, read_catalogue
from dashboard.i18n import BABEL_LOCALES
from dashboard.summary import stage_order
from dashboard.users import Role
from detectors.alert import Alert, Severity
from detectors.attack import Tactic
from nssa.stores.sqlite import SqliteStore
from tests.dashboard_users import PASSWORD, make_app, signed_in

SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
TEMPLATES = Path(__file__).parent.parent / "dashboard" / "templates"

ORGANISATION = OrganisationMap(
    units=(
        Unit(
            code="police",
            name="市公安局",
            name_en="Municipal Public Security Bureau",
            kind=UnitKind.DEPARTMENT,
            subnets=("10.10.2.0/24",),
        ),
    )
)


@pytest.fixture
def store(
    tmp_path: Path, make_alert: Callable[..., Alert], make_incident: Callable[..., Incident]
) -> Iterator[SqliteStore]:
    """A store holding a scan-and-guess incident and an incident full of markup."""
    scan = make_alert(rule="vertical_scan")
    guess = make_alert(
        time=1_717_200_090.0,
        detector="bruteforce",
        rule="ssh_password_guessing",
        severity=Severity.HIGH,
        tactic=Tactic.CREDENTIAL_ACCESS,
        technique="T1110.001",
        explanation="203.0.113.7 在 60 秒内对 10.10.2.15 的 SSH 登录失败 30 次",
        facts={"failures": 30, "window_seconds": 60.0},
    )
    hostile = make_alert(rule=SCRIPT, explanation=SCRIPT, facts={SCRIPT: SCRIPT})
    with SqliteStore(tmp_path / "nssa.db") as opened:
        opened.put_alerts([scan, guess, hostile])
        opened.put_incidents(
            [
                make_incident(
                    id="inc-scan",
                    risk_score=80,
                    alert_ids=(scan.id, guess.id),
                    alert_count=2,
                    tactics=(Tactic.RECONNAISSANCE, Tactic.CREDENTIAL_ACCESS),
                ),
                make_incident(
                    id="inc-hostile",
                    title=SCRIPT,
                    risk_score=10,
                    attackers=(SCRIPT,),
                    alert_ids=(hostile.id,),
                    status=IncidentStatus.INVESTIGATING,
                ),
            ]
        )
        yield opened


@pytest.fixture
def app(store: SqliteStore) -> Flask:
    return make_app(store, {"organisation": ORGANISATION})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return signed_in(app)


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    """GET ``url``, check the status and return the body as text."""
    response = client.get(url)
    assert response.status_code == status
    return response.get_data(as_text=True)


def test_root_redirects_to_the_posture_overview(client: FlaskClient) -> None:
    response = client.get("/")
    assert (response.status_code, response.location) == (302, "/overview")


def test_list_is_chinese_by_default(client: FlaskClient) -> None:
    body = page(client, "/incidents")
    expected = [
        '<html lang="zh-CN">',
        "安全事件",
        "风险分",
        "扫描探测：203.0.113.7 → 10.10.2.15",  # rendered from the kind, not the stored title
        "市公安局",
        "侦察",
        "凭据访问",
        "调查中",
        "2024-06-01 08:00:00",  # T0 in Beijing time
    ]
    assert [text for text in expected if text not in body] == []


def test_lang_en_switches_to_english_and_is_remembered(client: FlaskClient) -> None:
    first = client.get("/incidents?lang=en")
    later = page(client, "/incidents")
    expected = [
        '<html lang="en">',
        "Risk score",
        "Municipal Public Security Bureau",
        "Reconnaissance",
        "Investigating",
    ]
    assert "nssa_lang=en" in first.headers["Set-Cookie"]
    assert [text for text in expected if text not in later] == []


def test_unknown_language_falls_back_to_chinese(client: FlaskClient) -> None:
    body = page(client, "/incidents?lang=xx")
    assert '<html lang="zh-CN">' in body


def test_units_show_codes_without_an_organisation_map(store: SqliteStore) -> None:
    body = page(signed_in(make_app(store)), "/incidents")
    assert "police" in body and "市公安局" not in body


def test_list_is_ranked_and_paged(store: SqliteStore) -> None:
    client = signed_in(make_app(store, {"PER_PAGE": 1}))
    first, second = page(client, "/incidents"), page(client, "/incidents?page=2")
    assert ("inc-scan" in first, "inc-hostile" in first, 'rel="next"' in first) == (
        True,
        False,
        True,
    )
    assert ("inc-hostile" in second, 'rel="prev"' in second, 'rel="next"' in second) == (
        True,
        True,
        False,
    )


def test_unusable_page_numbers_mean_the_first_page(client: FlaskClient) -> None:
    assert "inc-scan" in page(client, "/incidents?page=-3") + page(client, "/incidents?page=x")


def test_empty_store_says_so(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "empty.db") as empty:
        assert "暂无安全事件" in page(signed_in(make_app(empty)), "/incidents")


def test_detail_shows_fields_risk_factors_and_alerts(client: FlaskClient) -> None:
    body = page(client, "/incidents/inc-scan")
    expected = [
        "inc-scan",
        "criticality",
        "vertical_scan",
        "ssh_password_guessing",
        "高危",
        "203.0.113.7 在 60 秒内对 10.10.2.15 的 SSH 登录失败 30 次",
        "203.0.113.7 在 300 秒内探测了 10.10.2.15 的 3 个端口",
        "failures",
        "T1110.001",
    ]
    assert [text for text in expected if text not in body] == []


@pytest.mark.parametrize("url", ["/incidents", "/incidents/inc-hostile"])
def test_attacker_controlled_text_is_escaped(client: FlaskClient, url: str) -> None:
    body = page(client, url)
    assert SCRIPT not in body and ESCAPED_SCRIPT in body


def test_unknown_incident_is_a_404_page(client: FlaskClient) -> None:
    body = page(client, "/incidents/inc-nope", status=404)
    assert "未找到" in body


def test_unknown_route_is_a_404_page_in_english_when_asked(client: FlaskClient) -> None:
    assert "Not found" in page(client, "/nowhere?lang=en", status=404)


def test_api_lists_incident_summaries(client: FlaskClient) -> None:
    body = client.get("/api/incidents").get_json()
    first = body["incidents"][0]
    assert set(first) >= {
        "id",
        "title",
        "status",
        "risk_score",
        "attackers",
        "victims",
        "units",
        "tactics",
        "first_seen",
        "last_seen",
        "alert_count",
    }
    assert (first["id"], first["tactic_ids"], first["first_seen"], body["has_next"]) == (
        "inc-scan",
        ["TA0043", "TA0006"],
        "2024-06-01T00:00:00.000000Z",
        False,
    )


def test_api_detail_has_alerts_and_unknown_id_is_json_404(client: FlaskClient) -> None:
    detail = client.get("/api/incidents/inc-scan").get_json()
    missing = client.get("/api/incidents/inc-nope")
    assert sorted(alert["rule"] for alert in detail["alerts"]) == [
        "ssh_password_guessing",
        "vertical_scan",
    ]
    assert (missing.status_code, missing.get_json()["error"]) == (404, "incident not found")


def test_healthz_follows_the_store(client: FlaskClient, store: SqliteStore) -> None:
    healthy = client.get("/healthz")
    store.close()
    broken = client.get("/healthz")
    assert (healthy.status_code, broken.status_code) == (200, 503)


@pytest.mark.parametrize(
    "url", ["/incidents", "/incidents/inc-scan", "/incidents/nope", "/api/incidents", "/healthz"]
)
def test_security_headers_on_every_response(client: FlaskClient, url: str) -> None:
    headers = client.get(url).headers
    assert {name: headers.get(name) for name in SECURITY_HEADERS} == dict(SECURITY_HEADERS)
    assert "default-src 'self'" in headers["Content-Security-Policy"]


def test_stylesheet_is_served_locally(client: FlaskClient) -> None:
    response = client.get("/static/nssa.css")
    assert (response.status_code, response.headers["X-Content-Type-Options"]) == (200, "nosniff")


def test_every_template_key_is_in_the_catalogue_in_every_language() -> None:
    used = {
        key
        for template in TEMPLATES.glob("*.html")
        for key in re.findall(r"_\('([\w.]+)'", template.read_text(encoding="utf-8"))
    }
    labels = {f"status.{s}" for s in IncidentStatus} | {f"severity.{s}" for s in Severity}
    labels |= {f"tactic.{t}" for t in Tactic} | {f"stage.{s}" for s in stage_order()}
    labels |= {f"direction.{d}" for d in Direction} | {f"role.{r}" for r in Role}
    used = {key for key in used if not key.endswith(".")}  # prefixes of the labels above
    catalogues = [read_catalogue(catalogue_path(locale)) for locale in BABEL_LOCALES.values()]
    incomplete = [
        key
        for key in sorted(used | labels)
        if not all(key in catalogue for catalogue in catalogues)
    ]
    assert (len(used) > 30, incomplete) == (True, [])


def test_kill_chain_titles_follow_the_page_language(tmp_path: Path) -> None:
    from tests.conftest import build_incident

    store = SqliteStore(tmp_path / "k.db")
    incident = build_incident(
        id="inc-chain", kind="killchain.guessing_then_login", title="stored English title"
    )
    store.put_incidents([incident])
    client = signed_in(make_app(store))
    chinese = client.get("/incidents").get_data(as_text=True)
    english = client.get("/incidents?lang=en").get_data(as_text=True)
    store.close()
    assert "疑似失陷（暴力破解后登录成功）：203.0.113.7 → 10.10.2.15" in chinese
    assert "Likely compromise (password guessing, then a login): 203.0.113.7" in english


def form_client(app: Flask) -> tuple[FlaskClient, str]:
    """A fresh client that has loaded the login form, and the form's CSRF token."""
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as session:
        return client, str(session["csrf"])


def test_sign_ins_failures_and_sign_outs_are_audited(app: Flask, store: SqliteStore) -> None:
    client, token = form_client(app)
    wrong = client.post("/login", data={"name": "analyst", "password": "?", "csrf_token": token})
    login = {"name": "analyst", "password": PASSWORD, "csrf_token": token}
    right = client.post("/login", data=login)
    with client.session_transaction() as session:
        token = session["csrf"]  # a new session at sign-in: a new token
    out = client.post("/logout", data={"csrf_token": token})
    assert (wrong.status_code, right.status_code, out.status_code) == (401, 302, 302)
    trail = [(r.action, r.who, r.exception_id) for r in reversed(store.audit_records())]
    assert trail == [
        (AuditAction.SIGN_IN_FAILED, "analyst", "user:analyst"),
        (AuditAction.SIGNED_IN, "analyst", "user:analyst"),
        (AuditAction.SIGNED_OUT, "analyst", "user:analyst"),
    ]
    assert all(r.detail.startswith("from ") for r in store.audit_records())


def test_a_sign_in_record_keeps_only_the_start_of_a_typed_name(
    app: Flask, store: SqliteStore
) -> None:
    client, token = form_client(app)
    client.post("/login", data={"name": "x" * 5000, "password": "?", "csrf_token": token})
    (record,) = store.audit_records()
    assert (record.action, len(record.who)) == (AuditAction.SIGN_IN_FAILED, 64)
