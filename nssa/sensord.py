"""``nssa sensor``: the live sensor daemon for one mirror link.

Capture, decoding, flows and detectors run in one process; finished flows and alerts go to
the configured store. The wall clock enters only here, to expire idle flows when the link is
quiet. SIGTERM drains the ring, flushes open flows and detector windows, and exits cleanly.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from correlator.storage import Store
from detectors.base import Detector
from nssa.errors import ConfigError
from nssa.pipeline import build_detectors, detect
from nssa.settings import SensorLink, Settings
from sensors.bpf import FilterError
from sensors.capture import PacketBatch
from sensors.decode import decode
from sensors.events import Event
from sensors.flows import FlowTable
from sensors.live import RingCapture, RingConfig
from sensors.metadata import MetadataExtractor

log = logging.getLogger("nssa.sensor")
TICK_SECONDS = 1.0  # how often idle flows are expired and counters logged


@dataclass
class SensorReport:
    """What a sensor run captured and wrote."""

    packets: int = 0
    kernel_drops: int = 0
    flows: int = 0
    alerts: int = 0


def find_link(settings: Settings, name: str) -> tuple[int, SensorLink]:
    """The link called ``name`` in the settings, with its index (for error messages)."""
    for index, link in enumerate(settings.sensors):
        if link.name == name:
            return index, link
    names = ", ".join(link.name for link in settings.sensors) or "none configured"
    raise ConfigError(settings.source, "sensors", f"no link named {name!r} ({names})")


def open_capture(settings: Settings, name: str) -> tuple[SensorLink, RingCapture]:
    """Open the ring on the link's interface; bad filters fail here, naming their key."""
    index, link = find_link(settings, name)
    config = RingConfig(fanout_group=link.fanout_group)
    try:
        return link, RingCapture(link.interface, config, link.bpf)
    except FilterError as exc:
        raise ConfigError(settings.source, f"sensors[{index}].bpf", str(exc)) from exc
    except OSError as exc:
        raise ConfigError(
            settings.source, f"sensors[{index}].interface", f"cannot capture: {exc}"
        ) from exc


def run_sensor(
    settings: Settings, name: str, store: Store, *, ready: Callable[[str], None]
) -> SensorReport:
    """Capture from link ``name`` until SIGTERM or SIGINT; return what was done."""
    link, capture = open_capture(settings, name)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    table, metadata = FlowTable(link.name, settings.flows), MetadataExtractor(link.name)
    detectors = build_detectors(settings)
    report = SensorReport()
    ready(f"capturing on {link.interface} for link {link.name}")
    last_tick = time.monotonic()
    try:
        for batch in capture.batches():
            flows = _events(batch, table, metadata)
            if time.monotonic() - last_tick >= TICK_SECONDS or stop.is_set():
                flows += table.expire(time.time())
                _log_counters(capture, report)
                last_tick = time.monotonic()
            _deliver(flows, detectors, store, report, now=None)
            if stop.is_set() and batch is None:
                break
        _deliver([*table.flush(), *metadata.flush()], detectors, store, report, now=float("inf"))
    finally:
        report.packets = capture.kernel_stats().received
        report.kernel_drops = capture.stats.kernel_drops
        capture.close()
    return report


def _events(
    batch: PacketBatch | None, table: FlowTable, metadata: MetadataExtractor
) -> list[Event]:
    """Finished flows and application metadata of one captured batch."""
    if batch is None or not len(batch):
        return []
    decoded = decode(batch)
    return [*table.add(decoded), *metadata.add(batch, decoded)]


def _deliver(
    flows: list[Event],
    detectors: Sequence[Detector],
    store: Store,
    report: SensorReport,
    *,
    now: float | None,
) -> None:
    """Store finished flows and the alerts they (and, at the end, closing windows) raise."""
    alerts = detect(detectors, flows)
    if now is not None:
        alerts += [a for d in detectors for a in d.flush(now)]
    if flows:
        report.flows += store.put_events(flows)
    if alerts:
        report.alerts += store.put_alerts(alerts)


def _log_counters(capture: RingCapture, report: SensorReport) -> None:
    stats = capture.kernel_stats()
    if stats.kernel_drops > report.kernel_drops:
        log.warning(
            "kernel dropped %d packets (ring full)", stats.kernel_drops - report.kernel_drops
        )
    report.kernel_drops = stats.kernel_drops
