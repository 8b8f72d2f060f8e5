"""The one place the stages are wired: capture → decode → flows → detectors → correlator → store.

Read top to bottom: :func:`replay` streams each capture through the sensor stages in batches
(and each log file through its parser), feeds each event to the detectors that accept it,
correlates the alerts into incidents and writes all of it to the store. Nothing here reads
the clock; ``rebase_to`` comes from the caller.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from correlator.correlate import correlate
from correlator.exceptions import AlertException, AlertMark
from correlator.exceptions import apply as apply_exceptions
from correlator.incident import Incident
from correlator.lifecycle import carry_over
from correlator.storage import Store
from detectors.alert import Alert
from detectors.base import Detector
from detectors.dispatch import observe_all
from detectors.intel import Intel
from detectors.registry import REGISTRY
from detectors.site import Site
from nssa.errors import StoreUnavailableError
from nssa.intel import load_indicators, load_known_good
from nssa.modelfile import load_model
from nssa.settings import Settings
from sensors.capture import (
    PCAP_MAGICS,
    PCAPNG_SHB,
    CaptureFormatError,
    CaptureStats,
    PacketBatch,
    open_capture,
    read_batches,
)
from sensors.capturefiles import CaptureFile, CaptureTally, register
from sensors.decode import decode
from sensors.events import Event, Flow
from sensors.flowbatch import FlowBatch
from sensors.flows import FlowStats, FlowTable
from sensors.logs.reader import LogFormatError, LogStats, read_log
from sensors.logs.rebase import first_log_time, shifted
from sensors.metadata import MetadataExtractor

log = logging.getLogger("nssa.pipeline")

LOG_BATCH = 1000
"""Log events stored and detected per batch."""

Progress = Callable[[int], None]
"""Called with the number of packets in each batch as it is processed."""


@dataclass
class ReplayReport:
    """What a replay read, found and stored."""

    files: int = 0
    capture: CaptureStats = field(default_factory=CaptureStats)
    flows: FlowStats = field(default_factory=FlowStats)
    events: int = 0
    alerts: int = 0
    incidents: int = 0
    suppressed: int = 0  # alert marks: alerts an exception hid from correlation
    seconds: float = 0.0
    unreadable: list[str] = field(default_factory=list)  # files that are not captures
    logs: LogStats = field(default_factory=LogStats)  # log files: lines read and skipped
    intel_suppressed: int = 0  # threat-intel hits on known-good destinations, not raised
    captures: int = 0  # capture files registered (``sensors.capturefiles``)

    @property
    def packets_per_second(self) -> float:
        """Packets read per second of wall time."""
        return self.capture.packets / self.seconds if self.seconds > 0 else 0.0


def build_detectors(settings: Settings) -> list[Detector]:
    """One instance of every registered detector, configured from settings."""
    site = build_site(settings)
    model = load_model(Path(settings.anomaly.model)) if settings.anomaly.model else None
    shared: dict[str, Any] = {
        "site": site,
        "model": model,
        "indicators": load_indicators(settings),
        "known_good": load_known_good(settings),
    }
    return [
        cls(_injected(settings.detector_config(name), shared)) for name, cls in REGISTRY.items()
    ]


def build_site(settings: Settings) -> Site:
    """What detectors know of the site: ``[site]`` plus every unit's subnets."""
    nets = [net for unit in settings.organisation.units for net in unit.subnets]
    internal = tuple(dict.fromkeys([*settings.site.internal, *nets]))
    units = tuple((net, unit.code) for unit in settings.organisation.units for net in unit.subnets)
    return dataclasses.replace(settings.site, internal=internal, units=units)


def _injected(config: Any, shared: Mapping[str, Any]) -> Any:
    """A detector config with each field it declares among ``shared`` set from there.

    What the application loads once (the site, the anomaly model, the intel sets) reaches a
    detector only through a config field of that name: the detector never opens files.
    """
    names = {f.name for f in dataclasses.fields(config)}
    wanted = {name: value for name, value in shared.items() if name in names}
    return dataclasses.replace(config, **wanted) if wanted else config


def first_timestamp(path: Path) -> float | None:
    """Timestamp of the first packet of a capture, or None when it has none."""
    for batch in read_batches(path):
        if len(batch):
            return float(batch.ts[0])
    return None


