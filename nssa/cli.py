"""The ``nssa`` command: a thin click group over library code."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from correlator.storage import AlertQuery, IncidentQuery, Store
from correlator.views import alert_view, incident_view
from nssa.baselines import baseline_detectors
from nssa.errors import MonitorError
from nssa.evaluate import evaluate, render
from nssa.heap import settle_heap
from nssa.pipeline import Progress, ReplayReport, build_detectors, list_flows, replay
from nssa.settings import Settings, load_settings
from nssa.stores import open_store
from nssa.webroc import labelled_requests, render_roc
from nssa.webroc import web_roc as web_roc_rows
from sensors.ecs import format_time
from sensors.events import Flow
from sensors.logs.formats import PARSERS
from sensors.logs.reader import LogFormatError, LogStats, read_log
from sensors.logs.summary import summarise

CONFIG_ENV = "NSSA_CONFIG"
STORE_ENV = "NSSA_STORE"


def default_store_url(settings: Settings) -> str:
    """``--store`` default: the settings file's store, else $NSSA_STORE, else ./nssa.db."""
    return (
        settings.store.url
        or os.environ.get(STORE_ENV, "")
        or f"sqlite:///{Path.cwd().resolve() / 'nssa.db'}"
    )


# Annotated: nssa.cli_correlate imports these while this module is still loading.
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
config_option: Decorator = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar=CONFIG_ENV,
    help="Settings file (TOML); default: built-in defaults, or $NSSA_CONFIG.",
)
store_option: Decorator = click.option(
    "--store", "store_url", help="sqlite:///ABS/PATH.db or http(s)://HOST:PORT."
)
json_option: Decorator = click.option(
    "--json", "as_json", is_flag=True, help="One JSON object per line."
)


@contextmanager
def _opened(settings: Settings, store_url: str | None) -> Iterator[Store]:
    store = open_store(store_url or default_store_url(settings), settings.store)
    try:
        yield store
    finally:
        store.close()


class _Group(click.Group):
    """Turns NSSA errors into one clear line on stderr and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MonitorError as exc:
            click.echo(f"nssa: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="nssa")
def main() -> None:
    """NSSA: network-security situational awareness (网络安全态势感知) for a city."""
    settle_heap()  # start-up is over: every command below is a long run (see nssa.heap)


@main.group("config")
def config_group() -> None:
    """Inspect settings files."""


@config_group.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def config_check(file: Path) -> None:
    """Validate a settings file; exit 2 naming the key that is wrong."""
    settings = load_settings(file)
    units = len(settings.organisation.units)
    click.echo(
        f"{file}: OK: {units} units, {len(settings.sensors)} sensor links, "
        f"detectors configured: {', '.join(settings.detectors) or 'defaults'}"
    )


@main.command("replay")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@config_option
@store_option
@click.option("--rebase-time", is_flag=True, help="Shift capture timestamps so they start now.")
@click.option("--sensor", default="replay", show_default=True, help="Observer name to record.")
def replay_command(
    paths: tuple[Path, ...],
    config_path: Path | None,
    store_url: str | None,
    rebase_time: bool,
    sensor: str,
) -> None:
    """Replay captures through the whole pipeline into the store."""
    settings = load_settings(config_path)
    rebase_to = time.time() if rebase_time else None
    with _opened(settings, store_url) as store, _progress(paths) as progress:
        report = replay(
            list(paths), settings, store, sensor=sensor, rebase_to=rebase_to, progress=progress
        )
    _echo_report(report)
    if len(report.unreadable) == len(paths):
        raise click.exceptions.Exit(2)


@main.command("evaluate")
@click.argument("corpus", type=click.Path(exists=True, file_okay=False, path_type=Path))
@config_option
@json_option
@click.option("--web-roc", is_flag=True, help="Also score labelled web requests (TPR at FPR).")
def evaluate_command(corpus: Path, config_path: Path | None, as_json: bool, web_roc: bool) -> None:
    """Score the detectors on a labelled corpus (MANIFEST.tsv) beside Zeek's defaults."""
    settings = load_settings(config_path)
    result = evaluate(corpus, settings, lambda: build_detectors(settings), baseline_detectors)
    roc = web_roc_rows(labelled_requests(corpus, settings)) if web_roc else []
    if not as_json:
        click.echo(render(result))
        if roc:
            click.echo(render_roc(roc))
        return
    for mine, base in result.rows():
        row = {"category": mine.category, "ours": asdict(mine), "baseline": asdict(base)}
        click.echo(json.dumps(row, ensure_ascii=False))
    for mine_file, base_file in zip(result.ours, result.baseline, strict=True):
        click.echo(json.dumps({"file": asdict(mine_file), "baseline": asdict(base_file)}))
    for point in roc:
        click.echo(json.dumps({"web_roc": asdict(point)}))


