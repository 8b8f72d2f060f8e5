"""例外 page: preview, save, revise and expire through the Flask client, roles, CSRF, units."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from correlator.exceptions import AuditAction
from dashboard.exception_form import exception_from_form, values_of
from dashboard.users import Role, User
from nssa.stores.sqlite import SqliteStore
from tests.conftest import T0, build_alert
from tests.dashboard_scene import ORGANISATION, XSS, fill
from tests.dashboard_users import USERS, make_app, signed_in

SCANNER = "203.0.113.7"
"""Scans the police bureau three times (and once more in the scene's hostile alert)."""

COUNTY_ANALYST = User(
    name="county-analyst", role=Role.ANALYST, password_hash=USERS[0].password_hash, units=("lushi",)
)
"""An analyst who may edit, but only inside Lushi county."""


def _expiry(days: int = 30) -> str:
    """A Beijing-time date ``days`` from now, as the form's date field sends it."""
    return (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=days)).date().isoformat()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "nssa.db") as opened:
        fill(opened)
        opened.put_alerts(
            [build_alert(time=T0 + 100 + n, destination_ports=(n,)) for n in range(3)]
            + [
                build_alert(
                    time=T0 + 200 + n,
                    detector="bruteforce",
                    rule="ssh_guessing",
                    source_ip="198.51.100.23",
                    destination_ip="10.30.5.8",
                    destination_ports=(22,),
                    identifier=f"bf-{n}",
                )
                for n in range(2)
            ]
        )
        yield opened


@pytest.fixture
def app(store: SqliteStore) -> Flask:
    return make_app(store, {"organisation": ORGANISATION, "users": (*USERS, COUNTY_ANALYST)})


def _form(name: str = "analyst", **fields: str) -> dict[str, str]:
    base = {"reason": "授权的漏洞扫描器", "expires": _expiry(), "csrf_token": f"token-of-{name}"}
    return base | fields


def _preview_count(html: str) -> tuple[int, int]:
    """(matched, examined) from "在最近 {examined} 条候选告警中，将隐藏 {matched} 条"."""
    found = re.search(r'id="preview-count"[^>]*>\D*(\d+)\D+(\d+)', html)
    assert found is not None, html
    examined, matched = int(found.group(1)), int(found.group(2))
    return matched, examined


def test_preview_counts_what_would_be_hidden_and_saves_nothing(
    app: Flask, store: SqliteStore
) -> None:
    # A network: the store cannot narrow by it, so all six stored alerts are examined.
    data = _form(source="203.0.113.0/24")
    response = signed_in(app).post("/exceptions/preview", data=data)
    html = response.get_data(as_text=True)
    assert (response.status_code, _preview_count(html), store.exceptions()) == (200, (4, 6), [])
    assert html.count("<tr><td><time") == 4  # the sample lists the four alerts themselves


def test_saving_marks_the_alerts_and_writes_the_audit_log(app: Flask, store: SqliteStore) -> None:
    response = signed_in(app).post("/exceptions", data=_form(source=SCANNER, detector="portscan"))
    [saved] = store.exceptions()
    [record] = store.audit_records()
    assert response.status_code == 302
    assert (saved.owner, saved.scope.source, saved.scope.detector) == (
        "analyst",
        SCANNER,
        "portscan",
    )
    assert (record.action, record.who, record.exception_id) == (
        AuditAction.CREATED,
        "analyst",
        saved.id,
    )
    listing = signed_in(app).get("/exceptions?lang=en").get_data(as_text=True)
    marked = re.search(rf'id="x-{saved.id}".*?<td class="num">(\d+)</td>', listing, re.S)
    assert marked is not None and int(marked.group(1)) == 4


def test_revising_saves_a_new_version_and_expires_the_old(app: Flask, store: SqliteStore) -> None:
    client = signed_in(app)
    client.post("/exceptions", data=_form(source=SCANNER))
    [old] = store.exceptions()
    form = client.get(f"/exceptions/{old.id}/edit").get_data(as_text=True)
    client.post("/exceptions", data=_form(source=SCANNER, reason="扫描器换了网段", replaces=old.id))
    new, ended = store.exceptions()
    actions = [(r.action, r.exception_id) for r in store.audit_records()]
    assert f'value="{old.id}"' in form
    assert (new.reason, ended.id == old.id, ended.expires <= new.created) == (
        "扫描器换了网段",
        True,
        True,
    )
    # Both at the revision's instant, so their order between themselves is the store's.
    assert set(actions[:2]) == {(AuditAction.REVISED, new.id), (AuditAction.EXPIRED, old.id)}


