"""Saving, previewing, revising and expiring exceptions in a ``Store``, each change audited.

The rules are pure (:mod:`correlator.exceptions`); this module reads the alerts an exception
would cover from the store, marks them when it is saved, and writes the audit trail. The CLI
and the dashboard both call it, so both leave the same records behind.
"""

from __future__ import annotations

import dataclasses

from correlator.exceptions import (
    AlertException,
    AuditAction,
    Preview,
    audit,
    expire,
    preview,
)
from correlator.exceptions import (
    apply as apply_exceptions,
)
from correlator.organisation import OrganisationMap
from correlator.storage import AlertQuery, Store
from detectors.alert import Alert

SCAN_LIMIT = 100_000
"""Most stored alerts a preview or a save examines (newest first)."""


class UnknownExceptionError(LookupError):
    """No stored exception has the id asked for."""


def candidates(store: Store, exception: AlertException, limit: int = SCAN_LIMIT) -> list[Alert]:
    """Stored alerts the exception could cover, narrowed by what the store can filter on."""
    scope = exception.scope
    single_source = scope.source if scope.source and "/" not in scope.source else None
    query = AlertQuery(
        detector=scope.detector,
        source_ip=single_source,
        since=scope.starts,
        until=min(exception.expires, scope.ends) if scope.ends else exception.expires,
        limit=limit,
    )
    return store.alerts(query)


def preview_stored(
    store: Store,
    exception: AlertException,
    organisation: OrganisationMap,
    limit: int = SCAN_LIMIT,
) -> Preview:
    """What ``exception`` would hide among the newest ``limit`` stored alerts; saves nothing."""
    return preview(exception, candidates(store, exception, limit), organisation)


def add_exception(
    store: Store,
    exception: AlertException,
    organisation: OrganisationMap,
    *,
    action: AuditAction = AuditAction.CREATED,
    detail: str = "",
) -> int:
    """Save ``exception`` (audited as ``action`` by its owner) and mark the past alerts it
    hides; returns how many were marked. ``detail`` prefixes the audit record's description."""
    record = audit(exception, action, who=exception.owner, at=exception.created)
    if detail:
        record = dataclasses.replace(record, detail=f"{detail} {record.detail}")
    store.put_exception(exception, record)
    _, marks = apply_exceptions(candidates(store, exception), [exception], organisation)
    return store.mark_alerts(marks)


def stored_exception(store: Store, exception_id: str) -> AlertException:
    """The stored exception ``exception_id``.

    :raise UnknownExceptionError: when no exception has that id.
    """
    found = [x for x in store.exceptions() if x.id == exception_id]
    if not found:
        raise UnknownExceptionError(exception_id)
    return found[0]


def expire_exception(store: Store, exception_id: str, *, who: str, at: float) -> AlertException:
    """End an exception now (audited); past marks stay, new alerts are no longer hidden."""
    ended = expire(stored_exception(store, exception_id), at)
    store.put_exception(ended, audit(ended, AuditAction.EXPIRED, who=who, at=at))
    return ended


def revise_exception(
    store: Store,
    old: AlertException,
    new: AlertException,
    organisation: OrganisationMap,
) -> int:
    """Replace ``old`` by ``new`` (owned and created by whoever revises it): the old version
    ends when the new one starts, both changes audited; returns the alerts ``new`` marked.

    A new version rather than an edit in place: the old marks keep naming the exception
    that hid their alerts, as it was when it did.
    """
    ended = expire(old, new.created)
    store.put_exception(ended, audit(ended, AuditAction.EXPIRED, who=new.owner, at=new.created))
    return add_exception(
        store, new, organisation, action=AuditAction.REVISED, detail=f"replaces {old.id}:"
    )
