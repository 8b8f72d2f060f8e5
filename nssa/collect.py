"""The log collector daemon (``nssa collect``): syslog listeners and followed files →
parsers → detectors → store, until SIGTERM, then everything queued is drained and stored.

Read top to bottom: :func:`collect` starts the receivers, then each round takes what arrived
(up to a batch), parses it, stores the events, runs the detectors, stores their alerts and only
then saves the file offsets, so a crash re-reads at most one batch (same ids: no duplicates).
"""

from __future__ import annotations

import dataclasses
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from correlator.storage import Store
from detectors.base import Detector
from nssa.errors import ConfigError
from nssa.pipeline import build_detectors, detect, finish
from nssa.settings import CollectSettings, Settings
from sensors.events import AuthEvent, Event, FirewallEvent, HttpRequest, IdsAlert, WebError
from sensors.logs.formats import SyslogParser
from sensors.logs.parser import LineParser, LogContext
from sensors.logs.reader import LogFormatError, LogStats, make_parser, sample_lines
from sensors.logs.receiver import Listener, Received, ReceiverStats, SyslogReceiver
from sensors.logs.tail import FileTail, Offsets


@dataclass
class CollectReport:
    """What a collector run received, parsed, stored and had to drop."""

    receiver: ReceiverStats = field(default_factory=ReceiverStats)
    files: LogStats = field(default_factory=LogStats)
    messages: int = 0
    unparsed_messages: int = 0
    events: int = 0
    alerts: int = 0


@dataclass
class _Followed:
    """One followed file with its own parser (Zeek headers and sshd peers are per file)."""

    tail: FileTail
    parser: LineParser


def listeners(config: CollectSettings) -> list[Listener]:
    """The configured syslog listeners (TLS with the configured certificate)."""
    found = []
    for transport in ("udp", "tcp", "tls"):
        address = getattr(config, transport)
        if address:
            host, _, port = address.rpartition(":")
            tls = _tls_context(config) if transport == "tls" else None
            found.append(
                Listener(transport=transport, host=host.strip("[]"), port=int(port), tls=tls)
            )
    return found


def collect(
    settings: Settings,
    store: Store,
    stop: threading.Event,
    *,
    sensor: str = "collector",
    ready: threading.Event | None = None,
    receiver: SyslogReceiver | None = None,
) -> CollectReport:
    """Run until ``stop`` is set; then drain the queue, flush detectors and save offsets."""
    config = settings.collect
    report = CollectReport()
    receiver = receiver or SyslogReceiver(config.queue_size, config.max_message)
    receiver.start(listeners(config))
    report.receiver = receiver.stats
    offsets = Offsets(Path(config.offsets))
    followed = _follow(config, offsets, sensor, report.files)
    detectors = build_detectors(settings)
    network = SyslogParser(LogContext(sensor=sensor, year=datetime.now(UTC).year))
    if ready is not None:
        ready.set()
    while not stop.is_set():
        _round(receiver, network, followed, detectors, store, offsets, report, config)
    receiver.stop()
    while True:  # drain everything accepted before the stop, then the files once more
        _round(receiver, network, followed, detectors, store, offsets, report, config, wait=0)
        if receiver.queue.empty():
            break
    report.alerts += store.put_alerts(finish(detectors)) if detectors else 0
    for item in followed:
        item.tail.close()
    return report


def _round(
    receiver: SyslogReceiver,
    network: LineParser,
    followed: list[_Followed],
    detectors: Sequence[Detector],
    store: Store,
    offsets: Offsets,
    report: CollectReport,
    config: CollectSettings,
    wait: float | None = None,
) -> None:
    """One batch: received messages and new file lines → events → store → detectors → store."""
    messages = receiver.queue.take(config.batch, config.poll_seconds if wait is None else wait)
    events = [e for m in messages for e in _message_events(network, m, report)]
    for item in followed:
        for number, text in item.tail.poll():
            events.extend(_line_events(item.parser, text, number, report.files))
    if events:
        report.events += store.put_events(events)
        alerts = detect(detectors, events)
        report.alerts += store.put_alerts(alerts) if alerts else 0
    if followed:  # committed only now that the lines' events are stored
        offsets.save([p for item in followed for p in item.tail.positions])


def _message_events(parser: LineParser, message: Received, report: CollectReport) -> list[Event]:
    report.messages += 1
    try:
        events = parser.parse(message.text, None)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError):
        events = None
    if events is None:
        report.unparsed_messages += 1
        return []
    sender = message.sender.rsplit(":", 1)[0]
    return [_with_source(e, sender) for e in events]


def _with_source(event: Event, sender: str) -> Event:
    """The event with the syslog sender's address kept (``log.source.address``)."""
    if isinstance(event, AuthEvent | FirewallEvent | HttpRequest | IdsAlert | WebError):
        return dataclasses.replace(event, log_source=sender)
    return event


def _line_events(parser: LineParser, text: str, number: int, stats: LogStats) -> list[Event]:
    try:
        events = parser.parse(text, number) if text.strip() else []
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError):
        events = None
    if events is None:
        stats.unparsed += 1
        return []
    stats.events += len(events)
    return events


def _follow(
    config: CollectSettings, offsets: Offsets, sensor: str, stats: LogStats
) -> list[_Followed]:
    saved, rotated = offsets.load(), offsets.rotated()
    followed = []
    for name in config.files:
        path = Path(name)
        context = LogContext(sensor=sensor, origin=path.name, year=datetime.now(UTC).year)
        try:
            parser = make_parser(config.file_format, context, partial(_sample, path))
        except LogFormatError:  # empty or not yet created: read it as a mixed syslog file
            parser = SyslogParser(context)
        tail = FileTail(path, saved.get(str(path)), stats, rotated=rotated.get(str(path), ()))
        followed.append(_Followed(tail, parser))
    return followed


def _sample(path: Path) -> list[str]:
    return sample_lines(path) if path.exists() else []


def _tls_context(config: CollectSettings) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(config.tls_cert, config.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError("<settings>", "collect.tls_cert", f"cannot load: {exc}") from exc
    return context
