"""``nssa sensor``: the live sensor daemon for one mirror link.

Capture, decoding, flows and application metadata run in capture workers (``[[sensors]]
workers``, see :mod:`nssa.capture_worker`); this process runs the detectors over their events
and hands flows and alerts to the store writer (:mod:`nssa.store_writer`), so neither the
capture nor the detectors wait on the store. Packets, kernel drops, queue drops, spooled
records, events and alerts are logged every tick and reported at the end. SIGTERM drains the
rings, flushes open flows and detector windows, writes everything queued and exits cleanly.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from correlator.storage import Store
from detectors.base import Detector
from nssa.capture_worker import (
    TICK_SECONDS,
    CaptureCounters,
    CapturesClosed,
    EventBatch,
    Part,
    WorkerDone,
    WorkerFailed,
    capture_events,
    open_capture,
    part_events,
    worker_main,
)
from nssa.errors import ConfigError, MonitorError, StoreError
from nssa.pipeline import build_detectors, detect, finish
from nssa.settings import SensorLink, Settings
from nssa.store_writer import StoreWriter, WriteKind
from sensors.capturefiles import CaptureFile

log = logging.getLogger("nssa.sensor")


@dataclass
class SensorReport:
    """What a sensor run captured, found and wrote."""

    packets: int = 0
    kernel_drops: int = 0
    flows: int = 0  # events (flows and metadata) the capture produced
    alerts: int = 0
    queue_drops: int = 0  # records lost between the detectors and the store (logged)
    spooled: int = 0  # records spooled because the store writer was behind


def find_link(settings: Settings, name: str) -> tuple[int, SensorLink]:
    """The link called ``name`` in the settings, with its index (for error messages)."""
    for index, link in enumerate(settings.sensors):
        if link.name == name:
            return index, link
    names = ", ".join(link.name for link in settings.sensors) or "none configured"
    raise ConfigError(settings.source, "sensors", f"no link named {name!r} ({names})")


def run_sensor(
    settings: Settings, name: str, store: Store, *, ready: Callable[[str], None]
) -> SensorReport:
    """Capture from link ``name`` until SIGTERM or SIGINT; return what was done."""
    index, link = find_link(settings, name)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    announce = f"capturing on {link.interface} for link {link.name}"
    detectors = build_detectors(settings) if link.detect else []
    _check_capture_dir(settings, index, link)
    if link.workers == 0:
        capture = open_capture(settings, index, link, link.fanout_group)
        analysis = _Analysis(detectors, StoreWriter(store, link.write_queue), 1, stop)
        ready(f"{announce} (in process)")
        capture_events(capture, settings, link, stop.is_set, analysis.take, analysis.register)
        return analysis.finish()
    workers = _Workers(settings, index, link)  # forked before the writer thread starts
    try:
        workers.wait_ready()
        writer = StoreWriter(store, link.write_queue)
        analysis = _Analysis(detectors, writer, link.workers, stop)
        ready(f"{announce} ({link.workers} capture workers)")
        workers.run(stop, analysis)
    finally:
        workers.close()
    report = analysis.finish()
    if workers.lost:
        # Exit non-zero so the service manager restarts the sensor (after what was saved).
        raise MonitorError(f"capture workers {workers.lost} died; their open flows are lost")
    return report


def _check_capture_dir(settings: Settings, index: int, link: SensorLink) -> None:
    """Create the link's capture folder at start; ConfigError naming the key if we cannot."""
    config = link.recorder()
    if config is None:
        return
    try:
        config.directory.mkdir(parents=True, exist_ok=True)
        probe = config.directory / f".nssa-write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            settings.source, f"sensors[{index}].capture_dir", f"cannot write there: {exc}"
        ) from exc


