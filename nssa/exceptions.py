"""Saving, previewing and expiring exceptions from the CLI: store errors as ``StoreError``.

The work itself is shared with the dashboard in :mod:`correlator.exception_store`.
"""

from __future__ import annotations

from correlator.exception_store import (
    SCAN_LIMIT,
    UnknownExceptionError,
    add_exception,
    candidates,
)
from correlator.exception_store import expire_exception as expire_stored
from correlator.exception_store import preview_stored as preview_exception
from correlator.exceptions import AlertException
from correlator.storage import Store
from nssa.errors import StoreError

__all__ = ["SCAN_LIMIT", "add_exception", "candidates", "expire_exception", "preview_exception"]


def expire_exception(store: Store, exception_id: str, *, who: str, at: float) -> AlertException:
    """End an exception now (audited); an unknown id is a ``StoreError``."""
    try:
        return expire_stored(store, exception_id, who=who, at=at)
    except UnknownExceptionError as exc:
        raise StoreError(f"no exception {exception_id!r}") from exc