@contextmanager
def _progress(paths: tuple[Path, ...]) -> Iterator[Progress | None]:
    """A packets/s progress bar on a terminal; nothing when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    started = time.perf_counter()
    seen = 0
    with click.progressbar(length=0, label="packets", file=sys.stderr) as bar:

        def advance(count: int) -> None:
            nonlocal seen
            seen += count
            rate = seen / max(time.perf_counter() - started, 1e-9)
            bar.label = f"{seen:,} packets ({rate:,.0f}/s)"
            bar.render_progress()

        yield advance


def _echo_report(report: ReplayReport) -> None:
    cap, flows = report.capture, report.flows
    click.echo(
        f"replayed {report.files} file(s): {cap.packets} packets, {report.events} flows, "
        f"{report.alerts} alerts, {report.incidents} incidents "
        f"in {report.seconds:.2f}s ({report.packets_per_second:,.0f} packets/s)"
    )
    problems = {
        "truncated records": cap.truncated_records,
        "corrupt records": cap.corrupt_records,
        "non-IP packets": flows.non_ip,
        "later fragments": flows.later_fragments,
        "packets without transport header": flows.no_transport,
        "flows evicted early": flows.evicted,
        "threat-intel hits on known-good destinations suppressed": report.intel_suppressed,
    }
    noted = [f"{count} {what}" for what, count in problems.items() if count]
    if cap.cut_off:
        noted.append("file cut off mid-record")
    noted.extend(f"{count} {what}" for what, count in report.logs.problems().items())
    noted.extend(f"unreadable: {problem}" for problem in report.unreadable)
    if noted:
        click.echo("skipped/noted: " + ", ".join(noted), err=True)


@main.command("parse")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "log_format",
    type=click.Choice(["auto", *PARSERS]),
    default="auto",
    show_default=True,
    help="Log format; auto recognises it from the first lines.",
)
@json_option
@click.option("--sensor", default="logs", show_default=True, help="Observer name to record.")
def parse_command(file: Path, log_format: str, as_json: bool, sensor: str) -> None:
    """Print the events of a log file; report unparsed lines on stderr."""
    stats = LogStats()
    try:
        for parsed in read_log(file, log_format, sensor=sensor, stats=stats):
            for event in parsed.events:
                row = parsed_row(parsed.number, event)
                click.echo(json.dumps(row, ensure_ascii=False) if as_json else _parsed_text(row))
    except LogFormatError as exc:
        click.echo(f"nssa: {exc}", err=True)
        raise click.exceptions.Exit(2) from exc
    _echo_log_stats(file, stats)


def parsed_row(line: int, event: Any) -> dict[str, Any]:
    """The ``nssa parse --json`` object of one event found on ``line``."""
    summary = summarise(event)
    return {
        "line": line,
        "event_kind": summary.kind,
        "outcome": summary.outcome.value,
        "source_ip": summary.source_ip,
        "destination_ip": summary.destination_ip,
        "user": summary.user,
        "time": format_time(summary.time),
    }


def _parsed_text(row: dict[str, Any]) -> str:
    user = f" user={row['user']}" if row["user"] else ""
    return (
        f"{row['line']:>6} {row['time']} {row['event_kind']:<8} {row['outcome']:<7} "
        f"{row['source_ip'] or '-'} -> {row['destination_ip'] or '-'}{user}"
    )


def _echo_log_stats(file: Path, stats: LogStats) -> None:
    """One stderr line: how much was understood, and what was skipped (with line numbers)."""
    summary = (
        f"{file}: {stats.lines} lines, {stats.events} events from {stats.parsed} lines, "
        f"{stats.quiet} lines with nothing to report"
    )
    problems = ", ".join(f"{count} {what}" for what, count in stats.problems().items())
    click.echo(summary + (f"; {problems}" if problems else ""), err=True)
    if stats.unparsed_lines:
        shown = ", ".join(str(n) for n in stats.unparsed_lines)
        more = " ..." if stats.unparsed > len(stats.unparsed_lines) else ""
        click.echo(f"{file}: unparsed lines: {shown}{more}", err=True)


@main.command("flows")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@config_option
@json_option
@click.option("--summary", is_flag=True, help="Only packet, flow and error counts and packets/s.")
def flows_command(
    paths: tuple[Path, ...], config_path: Path | None, as_json: bool, summary: bool
) -> None:
    """Print the flows of captures."""
    settings = load_settings(config_path)
    report = list_flows(list(paths), settings, None if summary else _print_flows(as_json))
    click.echo(json.dumps(report, ensure_ascii=False) if summary else "", nl=summary)


def _print_flows(as_json: bool) -> Any:
    def show(flows: list[Flow]) -> None:
        for flow in flows:
            row = flow_row(flow)
            click.echo(json.dumps(row, ensure_ascii=False) if as_json else _flow_text(row))

    return show


def flow_row(flow: Flow) -> dict[str, Any]:
    """The ``nssa flows --json`` object of a flow."""
    return {
        "src_ip": flow.src_ip,
        "src_port": flow.src_port,
        "dst_ip": flow.dst_ip,
        "dst_port": flow.dst_port,
        "transport": flow.transport.value,
        "packets_out": flow.packets_out,
        "packets_in": flow.packets_in,
        "bytes_out": flow.bytes_out,
        "bytes_in": flow.bytes_in,
        "first_seen": format_time(flow.start),
        "last_seen": format_time(flow.end),
        "outcome": flow.outcome.value,
        "flags_out": flow.flags_out,
        "flags_in": flow.flags_in,
        "vlan": flow.vlan,
    }


def _flow_text(row: dict[str, Any]) -> str:
    return (
        f"{row['first_seen']} {row['transport']:<4} {row['src_ip']}:{row['src_port']} -> "
        f"{row['dst_ip']}:{row['dst_port']} out {row['packets_out']}p/{row['bytes_out']}B "
        f"in {row['packets_in']}p/{row['bytes_in']}B {row['outcome']}"
    )


@main.command("incidents")
@config_option
@store_option
@json_option
@click.option("--limit", default=100, show_default=True)
def incidents_command(
    config_path: Path | None, store_url: str | None, as_json: bool, limit: int
) -> None:
    """List stored incidents, highest risk first."""
    settings = load_settings(config_path)
    with _opened(settings, store_url) as store:
        incidents = store.incidents(IncidentQuery(limit=limit))
    for incident in incidents:
        row = incident_view(incident, settings.organisation)
        click.echo(json.dumps(row, ensure_ascii=False) if as_json else _incident_text(row))


def _incident_text(row: dict[str, Any]) -> str:
    units = ",".join(row["units"]) or "-"
    return (
        f"{row['id']}  risk {row['risk_score']:>3}  {row['status']:<13} {row['title']}  "
        f"[{units}]  {row['alert_count']} alerts  {row['first_seen']}"
    )


@main.command("alerts")
@config_option
@store_option
@json_option
@click.option("--limit", default=100, show_default=True)
@click.option("--source", "source_ip", help="Only alerts from this source address.")
def alerts_command(
    config_path: Path | None,
    store_url: str | None,
    as_json: bool,
    limit: int,
    source_ip: str | None,
) -> None:
    """List stored alerts, newest first."""
    settings = load_settings(config_path)
    with _opened(settings, store_url) as store:
        alerts = store.alerts(AlertQuery(limit=limit, source_ip=source_ip))
    for alert in alerts:
        row = alert_view(alert)
        click.echo(json.dumps(row, ensure_ascii=False) if as_json else _alert_text(row))


def _alert_text(row: dict[str, Any]) -> str:
    return f"{row['time']} {row['severity']:<8} {row['rule']:<22} {row['explanation']}"


@main.command("sensor")
@click.option("--link", "link_name", required=True, help="Sensor link name from the settings.")
@config_option
@store_option
def sensor_command(link_name: str, config_path: Path | None, store_url: str | None) -> None:
    """Capture a mirror link live, run the detectors, write flows and alerts to the store."""
    import logging

    from nssa.sensord import run_sensor

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = load_settings(config_path)
    with _opened(settings, store_url) as store:
        report = run_sensor(settings, link_name, store, ready=click.echo)
    click.echo(
        f"stopped: {report.packets} packets, {report.kernel_drops} kernel drops, "
        f"{report.flows} flows, {report.alerts} alerts, {report.queue_drops} queue drops, "
        f"{report.spooled} spooled"
    )


@main.command("collect")
@config_option
@store_option
@click.option("--udp", help="UDP syslog listener HOST:PORT (overrides [collect] udp).")
@click.option("--tcp", help="TCP syslog listener HOST:PORT (overrides [collect] tcp).")
@click.option("--file", "files", multiple=True, help="A log file to follow (repeatable).")
@click.option("--sensor", default="collector", show_default=True, help="Observer name.")
def collect_command(
    config_path: Path | None,
    store_url: str | None,
    udp: str | None,
    tcp: str | None,
    files: tuple[str, ...],
    sensor: str,
) -> None:
    """Receive syslog (UDP, TCP, TLS) and follow log files until SIGTERM, then drain."""
    import dataclasses
    import signal
    import threading

    from nssa.collect import collect
    from sensors.logs.receiver import SyslogReceiver

    settings = load_settings(config_path)
    config = dataclasses.replace(
        settings.collect,
        udp=udp if udp is not None else settings.collect.udp,
        tcp=tcp if tcp is not None else settings.collect.tcp,
        files=settings.collect.files + files,
    )
    settings = dataclasses.replace(settings, collect=config)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    receiver = SyslogReceiver(config.queue_size, config.max_message)
    ready = threading.Event()
    threading.Thread(target=_announce, args=(ready, receiver), daemon=True).start()
    with _opened(settings, store_url) as store:
        report = collect(settings, store, stop, sensor=sensor, ready=ready, receiver=receiver)
    got = report.receiver
    click.echo(
        f"stopped: {got.received} messages received, {got.dropped} dropped (queue full), "
        f"{got.oversized} oversized, {report.unparsed_messages} unparsed, "
        f"{report.events} events, {report.alerts} alerts"
    )


def _announce(ready: Any, receiver: Any) -> None:
    """Print the bound listener addresses once the collector is ready (port 0 gets one)."""
    ready.wait()
    for name, (host, port) in receiver.addresses.items():
        click.echo(f"listening {name.split(':')[0]} {host}:{port}")
    click.echo("ready")
    sys.stdout.flush()


@main.command("dashboard")
@config_option
@store_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8600, show_default=True)
def dashboard_command(
    config_path: Path | None, store_url: str | None, host: str, port: int
) -> None:
    """Serve the dashboard over the store."""
    from nssa.serve import serve

    settings = load_settings(config_path)
    with _opened(settings, store_url) as store:
        serve(store, settings, host=host, port=port, open_browser=False)


@main.command("demo")
@click.option("--port", default=8600, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--no-browser", is_flag=True, help="Do not open a web browser.")
@click.option("--store", "store_url", help="Where the demo data goes (default: a fresh demo DB).")
def demo_command(port: int, host: str, no_browser: bool, store_url: str | None) -> None:
    """Replay the bundled city scenario into the embedded store and serve the dashboard."""
    from nssa.demo import run_demo

    run_demo(host=host, port=port, open_browser=not no_browser, store_url=store_url)


# Registered last: these commands use the options and helpers defined above.
from nssa.cli_correlate import correlate_command, exceptions_group, posture_command  # noqa: E402

main.add_command(correlate_command)
main.add_command(exceptions_group)
main.add_command(posture_command)

from nssa.cli_baseline import baseline_command  # noqa: E402

main.add_command(baseline_command)

from nssa.cli_intel import intel_group  # noqa: E402

main.add_command(intel_group)

from nssa.cli_users import user_group  # noqa: E402

main.add_command(user_group)

from nssa.cli_packets import packets_command  # noqa: E402

main.add_command(packets_command)
