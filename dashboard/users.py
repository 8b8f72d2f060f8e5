"""Dashboard users and roles: who may see which units and who may change incidents."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from werkzeug.security import check_password_hash

from correlator.accounts import HASH_PREFIXES, Account, Role

__all__ = [
    "MIN_PASSWORD",
    "Role",
    "User",
    "authenticate",
    "find_user",
    "hash_password",
    "password_problem",
    "user_of",
]

MIN_PASSWORD = 12
"""Fewest characters a password may have."""

# argon2id with the library's defaults (RFC 9106's low-memory choice: 64 MiB, 3 passes).
_HASHER = PasswordHasher()

# Checked when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("nssa-no-such-user")


@dataclass(frozen=True, kw_only=True)
class User:
    """One dashboard account: from ``[[dashboard.users]]`` or a stored ``Account``."""

    name: str
    role: Role
    password_hash: str  # argon2id (or werkzeug's scrypt from older settings); never a password
    units: tuple[str, ...] = ()  # unit codes a viewer is limited to

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("name: a user needs a name")
        if not self.password_hash.startswith(HASH_PREFIXES):
            raise ValueError("password_hash: give a hash from `nssa user hash`, not a password")
        if self.role is Role.VIEWER and not self.units:
            raise ValueError("units: a viewer must be limited to at least one unit")


def password_problem(password: str, name: str = "") -> str | None:
    """Why ``password`` is too weak for the account ``name``, or None when it will do."""
    if not password.strip():
        return "the password is empty"
    if len(password) < MIN_PASSWORD:
        return f"use at least {MIN_PASSWORD} characters"
    if name and name.casefold() in password.casefold():
        return "the password must not contain the user name"
    if len(set(password)) < 5:
        # "aaaaaaaaaaaa" or "abababababab" pass the length rule but fall to any guesser.
        return "use at least 5 different characters"
    return None


def hash_password(password: str, name: str = "") -> str:
    """A salted argon2id hash of ``password``; ValueError when the password is too weak."""
    problem = password_problem(password, name)
    if problem is not None:
        raise ValueError(f"password: {problem}")
    return _HASHER.hash(password)


def user_of(account: Account) -> User | None:
    """The dashboard user of a stored account; None when the account is disabled."""
    if account.disabled:
        return None
    return User(
        name=account.name,
        role=account.role,
        password_hash=account.password_hash,
        units=account.units,
    )


def find_user(name: str, stored: Account | None, configured: Iterable[User]) -> User | None:
    """The user ``name``: the stored account wins over a settings-file user of that name."""
    if stored is not None:
        return user_of(stored)
    return next((u for u in configured if u.name == name), None)


def authenticate(user: User | None, password: str) -> User | None:
    """``user`` when ``password`` is theirs, else None (in similar time when ``user`` is None)."""
    ok = _verify(user.password_hash if user else _DUMMY_HASH, password)
    return user if user is not None and ok else None


def _verify(password_hash: str, password: str) -> bool:
    if not password_hash.startswith("$argon2"):
        return check_password_hash(password_hash, password)  # settings files from before argon2
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