class _Analysis:
    """Detectors over the workers' events, the store writer behind them, and the counters."""

    def __init__(
        self,
        detectors: Sequence[Detector],
        writer: StoreWriter,
        workers: int,
        stopping: threading.Event,
    ) -> None:
        self.detectors = detectors
        self.writer = writer
        self.stopping = stopping
        self.report = SensorReport()
        self.counters = [CaptureCounters()] * workers
        self._logged = SensorReport()
        self._last_log = time.monotonic()

    def take(self, parts: list[Part], counters: CaptureCounters | None, worker: int = 0) -> None:
        """Detect over one batch of flows and events, and queue them and their alerts for the
        store."""
        if counters is not None:
            self.counters[worker] = counters
        if self.stopping.is_set():
            # The capture is flushing its open flows: a burst with no packets behind it.
            self.writer.drain()
        events = part_events(parts)
        if events:
            alerts = detect(self.detectors, events) if self.detectors else []
            self.report.flows += len(events)
            self.report.alerts += len(alerts)
            self.writer.put(WriteKind.EVENTS, events)
            self.writer.put(WriteKind.ALERTS, alerts)
        if time.monotonic() - self._last_log >= TICK_SECONDS:
            self.log_counters()

    def register(self, files: list[CaptureFile]) -> None:
        """Record closed capture files in the store's registry (directly: a few a minute)."""
        for capture in files:
            log.info("capture file %s closed: %d packets", capture.path, capture.packets)
        try:
            self.writer.store.put_captures(files)
        except StoreError as exc:
            log.warning("%d capture files not registered: %s", len(files), exc)

    def log_counters(self) -> None:
        """One log line of the running totals; a warning when anything was dropped."""
        self._last_log = time.monotonic()
        now, before = self._totals(), self._logged
        if now.kernel_drops > before.kernel_drops:
            log.warning(
                "kernel dropped %d packets (ring full)", now.kernel_drops - before.kernel_drops
            )
        if now.queue_drops > before.queue_drops:
            log.warning("%d records dropped before the store", now.queue_drops - before.queue_drops)
        log.info(
            "packets %d (+%d), kernel drops %d, queue drops %d, spooled %d, flows %d, alerts %d,"
            " write queue %d",
            now.packets,
            now.packets - before.packets,
            now.kernel_drops,
            now.queue_drops,
            now.spooled,
            now.flows,
            now.alerts,
            self.writer.stats.queued,
        )
        self._logged = now

    def finish(self) -> SensorReport:
        """Close the detectors' windows, write everything queued, log and return the totals."""
        closing = finish(self.detectors)
        self.report.alerts += len(closing)
        self.writer.put(WriteKind.ALERTS, closing)
        stats = self.writer.close()
        log.info("store writer: %.1f CPU s in its thread", stats.cpu_seconds)
        self.log_counters()
        return self._totals()

    def _totals(self) -> SensorReport:
        stats = self.writer.stats
        return SensorReport(
            packets=sum(c.packets for c in self.counters),
            kernel_drops=sum(c.kernel_drops for c in self.counters),
            flows=self.report.flows,
            alerts=self.report.alerts,
            queue_drops=stats.dropped,
            spooled=stats.spooled,
        )


class _Workers:
    """The capture worker processes of one link and the pipes their events arrive on."""

    def __init__(self, settings: Settings, index: int, link: SensorLink) -> None:
        # fork: workers start at once with the settings already parsed; the daemon has no
        # threads yet (the store writer starts after), so nothing is copied mid-update.
        context = multiprocessing.get_context("fork")
        self.settings = settings
        self.stop = context.Event()
        fanout = link.fanout_group
        if fanout is None and link.workers > 1:
            fanout = os.getpid() & 0xFFFF  # unique on this host while the daemon runs
        self.processes: list[BaseProcess] = []
        self.pipes: dict[Connection, int] = {}
        self.lost: list[int] = []  # workers that died instead of draining
        for worker in range(link.workers):
            receiving, sending = context.Pipe(duplex=False)
            process = context.Process(
                target=worker_main,
                args=(settings, index, worker, fanout, sending, self.stop),
                name=f"nssa-capture-{link.name}-{worker}",
                daemon=True,
            )
            process.start()
            sending.close()
            self.processes.append(process)
            self.pipes[receiving] = worker

    def wait_ready(self) -> None:
        """Wait until every worker has its ring open; ConfigError if one could not."""
        for pipe in self.pipes:
            try:
                message = pipe.recv()
            except EOFError:
                raise ConfigError(
                    self.settings.source, "sensors", "a capture worker died"
                ) from None
            if isinstance(message, WorkerFailed):
                raise ConfigError(self.settings.source, message.key, message.problem)

    def run(self, stop: threading.Event, analysis: _Analysis) -> None:
        """Take the workers' events until every one of them has drained and flushed."""
        open_pipes = dict(self.pipes)
        while open_pipes:
            if stop.is_set() and not self.stop.is_set():
                self.stop.set()
            for pipe in wait(list(open_pipes), timeout=TICK_SECONDS):
                assert isinstance(pipe, Connection)
                worker = open_pipes[pipe]
                try:
                    message = pipe.recv()
                except EOFError:
                    log.error("capture worker %d ended without flushing its flows", worker)
                    self.lost.append(worker)
                    del open_pipes[pipe]
                    continue
                if isinstance(message, EventBatch):
                    analysis.take(message.parts, message.counters, worker)
                elif isinstance(message, CapturesClosed):
                    analysis.register(message.files)
                elif isinstance(message, WorkerDone):
                    analysis.take([], message.counters, worker)
                    del open_pipes[pipe]
            analysis.take([], None)  # logs the counters when a tick has passed

    def close(self) -> None:
        """Stop and reap the workers (at once if they are still capturing: an error path)."""
        self.stop.set()
        for process in self.processes:
            process.join(timeout=TICK_SECONDS * 5)
            if process.is_alive():
                process.terminate()
                process.join()
        for pipe in self.pipes:
            pipe.close()
