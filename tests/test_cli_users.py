"""``nssa user``: accounts made on the command line sign in to the dashboard, audited."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient

from correlator.exceptions import AuditAction
from dashboard import create_app
from dashboard.users import Role, User, hash_password
from nssa.cli import main
from nssa.errors import ConfigError
from nssa.serve import serve
from nssa.settings import load_settings
from nssa.stores.sqlite import SCHEMA_VERSION, SqliteStore
from sensors.capturefiles import CaptureQuery
from tests.dashboard_scene import ORGANISATION, fill

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "violet harbour lantern"
UNITS = (
    '[[units]]\ncode = "police"\nname = "市公安局"\nkind = "department"\n'
    '[[units]]\ncode = "lushi"\nname = "卢氏县"\nkind = "county"\n'
)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "nssa.toml"
    path.write_text(UNITS, encoding="utf-8")
    return path


def user(db: Path, config: Path, *args: str, stdin: str = "") -> Result:
    """Run ``nssa user ARGS`` on the SQLite store ``db`` with ``stdin`` as its input."""
    options = ["--store", f"sqlite:///{db}", "--config", str(config)]
    return CliRunner().invoke(main, ["user", *args, *options], input=stdin)


def dashboard(db: Path, users: tuple[User, ...] = ()) -> Flask:
    """The dashboard over ``db`` with only the store's accounts (and ``users``)."""
    with SqliteStore(db) as store:
        fill(store)
    config = {"TESTING": True, "users": users, "organisation": ORGANISATION}
    return create_app(SqliteStore(db), config=config)


def login(app: Flask, name: str, password: str) -> tuple[int, FlaskClient | None]:
    """Log in through the form; the status, and the signed-in client on success."""
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as session:
        token = session["csrf"]
    response = client.post("/login", data={"name": name, "password": password, "csrf_token": token})
    return response.status_code, client if response.status_code == 302 else None


def test_added_user_from_piped_stdin_signs_in(tmp_path: Path, config: Path) -> None:
    db = tmp_path / "nssa.db"
    store_args = ("--store", f"sqlite:///{db}", "--config", str(config))
    ran = subprocess.run(
        [*(sys.executable, "-m", "nssa", "user", "add", "li", "--role", "analyst"), *store_args],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "USER": "ops"},
    )
    app = dashboard(db)
    status, client = login(app, "li", PASSWORD)
    assert (ran.stdout, status, login(app, "li", PASSWORD + "!")[0]) == (
        "added li (analyst)\n",
        302,
        401,
    )
    assert client is not None and client.get("/incidents").status_code == 200


def test_disabled_user_is_refused_and_its_session_ends(tmp_path: Path, config: Path) -> None:
    db = tmp_path / "nssa.db"
    user(db, config, "add", "li", "--role", "admin", stdin=PASSWORD + "\n")
    app = dashboard(db, users=(User(name="other", role=Role.ADMIN, password_hash=_hash()),))
    _, session = login(app, "li", PASSWORD)
    assert session is not None
    disabled = user(db, config, "disable", "li")
    again = user(db, config, "disable", "li")
    assert (disabled.output, again.output) == ("disabled li\n", "li is already disabled\n")
    assert login(app, "li", PASSWORD)[0] == 401
    assert session.get("/incidents").status_code == 302  # back to the login form
    user(db, config, "enable", "li")
    assert login(app, "li", PASSWORD)[0] == 302


def test_unit_viewer_sees_only_its_unit(tmp_path: Path, config: Path) -> None:
    db = tmp_path / "nssa.db"
    added = user(db, config, "add", "wang", "--role", "viewer", "--unit", "lushi", stdin=PASSWORD)
    _, client = login(dashboard(db), "wang", PASSWORD)
    assert added.exit_code == 0 and client is not None
    listing = client.get("/incidents").get_data(as_text=True)
    assert ("inc-lushi" in listing, "inc-police" in listing) == (True, False)


