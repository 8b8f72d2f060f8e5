"""``nssa correlate`` and ``nssa exceptions add|list|preview|expire``: thin click commands."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from correlator.exceptions import AlertException, ExceptionKind, Scope, describe
from nssa.cli import _opened, config_option, json_option, store_option
from nssa.exceptions import add_exception, expire_exception, preview_exception
from nssa.settings import load_settings
from sensors.ecs import format_time

_DURATION = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": 60, "h": 3600, "d": 86_400}


@click.command("correlate")
@config_option
@store_option
@click.option("--once", is_flag=True, help="Process every new alert, then exit.")
@click.option("--poll", default=2.0, show_default=True, help="Seconds between reads when idle.")
def correlate_command(
    config_path: Path | None, store_url: str | None, once: bool, poll: float
) -> None:
    """Follow new alerts in the store and write the incidents (the central daemon)."""
    import logging
    import signal
    import threading

    from nssa.correlated import Follower, run_correlator

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = load_settings(config_path)
    with _opened(settings, store_url) as store:
        if once:
            follower = Follower(settings, store)
            follower.catch_up()
            follower.release()
            report = follower.report
        else:
            stop = threading.Event()
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
            report = run_correlator(settings, store, stop, poll=poll)
    click.echo(
        f"correlated {report.alerts} alerts ({report.suppressed} hidden by exceptions), "
        f"wrote {report.incidents_written} incidents"
    )


@click.group("exceptions")
def exceptions_group() -> None:
    """Suppressions and allowlists: scoped, owned, expiring and audited."""


def _scope_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--detector", help="Only alerts of this detector."),
        click.option("--source", help="Source address or network (CIDR)."),
        click.option("--destination", help="Destination address or network (CIDR)."),
        click.option("--unit", help="Unit code: targets in that unit or below it."),
        click.option("--sensor", help="Only alerts from this sensor."),
        click.option("--starts", help="Alert time from (ISO-8601 UTC)."),
        click.option("--ends", help="Alert time until (ISO-8601 UTC)."),
        click.option(
            "--kind", type=click.Choice([k.value for k in ExceptionKind]), default="suppress"
        ),
        click.option("--reason", default="", help="Why these alerts may be hidden."),
        click.option("--owner", default="", help="Who answers for the exception."),
        click.option("--expires", default="30d", show_default=True, help="Lifetime: 12h, 30d."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _exception(now: float, **given: Any) -> AlertException:
    """The exception the options describe, created ``now``."""
    try:
        scope = Scope(
            detector=given["detector"],
            source=given["source"],
            destination=given["destination"],
            unit=given["unit"],
            sensor=given["sensor"],
            starts=_time(given["starts"]),
            ends=_time(given["ends"]),
        )
        return AlertException(
            kind=ExceptionKind(given["kind"]),
            scope=scope,
            reason=given["reason"],
            owner=given["owner"],
            created=now,
            expires=now + _seconds(given["expires"]),
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


def _seconds(text: str) -> float:
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"expires: expected a lifetime like 12h or 30d, got {text!r}")
    return int(match[1]) * _UNITS[match[2]]


def _time(text: str | None) -> float | None:
    if text is None:
        return None
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


@exceptions_group.command("preview")
@config_option
@store_option
@_scope_options
def preview_command(config_path: Path | None, store_url: str | None, **given: Any) -> None:
    """Show what an exception would hide among the stored alerts; save nothing."""
    settings = load_settings(config_path)
    candidate = _exception(time.time(), **(given | {"reason": "preview", "owner": "preview"}))
    with _opened(settings, store_url) as store:
        shown = preview_exception(store, candidate, settings.organisation)
    by_detector = ", ".join(f"{d}: {n}" for d, n in shown.by_detector) or "none"
    click.echo(f"would hide {shown.matched} of {shown.examined} stored alerts ({by_detector})")
    for alert_id in shown.sample:
        click.echo(f"  {alert_id}")


@exceptions_group.command("add")
@config_option
@store_option
@_scope_options
def add_command(config_path: Path | None, store_url: str | None, **given: Any) -> None:
    """Save an exception (reason and owner required) and mark the past alerts it hides."""
    settings = load_settings(config_path)
    exception = _exception(time.time(), **given)
    with _opened(settings, store_url) as store:
        marked = add_exception(store, exception, settings.organisation)
    click.echo(f"{exception.id} saved; {marked} past alerts marked: {describe(exception)}")


@exceptions_group.command("list")
@config_option
@store_option
@json_option
def list_command(config_path: Path | None, store_url: str | None, as_json: bool) -> None:
    """List exceptions, newest first, with whether each is still in force."""
    settings = load_settings(config_path)
    now = time.time()
    with _opened(settings, store_url) as store:
        found = store.exceptions()
    for x in found:
        state = "active" if x.expires > now else "expired"
        if as_json:
            row = {
                "id": x.id,
                "kind": x.kind.value,
                "state": state,
                "owner": x.owner,
                "reason": x.reason,
                "created": format_time(x.created),
                "expires": format_time(x.expires),
                "scope": {k: v for k, v in vars(x.scope).items() if v is not None and k[0] != "_"},
            }
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            click.echo(f"{x.id}  {state:<7} {describe(x)}")


@exceptions_group.command("expire")
@click.argument("exception_id")
@click.option("--who", required=True, help="Who ends the exception (audited).")
@config_option
@store_option
def expire_command(
    exception_id: str, who: str, config_path: Path | None, store_url: str | None
) -> None:
    """End an exception now; alerts already marked stay marked."""
    settings = load_settings(config_path)
    with _opened(settings, store_url) as store:
        ended = expire_exception(store, exception_id, who=who, at=time.time())
    click.echo(f"{ended.id} expired: {describe(ended)}")


@click.command("posture")
@config_option
@store_option
@click.option("--hours", default=24, show_default=True, help="Hours back from the newest incident.")
def posture_command(config_path: Path | None, store_url: str | None, hours: int) -> None:
    """Print each unit's and the city's posture trend (one JSON object per scope)."""
    from correlator.posture import posture, trends
    from correlator.storage import IncidentQuery

    settings = load_settings(config_path)
    with _opened(settings, store_url) as store:
        incidents = store.incidents(IncidentQuery(limit=10_000))
    until = max((i.last_seen for i in incidents), default=time.time()) + 1
    points = posture(incidents, settings.organisation, since=until - hours * 3600, until=until)
    for trend in trends(points):
        row = {
            "scope": trend.scope,
            "risk": trend.current,
            "baseline": trend.baseline,
            "trend": trend.direction.value,
        }
        click.echo(json.dumps(row, ensure_ascii=False))
