"""Dashboard users and roles: who may see which units and who may change incidents."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from werkzeug.security import check_password_hash, generate_password_hash

HASH_METHOD = "scrypt"
"""Werkzeug's memory-hard hash; slow enough that a stolen settings file resists guessing."""

# Checked when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("nssa-no-such-user", method=HASH_METHOD)


class Role(StrEnum):
    """What a user may do."""

    ADMIN = "admin"  # everything, all units
    ANALYST = "analyst"  # all units; assigns, moves and annotates incidents
    VIEWER = "viewer"  # read-only, only incidents touching its units (and units below them)
    LEADERSHIP = "leadership"  # read-only, all units: the overview, units and big screen

    @property
    def can_edit(self) -> bool:
        """Whether this role may assign, move or annotate incidents."""
        return self in (Role.ADMIN, Role.ANALYST)


@dataclass(frozen=True, kw_only=True)
class User:
    """One dashboard account, as configured in ``[[dashboard.users]]``."""

    name: str
    role: Role
    password_hash: str  # from ``nssa user hash``; never a plain password
    units: tuple[str, ...] = ()  # unit codes a viewer is limited to

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("name: a user needs a name")
        if not self.password_hash.startswith(("scrypt:", "pbkdf2:")):
            raise ValueError("password_hash: give a hash from `nssa user hash`, not a password")
        if self.role is Role.VIEWER and not self.units:
            raise ValueError("units: a viewer must be limited to at least one unit")


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password`` for the settings file."""
    if len(password) < 12:
        raise ValueError("password: use at least 12 characters")
    return generate_password_hash(password, method=HASH_METHOD)


def authenticate(users: tuple[User, ...], name: str, password: str) -> User | None:
    """The user ``name`` when ``password`` is theirs, else None (in similar time either way)."""
    user = next((u for u in users if u.name == name), None)
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    return user if user is not None and ok else None
