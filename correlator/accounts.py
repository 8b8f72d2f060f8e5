"""Dashboard accounts as stored records: name, password hash, role, units and whether enabled.

Accounts live in the store (``nssa user add``) so that every dashboard and CLI host sees the
same users; each change is written together with an audit record. All of it is pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from correlator.exceptions import AuditAction, AuditRecord
from correlator.organisation import OrganisationMap

HASH_PREFIXES = ("$argon2id$", "scrypt:", "pbkdf2:")
"""How stored hashes begin: argon2id for new ones, werkzeug's for settings-file users."""


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
class Account:
    """One stored dashboard account; the name is its key."""

    name: str
    password_hash: str  # argon2id; never a plain password
    role: Role
    units: tuple[str, ...] = ()  # unit codes a viewer is limited to
    created: float
    updated: float
    disabled: bool = False  # kept, not deleted: the audit trail still names it

    def __post_init__(self) -> None:
        if not self.name.strip() or self.name != self.name.strip():
            raise ValueError("name: a user needs a name without surrounding spaces")
        if not self.password_hash.startswith(HASH_PREFIXES):
            raise ValueError("password_hash: give a password hash, not a password")
        if self.role is Role.VIEWER and not self.units:
            raise ValueError("units: a viewer must be limited to at least one unit")
        if self.updated < self.created:
            raise ValueError("updated: must not be before created")


def unknown_units(units: Iterable[str], organisation: OrganisationMap) -> list[str]:
    """The codes in ``units`` that name no unit of ``organisation``."""
    return [code for code in units if code not in organisation.by_code]


def with_password(account: Account, password_hash: str, *, at: float) -> Account:
    """``account`` with a new password hash, changed at ``at``."""
    return replace(account, password_hash=password_hash, updated=max(at, account.created))


def with_disabled(account: Account, disabled: bool, *, at: float) -> Account:
    """``account`` disabled (or enabled again) at ``at``."""
    return replace(account, disabled=disabled, updated=max(at, account.created))


def audit_subject(name: str) -> str:
    """The audit trail's id for the account ``name`` (kept apart from exception ids)."""
    return f"user:{name}"


def account_audit(account: Account, action: AuditAction, *, who: str, at: float) -> AuditRecord:
    """The audit record of ``action`` on ``account`` (never its hash)."""
    units = ",".join(account.units) or "-"
    state = "disabled" if account.disabled else "enabled"
    return AuditRecord(
        time=at,
        who=who,
        action=action,
        exception_id=audit_subject(account.name),
        detail=f"user {account.name} role={account.role.value} units={units} {state}",
    )


def account_document(account: Account) -> dict[str, Any]:
    """An account as a JSON document for the stores."""
    return {
        "name": account.name,
        "password_hash": account.password_hash,
        "role": account.role.value,
        "units": list(account.units),
        "created": account.created,
        "updated": account.updated,
        "disabled": account.disabled,
    }


def account_from_document(doc: Mapping[str, Any]) -> Account:
    """Rebuild an account from :func:`account_document`'s output."""
    return Account(
        name=doc["name"],
        password_hash=doc["password_hash"],
        role=Role(doc["role"]),
        units=tuple(doc["units"]),
        created=float(doc["created"]),
        updated=float(doc["updated"]),
        disabled=bool(doc["disabled"]),
    )
