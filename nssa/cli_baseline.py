"""``nssa baseline``: train the anomaly model from captures or from stored flows."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import click

from detectors.baselinemodel import BaselineModel
from nssa.cli import config_option, default_store_url, store_option
from nssa.modelfile import save_model
from nssa.settings import Settings, load_settings
from nssa.stores import open_store
from nssa.training import FlowHistory, TrainingReport, capture_flows_of, train_baseline
from sensors.events import Flow


@click.command("baseline")
@click.argument("captures", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@config_option
@store_option
@click.option("--since", help="Train from stored flows that started at or after (ISO 8601).")
@click.option("--until", help="... and before this time (ISO 8601; UTC unless an offset is given).")
@click.option("--sensor", default="replay", show_default=True, help="Link name of capture flows.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def baseline_command(
    captures: tuple[Path, ...],
    config_path: Path | None,
    store_url: str | None,
    since: str | None,
    until: str | None,
    sensor: str,
    out: Path,
) -> None:
    """Train the anomaly baseline from CAPTURES, or from stored flows with --since/--until."""
    settings = load_settings(config_path)
    if captures and (since or until or store_url):
        raise click.UsageError("give captures, or --since/--until (and --store), not both")
    if not captures and not (since and until):
        raise click.UsageError("give captures to train from, or --since and --until")
    try:
        if captures:
            model, report = train_baseline(capture_flows_of(captures, settings, sensor), settings)
        else:
            model, report = _from_store(settings, store_url, _instant(since), _instant(until))
    except ValueError as exc:
        raise click.ClickException(f"cannot train: {exc}") from exc
    save_model(model, out)
    _show(report, out)


def _from_store(
    settings: Settings, store_url: str | None, since: float, until: float
) -> tuple[BaselineModel, TrainingReport]:
    if until <= since:
        raise click.UsageError("--until must be after --since")
    # Reading needs no spool: the store itself must answer.
    options = dataclasses.replace(settings.store, spool_dir="")
    store = open_store(store_url or default_store_url(settings), options)
    try:
        if not isinstance(store, FlowHistory):
            raise click.ClickException("this store cannot read back stored flows")
        flows: list[Flow] = list(store.flows(since, until))
    finally:
        store.close()
    return train_baseline(flows, settings)


def _instant(text: str | None) -> float:
    assert text is not None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time") from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _show(report: TrainingReport, out: Path) -> None:
    click.echo(
        f"flows {report.flows}  rows {report.rows}  hosts {report.hosts}  "
        f"windows {report.windows}  models {len(report.segments)}  "
        f"version {report.model_version}  ({report.seconds:.2f}s)"
    )
    for name, rows, threshold in report.segments:
        click.echo(f"  model {name}: {rows} rows, threshold {threshold:g}")
    click.echo(f"wrote {out}")
