"""Retention of Elasticsearch event and alert indices: whole periods, never under 180 days.

The Cybersecurity Law requires network logs to be kept at least six months, so an index is
deleted only once every record it can hold is older than the retention period, and the period
can never be set below :data:`nssa.settings.MINIMUM_RETENTION_DAYS`. When the disk fills
sooner, retention does not delete more: it warns, so that operators add disk instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from elastic_transport import TransportError
from elasticsearch import ApiError

from nssa.errors import StoreError
from nssa.settings import MINIMUM_RETENTION_DAYS
from nssa.stores.elasticsearch import ElasticsearchStore

log = logging.getLogger("nssa.retention")

DAY = 86_400.0


@dataclass(frozen=True)
class RetentionReport:
    """What one retention pass deleted, kept, and how full the cluster's disks are."""

    deleted: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    disk_used_ratio: float = 0.0
    warnings: tuple[str, ...] = field(default=())


def apply_retention(store: ElasticsearchStore, now: float) -> RetentionReport:
    """Delete the event and alert indices whose whole period ended before the retention cut."""
    days = max(store.options.retention_days, MINIMUM_RETENTION_DAYS)  # the floor is the law's
    cutoff = now - days * DAY
    layout = store.layout
    try:
        names = sorted(
            store.client.indices.get(
                index=f"{layout.events_pattern},{layout.alerts_pattern}",
                expand_wildcards="open,closed",
                allow_no_indices=True,
            )
        )
        expired = [n for n in names if (end := layout.period_end(n)) is not None and end <= cutoff]
        for name in expired:
            # By exact name, one at a time: never a wildcard that could match a newer index.
            store.client.indices.delete(index=name)
        ratio = disk_used_ratio(store)
    except (ApiError, TransportError) as exc:
        raise StoreError(f"{store.shown}: retention failed: {exc}") from exc
    warnings = _disk_warnings(store, ratio, days)
    for warning in warnings:
        log.warning("%s", warning)
    kept = tuple(n for n in names if n not in expired)
    return RetentionReport(
        deleted=tuple(expired), kept=kept, disk_used_ratio=ratio, warnings=warnings
    )


def disk_used_ratio(store: ElasticsearchStore) -> float:
    """The fullest data disk among the cluster's nodes, as used/total (0 to 1)."""
    stats = store.client.nodes.stats(metric="fs")
    ratios = []
    for node in stats["nodes"].values():
        total = node["fs"]["total"]
        if total.get("total_in_bytes"):
            ratios.append(1 - total["available_in_bytes"] / total["total_in_bytes"])
    return max(ratios, default=0.0)


def _disk_warnings(store: ElasticsearchStore, ratio: float, days: int) -> tuple[str, ...]:
    if ratio < store.options.disk_warn_ratio:
        return ()
    return (
        f"{store.shown}: data disk {ratio:.0%} full (warning at"
        f" {store.options.disk_warn_ratio:.0%}); retention keeps {days} days and will not"
        " delete younger data: add disk or nodes before Elasticsearch stops writing",
    )