def capture_flows(
    path: Path,
    table: FlowTable,
    stats: CaptureStats,
    *,
    shift: float = 0.0,
    progress: Progress | None = None,
) -> Iterator[list[Flow]]:
    """Stream a capture through decoding into ``table``, yielding finished flows."""
    for batch in capture_flow_batches(path, table, stats, shift=shift, progress=progress):
        yield batch.records()


def capture_flow_batches(
    path: Path,
    table: FlowTable,
    stats: CaptureStats,
    *,
    shift: float = 0.0,
    progress: Progress | None = None,
) -> Iterator[FlowBatch]:
    """``capture_flows`` as columns: finished flows as non-empty :class:`FlowBatch`es, no
    records built."""
    for batch in _shifted(read_batches(path, stats), shift):
        done = table.add_batch(decode(batch))
        if progress is not None:
            progress(len(batch))
        if len(done):
            yield done
    yield from table.drain_batches()


def capture_events(
    path: Path,
    table: FlowTable,
    metadata: MetadataExtractor,
    stats: CaptureStats,
    *,
    shift: float = 0.0,
    progress: Progress | None = None,
    tally: CaptureTally | None = None,
) -> Iterator[list[Event]]:
    """Stream a capture into flows and application metadata (DNS, HTTP, TLS, SSH events);
    ``tally`` counts the packets and span for the capture registry."""
    for batch in _shifted(read_batches(path, stats), shift):
        if tally is not None:
            tally.add(batch)
        decoded = decode(batch)
        done: list[Event] = [*table.add(decoded), *metadata.add(batch, decoded)]
        if progress is not None:
            progress(len(batch))
        if done:
            yield done
    for flows in table.drain():
        yield list[Event](flows)
    rest: list[Event] = [*metadata.flush()]
    if rest:
        yield rest


def _shifted(batches: Iterable[PacketBatch], shift: float) -> Iterator[PacketBatch]:
    """Batches with ``shift`` seconds added to their timestamps (``--rebase-time``)."""
    for batch in batches:
        yield dataclasses.replace(batch, ts=batch.ts + shift) if shift else batch


def detect(detectors: Sequence[Detector], events: Iterable[Event]) -> list[Alert]:
    """Feed events to the detectors that accept them, in order; return the alerts they raise."""
    return observe_all(detectors, events if isinstance(events, list) else list(events))


def finish(detectors: Sequence[Detector]) -> list[Alert]:
    """Close every detector's open windows at the end of input."""
    return [alert for detector in detectors for alert in detector.flush(float("inf"))]


def replay(
    paths: Sequence[Path],
    settings: Settings,
    store: Store,
    *,
    sensor: str = "replay",
    rebase_to: float | None = None,
    progress: Progress | None = None,
) -> ReplayReport:
    """Run captures through the whole pipeline into ``store``; deterministic for fixed input."""
    started = time.perf_counter()
    report = ReplayReport(files=len(paths))
    shift = _shift(paths, rebase_to)
    detectors = build_detectors(settings)
    alerts: list[Alert] = []
    for path in paths:
        if not is_capture(path):
            alerts.extend(_replay_log(path, detectors, store, report, sensor, shift))
            continue
        table, metadata = FlowTable(sensor, settings.flows), MetadataExtractor(sensor)
        tally = CaptureTally()
        try:
            for events in capture_events(
                path, table, metadata, report.capture, shift=shift, progress=progress, tally=tally
            ):
                report.events += store.put_events(events)
                alerts.extend(detect(detectors, events))
        except CaptureFormatError as exc:
            report.unreadable.append(str(exc))
        else:
            report.captures += _register(store, register(path, sensor, tally, time_shift=shift))
        _add_flow_stats(report.flows, table.stats)
    alerts.extend(finish(detectors))
    report.intel_suppressed = sum(d.stats.suppressed for d in detectors if isinstance(d, Intel))
    # Exceptions hide alerts from correlation; the alerts are still stored, and marked.
    visible, marks = apply_exceptions(alerts, _exceptions(store), settings.organisation)
    incidents = correlate(visible, settings.organisation, settings.correlator)
    report.alerts = store.put_alerts(alerts)
    report.suppressed = _mark(store, marks)
    report.incidents = _store_incidents(store, incidents)
    report.seconds = time.perf_counter() - started
    return report


def is_capture(path: Path) -> bool:
    """Whether a file is a pcap or pcapng capture (by magic bytes, gzip allowed), not a log."""
    try:
        with open_capture(path) as stream:
            head = stream.read(4)
    except (OSError, EOFError):
        return False
    return head in PCAP_MAGICS or head == PCAPNG_SHB