def test_expire_now_ends_the_exception_and_is_audited(app: Flask, store: SqliteStore) -> None:
    client = signed_in(app)
    client.post("/exceptions", data=_form(source=SCANNER))
    [saved] = store.exceptions()
    response = client.post(f"/exceptions/{saved.id}/expire", data=_form())
    [ended] = store.exceptions()
    assert (response.status_code, ended.expires <= time.time()) == (302, True)
    assert store.audit_records()[0].action is AuditAction.EXPIRED


def test_viewer_sees_the_list_but_cannot_preview_save_or_expire(
    app: Flask, store: SqliteStore
) -> None:
    signed_in(app).post("/exceptions", data=_form(source=SCANNER, unit="police"))
    [saved] = store.exceptions()
    viewer = signed_in(app, "police-viewer")
    page = viewer.get("/exceptions").get_data(as_text=True)
    codes = [
        viewer.post(url, data=_form("police-viewer", source=SCANNER, unit="police")).status_code
        for url in ("/exceptions/preview", "/exceptions", f"/exceptions/{saved.id}/expire")
    ]
    assert (saved.id in page, "exception-form" in page, codes) == (True, False, [403] * 3)
    assert store.exceptions() == [saved]


def test_a_post_without_the_csrf_token_is_refused(app: Flask, store: SqliteStore) -> None:
    data = _form(source=SCANNER)
    del data["csrf_token"]
    # The app refuses a missing token with 403 everywhere (dashboard.auth), not 400.
    assert signed_in(app).post("/exceptions", data=data).status_code == 403
    assert (store.exceptions(), store.audit_records()) == ([], [])


@pytest.mark.parametrize("unit", ["police", ""])
def test_a_unit_user_cannot_scope_outside_their_units(
    app: Flask, store: SqliteStore, unit: str
) -> None:
    response = signed_in(app, "county-analyst").post(
        "/exceptions", data=_form("county-analyst", source=SCANNER, unit=unit)
    )
    assert (response.status_code, store.exceptions()) == (400, [])
    assert 'id="form-error"' in response.get_data(as_text=True)


def test_a_unit_users_exception_hides_only_their_units_alerts(
    app: Flask, store: SqliteStore
) -> None:
    client = signed_in(app, "county-analyst")
    preview = client.post(
        "/exceptions/preview", data=_form("county-analyst", unit="lushi", detector="bruteforce")
    )
    client.post("/exceptions", data=_form("county-analyst", unit="lushi", detector="bruteforce"))
    [saved] = store.exceptions()
    assert _preview_count(preview.get_data(as_text=True))[0] == 2
    assert store.mark_counts([saved.id])[0].count == 2


def test_a_bad_scope_is_shown_back_not_saved(app: Flask, store: SqliteStore) -> None:
    response = signed_in(app).post("/exceptions/preview", data=_form(source="not-an-address"))
    assert (response.status_code, store.exceptions()) == (400, [])


def test_attacker_controlled_values_are_escaped(app: Flask, store: SqliteStore) -> None:
    client = signed_in(app)
    client.post("/exceptions", data=_form(detector=XSS, reason=XSS))
    html = client.get("/exceptions").get_data(as_text=True)
    assert (XSS in html, "&lt;script&gt;window.nssaXss" in html) == (False, True)


def test_a_unit_user_cannot_revise_or_expire_another_units_exception(
    app: Flask, store: SqliteStore
) -> None:
    signed_in(app).post("/exceptions", data=_form(source=SCANNER, unit="police"))
    [saved] = store.exceptions()
    client = signed_in(app, "county-analyst")
    data = _form("county-analyst", unit="lushi", replaces=saved.id)
    codes = [
        client.post("/exceptions", data=data).status_code,
        client.post(f"/exceptions/{saved.id}/expire", data=data).status_code,
        client.get(f"/exceptions/{saved.id}/edit").status_code,
    ]
    assert (codes, store.exceptions()) == ([404, 404, 404], [saved])


def test_the_form_of_an_exception_describes_it_again() -> None:
    now = time.time()
    original = exception_from_form(
        _form(source="203.0.113.0/24", unit="police", starts="2024-06-01T08:30", kind="allow"),
        owner="analyst",
        now=now,
        units=None,
    )
    again = exception_from_form(values_of(original), owner="analyst", now=now, units=None)
    assert again == original
