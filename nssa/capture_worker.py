"""The capture side of the sensor daemon: ring → decoding → flow table → metadata → events.

This is the part that must keep up with the link. It runs either in the daemon's own process
(``workers = 0``) or in worker processes of its own, which send their finished events to the
daemon as pickled batches over a pipe, so the detectors and the store writer run on another
core. With several workers the kernel spreads the link's flows over their rings
(PACKET_FANOUT_HASH hashes both directions of a flow alike), each with its own flow table.
The wall clock enters only here, to expire idle flows when the link is quiet.
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as ProcessEvent

from nssa.errors import ConfigError
from nssa.settings import SensorLink, Settings
from sensors.bpf import FilterError
from sensors.capture import PacketBatch
from sensors.capturefiles import CaptureFile
from sensors.decode import decode
from sensors.events import Event
from sensors.flowbatch import FlowBatch
from sensors.flows import FlowTable
from sensors.live import RingCapture
from sensors.metadata import MetadataExtractor
from sensors.recorder import CaptureRecorder

log = logging.getLogger("nssa.sensor")

TICK_SECONDS = 1.0  # how often idle flows are expired and counters reported


@dataclass(frozen=True)
class CaptureCounters:
    """One capture's running totals (since it started)."""

    packets: int = 0  # packets read from the ring (own outgoing ones excluded)
    kernel_drops: int = 0  # packets the kernel dropped because the ring was full


@dataclass(frozen=True)
class WorkerReady:
    """A worker's ring is open: the daemon may say it is capturing."""

    worker: int


@dataclass(frozen=True)
class WorkerFailed:
    """A worker could not open its ring; the settings key at fault and why."""

    key: str
    problem: str


Part = FlowBatch | list[Event]
"""Finished flows as columns, or metadata events: a capture's output in the order made."""


@dataclass(frozen=True)
class EventBatch:
    """Finished flows and events of one or more ring batches, with the counters then."""

    parts: list[Part]
    counters: CaptureCounters | None


def part_events(parts: list[Part]) -> list[Event]:
    """The events of ``parts`` in order, flow records built from their columns here.

    Workers send flows as columns: numpy arrays cross the pipe for a fraction of what
    pickling each record costs, and the capture side, the one that must keep up with the
    link, never builds the records."""
    events: list[Event] = []
    for part in parts:
        events.extend(part.records() if isinstance(part, FlowBatch) else part)
    return events


@dataclass(frozen=True)
class WorkerDone:
    """The worker drained its ring and flushed its flows; its final counters."""

    counters: CaptureCounters


@dataclass(frozen=True)
class CapturesClosed:
    """Capture files the worker closed (``[[sensors]] capture_dir``), to register."""

    files: list[CaptureFile]


Emit = Callable[[list[Part], CaptureCounters | None], None]
Register = Callable[[list[CaptureFile]], None]


def open_capture(
    settings: Settings, index: int, link: SensorLink, fanout: int | None
) -> RingCapture:
    """Open the ring on the link's interface; bad filters fail here, naming their key."""
    config = dataclasses.replace(link.ring(), fanout_group=fanout)
    try:
        return RingCapture(link.interface, config, link.bpf)
    except FilterError as exc:
        raise ConfigError(settings.source, f"sensors[{index}].bpf", str(exc)) from exc
    except OSError as exc:
        raise ConfigError(
            settings.source, f"sensors[{index}].interface", f"cannot capture: {exc}"
        ) from exc


def capture_events(
    capture: RingCapture,
    settings: Settings,
    link: SensorLink,
    stop: Callable[[], bool],
    emit: Emit,
    register: Register | None = None,
    tag: str = "",
) -> CaptureCounters:
    """Read the ring until ``stop()``, then drain it and flush open flows; final counters.

    With ``register`` and the link's ``capture_dir``, packets are also kept in rotating
    files (file names carry ``tag``), each handed to ``register`` once closed."""
    table, metadata = FlowTable(link.name, settings.flows), MetadataExtractor(link.name)
    config = link.recorder() if register is not None else None
    recorder = CaptureRecorder(link.name, config, tag=tag) if config else None
    last_tick = time.monotonic()
    try:
        for batch in capture.batches():
            if recorder is not None and register is not None and batch is not None:
                recorder = _record(recorder, batch, register)
            parts = _parts(batch, table, metadata)
            stopping = stop()
            counters = None
            if time.monotonic() - last_tick >= TICK_SECONDS or stopping:
                parts.append(table.expire_batch(_expiry_time(batch)))
                counters = _counters(capture)
                last_tick = time.monotonic()
            parts = [part for part in parts if len(part)]
            if parts or counters is not None:
                emit(parts, counters)
            if stopping and batch is None:
                break
        final = _counters(capture)
        emit([*table.drain_batches(), metadata.flush()], final)
        if recorder is not None and register is not None:
            register(recorder.close())
    finally:
        capture.close()
    return final


def _record(
    recorder: CaptureRecorder, batch: PacketBatch, register: Register
) -> CaptureRecorder | None:
    """Keep a batch in the capture files; on a disk error stop keeping them, not capturing."""
    try:
        closed = recorder.add(batch)
    except OSError as exc:
        log.error("capture files in %s stopped: %s", recorder.config.directory, exc)
        return None
    if closed:
        register(closed)
    return recorder


def worker_main(
    settings: Settings,
    index: int,
    worker: int,
    fanout: int | None,
    conn: Connection,
    stop: ProcessEvent,
) -> None:
    """A capture worker process: open the ring, say so, send events until told to stop."""
    terminated = threading.Event()
    # SIGTERM to the whole service (systemd) or to this worker alone: drain and flush.
    signal.signal(signal.SIGTERM, lambda *_: terminated.set())
    # Ctrl-C reaches every process of the terminal: the daemon decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    link = settings.sensors[index]
    try:
        capture = open_capture(settings, index, link, fanout)
    except ConfigError as exc:
        conn.send(WorkerFailed(exc.key, exc.problem))
        return
    conn.send(WorkerReady(worker))

    def emit(parts: list[Part], counters: CaptureCounters | None) -> None:
        conn.send(EventBatch(parts, counters))

    def register(files: list[CaptureFile]) -> None:
        if files:
            conn.send(CapturesClosed(files))

    stopping = lambda: terminated.is_set() or stop.is_set()  # noqa: E731
    final = capture_events(capture, settings, link, stopping, emit, register, f"w{worker}")
    conn.send(WorkerDone(final))
    conn.close()


def _parts(batch: PacketBatch | None, table: FlowTable, metadata: MetadataExtractor) -> list[Part]:
    """Finished flows (as columns) and application metadata of one captured batch."""
    if batch is None or not len(batch):
        return []
    decoded = decode(batch)
    return [table.add_batch(decoded), metadata.add(batch, decoded)]


def _expiry_time(batch: PacketBatch | None) -> float:
    """The time idle flows are judged by: now when the ring is empty, else the newest packet's.

    While a backlog is worked off the wall clock runs ahead of the packets and would cut
    flows whose later packets still wait in the ring."""
    if batch is None or not len(batch):
        return time.time()
    return float(batch.ts.max())


def _counters(capture: RingCapture) -> CaptureCounters:
    stats = capture.kernel_stats()
    return CaptureCounters(packets=stats.received, kernel_drops=stats.kernel_drops)
