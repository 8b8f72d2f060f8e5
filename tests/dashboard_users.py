"""Dashboard accounts for tests: one per role, with known passwords, and a signed-in client."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask
from flask.testing import FlaskClient

from correlator.storage import Store
from dashboard import create_app
from dashboard.users import Role, User, hash_password

PASSWORD = "correct horse battery"
"""Every test account's password."""

# One hash for all: scrypt per account would slow every test session down.
_HASH = hash_password(PASSWORD)

USERS = (
    User(name="admin", role=Role.ADMIN, password_hash=_HASH),
    User(name="analyst", role=Role.ANALYST, password_hash=_HASH),
    User(name="police-viewer", role=Role.VIEWER, password_hash=_HASH, units=("police",)),
    User(name="county-viewer", role=Role.VIEWER, password_hash=_HASH, units=("lushi",)),
    User(name="leader", role=Role.LEADERSHIP, password_hash=_HASH),
)
"""One account per role; the viewers are limited to the police bureau and a county."""


def make_app(store: Store, config: Mapping[str, object] | None = None) -> Flask:
    """The dashboard over ``store`` with the test accounts."""
    return create_app(store, config={"TESTING": True, "users": USERS, **(config or {})})


def signed_in(app: Flask, name: str = "analyst") -> FlaskClient:
    """A client whose session belongs to ``name`` (as after a successful login)."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["user"] = name
        session["csrf"] = f"token-of-{name}"
    return client