def log_batches(path: Path, sensor: str, stats: LogStats) -> Iterator[list[Event]]:
    """Stream a log file's events in batches (format recognised from its lines)."""
    batch: list[Event] = []
    for parsed in read_log(path, sensor=sensor, stats=stats):
        batch.extend(parsed.events)
        if len(batch) >= LOG_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _replay_log(
    path: Path,
    detectors: Sequence[Detector],
    store: Store,
    report: ReplayReport,
    sensor: str,
    shift: float = 0.0,
) -> list[Alert]:
    """A log file through the same detectors and store as a capture's flows."""
    alerts: list[Alert] = []
    try:
        for batch in log_batches(path, sensor, report.logs):
            events = shifted(batch, shift)  # --rebase-time moves logs with the captures
            report.events += store.put_events(events)
            alerts.extend(detect(detectors, events))
    except (LogFormatError, OSError) as exc:
        report.unreadable.append(str(exc))
    return alerts


def _shift(paths: Sequence[Path], rebase_to: float | None) -> float:
    """Seconds to add to every time so the earliest packet or log event lands at ``rebase_to``."""
    if rebase_to is None:
        return 0.0
    firsts = [t for t in (_first_or_none(p) for p in paths) if t is not None]
    return rebase_to - min(firsts) if firsts else 0.0


def _first_or_none(path: Path) -> float | None:
    if not is_capture(path):
        return first_log_time(path)
    try:
        return first_timestamp(path)
    except CaptureFormatError:
        return None


def _store_incidents(store: Store, incidents: list[Incident]) -> int:
    """Write incidents, keeping the status and history analysts gave their stored versions."""
    try:
        kept = [carry_over(incident, store.incident(incident.id)) for incident in incidents]
    except StoreUnavailableError as exc:
        # The writes below go to the spool; the analysts' edits cannot be read to keep them.
        log.warning("store unreachable, incidents written without stored status: %s", exc)
        kept = incidents
    return store.put_incidents(kept) if kept else 0


def _register(store: Store, capture: CaptureFile | None) -> int:
    """Record a capture just read in the registry, so its packets can be cut out later."""
    if capture is None:
        return 0
    try:
        return store.put_captures([capture])
    except StoreUnavailableError as exc:
        # Not spooled: without the registration only the packet download is missing.
        log.warning("store unreachable, capture %s not registered: %s", capture.path, exc)
        return 0


def _exceptions(store: Store) -> list[AlertException]:
    """The stored exceptions; none while the store is unreachable (writes are spooled)."""
    try:
        return store.exceptions()
    except StoreUnavailableError as exc:
        log.warning("store unreachable, alerts correlated without exceptions: %s", exc)
        return []


def _mark(store: Store, marks: list[AlertMark]) -> int:
    try:
        return store.mark_alerts(marks) if marks else 0
    except StoreUnavailableError as exc:
        log.warning("store unreachable, %d alert marks not written: %s", len(marks), exc)
        return 0


def _add_flow_stats(total: FlowStats, part: FlowStats) -> None:
    for name in (f.name for f in dataclasses.fields(FlowStats)):
        setattr(total, name, getattr(total, name) + getattr(part, name))


def list_flows(
    paths: Sequence[Path], settings: Settings, show: Callable[[list[Flow]], None] | None
) -> dict[str, float | int]:
    """Stream captures into flows, handing each finished batch to ``show``; return counts."""
    started = time.perf_counter()
    capture, flows = CaptureStats(), FlowStats()
    for path in paths:
        table = FlowTable("replay", settings.flows)
        for done in capture_flow_batches(path, table, capture):
            if show is not None:  # a summary only counts: no records built
                show(done.records())
        _add_flow_stats(flows, table.stats)
    seconds = time.perf_counter() - started
    return {
        "files": len(paths),
        "packets": capture.packets,
        "bytes": capture.bytes,
        "flows": flows.flows,
        "non_ip": flows.non_ip,
        "later_fragments": flows.later_fragments,
        "no_transport": flows.no_transport,
        "truncated_records": capture.truncated_records,
        "corrupt_records": capture.corrupt_records,
        "cut_off": int(capture.cut_off),
        "evicted": flows.evicted,
        "seconds": round(seconds, 3),
        "packets_per_second": round(capture.packets / seconds) if seconds > 0 else 0,
    }
