"""Login, roles, unit scoping, CSRF, analyst actions and the posture pages (Flask client)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from flask import Flask

from correlator.exceptions import AuditAction
from correlator.incident import IncidentStatus
from dashboard import create_app
from dashboard.throttle import MAX_FAILURES, WINDOW, LoginThrottle
from nssa.cli import main
from nssa.errors import ConfigError
from nssa.serve import serve
from nssa.settings import Settings, load_settings
from nssa.stores.sqlite import SqliteStore
from tests.dashboard_scene import ORGANISATION, XSS, fill
from tests.dashboard_users import PASSWORD, make_app, signed_in


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "nssa.db") as opened:
        fill(opened)
        yield opened


@pytest.fixture
def app(store: SqliteStore) -> Flask:
    return make_app(store, {"organisation": ORGANISATION})


def login(app: Flask, name: str, password: str) -> tuple[int, str]:
    """Log in through the form (token included); the status and where it leads."""
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as session:
        token = session["csrf"]
    response = client.post("/login", data={"name": name, "password": password, "csrf_token": token})
    return response.status_code, response.headers.get("Location", "")


def test_pages_need_a_login(app: Flask) -> None:
    client = app.test_client()
    page, api = client.get("/incidents/inc-police"), client.get("/api/incidents")
    assert (page.status_code, page.location, api.status_code) == (
        302,
        "/login?next=/incidents/inc-police",
        401,
    )


def test_right_password_logs_in_and_wrong_one_is_refused(app: Flask) -> None:
    assert login(app, "analyst", PASSWORD) == (302, "/overview")
    assert login(app, "analyst", "wrong password!") == (401, "")
    assert login(app, "nobody", PASSWORD) == (401, "")


def test_repeated_failures_pause_logins_even_with_the_right_password(app: Flask) -> None:
    failures = [login(app, "analyst", f"guess number {n}")[0] for n in range(5)]
    assert (failures, login(app, "analyst", PASSWORD)[0]) == ([401] * 5, 429)


def test_throttle_forgets_failures_after_the_window() -> None:
    now = [0.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    for _ in range(MAX_FAILURES):
        throttle.failed("name:li")
    blocked = throttle.blocked("name:li")
    now[0] = WINDOW + 1
    assert (blocked, throttle.blocked("name:li"), throttle.blocked("name:wang")) == (
        True,
        False,
        False,
    )


def test_login_without_csrf_token_is_refused(app: Flask) -> None:
    response = app.test_client().post("/login", data={"name": "analyst", "password": PASSWORD})
    assert response.status_code == 403


def test_session_cookie_is_httponly_and_samesite_strict(app: Flask) -> None:
    client = app.test_client()
    cookie = client.get("/login").headers["Set-Cookie"]
    assert ("HttpOnly" in cookie, "SameSite=Strict" in cookie) == (True, True)


def test_no_users_means_no_dashboard(store: SqliteStore) -> None:
    with pytest.raises(ValueError, match="no dashboard users"):
        create_app(store)
    with pytest.raises(ConfigError, match="no users"):
        serve(store, Settings(), host="127.0.0.1", port=0, open_browser=False)


def test_unit_viewer_sees_only_its_units_and_those_below(app: Flask) -> None:
    county = signed_in(app, "county-viewer")
    listing = county.get("/incidents").get_data(as_text=True)
    statuses = [county.get(f"/incidents/{i}").status_code for i in ("inc-lushi", "inc-police")]
    api = county.get("/api/incidents/inc-police").status_code
    assert ("inc-lushi" in listing, "inc-police" in listing, statuses, api) == (
        True,
        False,
        [200, 404],
        404,
    )


def test_analyst_changes_status_and_it_is_in_history_and_audit(
    app: Flask, store: SqliteStore
) -> None:
    client = signed_in(app)
    response = client.post(
        "/incidents/inc-police/status",
        data={"status": "investigating", "note": "checking", "csrf_token": "token-of-analyst"},
    )
    incident = store.incident("inc-police")
    assert incident is not None
    step = incident.history[-1]
    assert (response.status_code, incident.status, step.who, step.note) == (
        302,
        IncidentStatus.INVESTIGATING,
        "analyst",
        "checking",
    )
    audit = store.audit_records()[0]
    assert (audit.action, audit.exception_id, audit.who) == (
        AuditAction.INCIDENT_STATUS,
        "inc-police",
        "analyst",
    )


def test_assign_and_note_are_recorded(app: Flask, store: SqliteStore) -> None:
    client = signed_in(app)
    token = {"csrf_token": "token-of-analyst"}
    client.post("/incidents/inc-lushi/assign", data={"assignee": "wang", **token})
    client.post("/incidents/inc-lushi/note", data={"note": "called the county", **token})
    incident = store.incident("inc-lushi")
    assert incident is not None
    assert (incident.assignee, [s.note for s in incident.history]) == (
        "wang",
        ["→ wang", "called the county"],
    )
    assert [a.action for a in store.audit_records()] == [
        AuditAction.INCIDENT_NOTE,
        AuditAction.INCIDENT_ASSIGNED,
    ]


def test_post_without_or_with_a_wrong_csrf_token_is_refused(app: Flask, store: SqliteStore) -> None:
    client = signed_in(app)
    codes = [
        client.post("/incidents/inc-police/note", data=data).status_code
        for data in ({"note": "x"}, {"note": "x", "csrf_token": "token-of-admin"})
    ]
    incident = store.incident("inc-police")
    assert (codes, incident.history if incident else None) == ([403, 403], ())


def test_read_only_roles_cannot_act(app: Flask) -> None:
    codes = [
        signed_in(app, name)
        .post("/incidents/inc-police/note", data={"note": "x", "csrf_token": f"token-of-{name}"})
        .status_code
        for name in ("leader", "police-viewer")
    ]
    assert codes == [403, 403]


def test_viewer_cannot_open_another_units_incident(app: Flask) -> None:
    response = signed_in(app, "police-viewer").get("/incidents/inc-lushi")
    assert response.status_code == 404


def test_edits_are_scoped_in_the_queries_too(store: SqliteStore) -> None:
    from dashboard import queries

    viewer = queries.Viewer("li", frozenset({"police"}))
    done = [
        queries.add_note(store, viewer, incident_id, "x", 0.0)
        for incident_id in ("inc-lushi", "inc-police", "inc-nope")
    ]
    assert (done, len(store.audit_records())) == ([False, True, False], 1)


def test_forbidden_lifecycle_move_is_a_400(app: Flask) -> None:
    response = signed_in(app).post(
        "/incidents/inc-police/status",
        data={"status": "new", "csrf_token": "token-of-analyst"},
    )
    assert response.status_code == 400


def test_overview_is_chinese_and_shows_posture(app: Flask) -> None:
    body = signed_in(app).get("/overview").get_data(as_text=True)
    expected = [
        "态势总览",
        "单位风险排名",
        "市公安局",
        "卢氏县教育局",
        "203.0.113.7",
        "10.30.5.8",
        "凭据访问",
    ]
    assert [text for text in expected if text not in body] == []


def test_unit_viewer_overview_leaves_other_units_out(app: Flask) -> None:
    body = signed_in(app, "county-viewer").get("/overview").get_data(as_text=True)
    assert ("卢氏县教育局" in body, "市公安局" in body, "203.0.113.7" in body) == (
        True,
        False,
        False,
    )


def test_units_page_lists_each_units_open_incidents_for_its_viewer(app: Flask) -> None:
    body = signed_in(app, "county-viewer").get("/units").get_data(as_text=True)
    links = [link for link in ("/incidents/inc-lushi", "/incidents/inc-police") if link in body]
    assert (links, "卢氏县教育局" in body, "市公安局" in body) == (
        ["/incidents/inc-lushi"],
        True,
        False,
    )


@pytest.mark.parametrize("url", ["/units", "/screen"])
def test_units_and_screen_pages_render(app: Flask, url: str) -> None:
    response = signed_in(app, "leader").get(url)
    assert (response.status_code, "卢氏县" in response.get_data(as_text=True)) == (200, True)


def test_hostile_title_is_escaped_on_every_page(app: Flask) -> None:
    client = signed_in(app)
    bodies = [client.get(u).get_data(as_text=True) for u in ("/incidents", "/incidents/inc-xss")]
    assert [XSS in body for body in bodies] == [False, False]


def test_user_hash_reads_stdin_and_rejects_short_passwords() -> None:
    runner = CliRunner()
    good = runner.invoke(main, ["user", "hash"], input="a long enough secret\n")
    short = runner.invoke(main, ["user", "hash"], input="short\n")
    assert PasswordHasher().verify(good.output.strip(), "a long enough secret")
    assert (short.exit_code, "12 characters" in short.output) == (1, True)


def test_settings_read_dashboard_users(tmp_path: Path) -> None:
    hashed = CliRunner().invoke(main, ["user", "hash"], input=PASSWORD + "\n").output.strip()
    path = tmp_path / "nssa.toml"
    path.write_text(
        '[[units]]\ncode = "lushi"\nname = "卢氏县"\nkind = "county"\n'
        f'[[dashboard.users]]\nname = "li"\nrole = "viewer"\nunits = ["lushi"]\n'
        f'password_hash = "{hashed}"\n',
        encoding="utf-8",
    )
    users = load_settings(path).dashboard.users
    assert [(u.name, u.role.value, u.units) for u in users] == [("li", "viewer", ("lushi",))]


def test_settings_reject_a_plain_password(tmp_path: Path) -> None:
    path = tmp_path / "nssa.toml"
    path.write_text(
        '[[dashboard.users]]\nname = "li"\nrole = "admin"\npassword_hash = "hunter2"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"dashboard.users\[0\].password_hash"):
        load_settings(path)


def test_demo_link_signs_in_and_lists_incidents_only_with_its_token(store: SqliteStore) -> None:
    linked = make_app(store, {"DEMO_LINK": ("s3cret-token", "admin")}).test_client()
    assert linked.get("/login/demo/wrong").status_code == 404
    page = linked.get("/login/demo/s3cret-token")
    assert page.status_code == 200 and "安全事件" in page.get_data(as_text=True)
    assert linked.get("/incidents").status_code == 200  # the session is signed in now
    plain = make_app(store).test_client()
    assert plain.get("/login/demo/s3cret-token").status_code == 404