def test_store_account_wins_over_a_settings_user_of_the_same_name(
    tmp_path: Path, config: Path
) -> None:
    db = tmp_path / "nssa.db"
    user(db, config, "add", "li", "--role", "viewer", "--unit", "lushi", stdin=PASSWORD)
    configured = User(name="li", role=Role.ADMIN, password_hash=_hash("the settings password"))
    app = dashboard(db, users=(configured,))
    assert (login(app, "li", "the settings password")[0], login(app, "li", PASSWORD)[0]) == (
        401,
        302,
    )


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("--role", "admin"), "\n", "weak password: the password is empty"),
        (("--role", "admin"), "short\n", "weak password: use at least 12 characters"),
        (("--role", "admin"), "li-and-more-text\n", "must not contain the user name"),
        (("--role", "admin"), "abababababab\n", "at least 5 different characters"),
        (("--role", "root"), PASSWORD, "'root' is not one of"),
        (("--role", "viewer"), PASSWORD, "a viewer must be limited to at least one unit"),
        (("--role", "viewer", "--unit", "mars"), PASSWORD, "no unit has code mars"),
    ],
)
def test_add_refuses_bad_input_and_writes_nothing(
    tmp_path: Path, config: Path, args: tuple[str, ...], stdin: str, message: str
) -> None:
    db = tmp_path / "nssa.db"
    refused = user(db, config, "add", "li", *args, stdin=stdin)
    with SqliteStore(db) as store:
        written = (store.users(), store.audit_records())
    assert (refused.exit_code != 0, message in refused.output, written) == (True, True, ([], []))


def test_add_refuses_an_existing_name(tmp_path: Path, config: Path) -> None:
    db = tmp_path / "nssa.db"
    user(db, config, "add", "li", "--role", "admin", stdin=PASSWORD)
    again = user(db, config, "add", "li", "--role", "analyst", stdin=PASSWORD)
    with SqliteStore(db) as store:
        role = store.user("li")
    assert (again.exit_code, "exists" in again.output) == (1, True)
    assert role is not None and role.role is Role.ADMIN


def test_passwd_replaces_the_password(tmp_path: Path, config: Path) -> None:
    db = tmp_path / "nssa.db"
    user(db, config, "add", "li", "--role", "analyst", stdin=PASSWORD)
    changed = user(db, config, "passwd", "li", stdin="a brand new passphrase\n")
    unknown = user(db, config, "passwd", "zhang", stdin="a brand new passphrase\n")
    app = dashboard(db)
    assert (changed.output, unknown.exit_code) == ("password of li changed\n", 1)
    assert (login(app, "li", PASSWORD)[0], login(app, "li", "a brand new passphrase")[0]) == (
        401,
        302,
    )


def test_every_change_is_audited_without_the_hash(tmp_path: Path, config: Path) -> None:
    db = tmp_path / "nssa.db"
    user(db, config, "add", "li", "--role", "viewer", "--unit", "lushi", stdin=PASSWORD)
    user(db, config, "passwd", "li", stdin="a brand new passphrase\n")
    user(db, config, "disable", "li")
    user(db, config, "enable", "li")
    listed = user(db, config, "list").output
    with SqliteStore(db) as store:
        (account,) = store.users()
        trail = store.audit_records()
    assert sorted(r.action for r in trail) == sorted(
        [
            AuditAction.USER_ADDED,
            AuditAction.USER_PASSWORD,
            AuditAction.USER_DISABLED,
            AuditAction.USER_ENABLED,
        ]
    )
    assert {(r.exception_id, r.who.startswith("cli:")) for r in trail} == {("user:li", True)}
    assert not any(account.password_hash in r.detail for r in trail)
    assert listed == "li  viewer  units=lushi  enabled\n"
    assert account.password_hash.startswith("$argon2id$")


def test_no_enabled_user_means_no_dashboard(tmp_path: Path, config: Path) -> None:
    db = tmp_path / "nssa.db"
    user(db, config, "add", "li", "--role", "admin", stdin=PASSWORD)
    user(db, config, "disable", "li")
    with SqliteStore(db) as store:
        with pytest.raises(ValueError, match="nssa user add"):
            create_app(store)
        with pytest.raises(ConfigError, match="nssa user add"):
            serve(store, load_settings(config), host="127.0.0.1", port=0, open_browser=False)


def test_version_2_database_gains_the_users_table(tmp_path: Path) -> None:
    db = tmp_path / "nssa.db"
    SqliteStore(db).close()
    with sqlite3.connect(db) as raw:
        raw.execute("DROP TABLE users")
        raw.execute("UPDATE schema_version SET version = 2")
    raw.close()
    with SqliteStore(db) as store:
        users = store.users()
        captures = store.captures(CaptureQuery())
    with sqlite3.connect(db) as raw:
        version = raw.execute("SELECT version FROM schema_version").fetchone()[0]
    raw.close()
    # Every later migration runs too: users (v3), then the capture registry (v4).
    assert (users, captures, version, SCHEMA_VERSION) == ([], [], 4, 4)


def _hash(password: str = PASSWORD) -> str:
    return hash_password(password)
