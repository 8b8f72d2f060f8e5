"""Saving, previewing and expiring exceptions against a store: the edge of the exception system.

The rules are pure (:mod:`correlator.exceptions`); this module reads the alerts an exception
would cover from the store, marks them when it is saved, and writes the audit trail.
"""

from __future__ import annotations

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
from nssa.errors import StoreError

SCAN_LIMIT = 100_000
"""Most stored alerts a preview or a save examines (newest first)."""


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


def preview_exception(
    store: Store, exception: AlertException, organisation: OrganisationMap
) -> Preview:
    """What ``exception`` would hide among the stored alerts, without saving anything."""
    return preview(exception, candidates(store, exception), organisation)


def add_exception(store: Store, exception: AlertException, organisation: OrganisationMap) -> int:
    """Save ``exception`` (audited as created by its owner) and mark the past alerts it hides."""
    store.put_exception(
        exception, audit(exception, AuditAction.CREATED, who=exception.owner, at=exception.created)
    )
    _, marks = apply_exceptions(candidates(store, exception), [exception], organisation)
    return store.mark_alerts(marks)


def expire_exception(store: Store, exception_id: str, *, who: str, at: float) -> AlertException:
    """End an exception now (audited); past marks stay, new alerts are no longer hidden."""
    found = [x for x in store.exceptions() if x.id == exception_id]
    if not found:
        raise StoreError(f"no exception {exception_id!r}")
    ended = expire(found[0], at)
    store.put_exception(ended, audit(ended, AuditAction.EXPIRED, who=who, at=at))
    return ended
