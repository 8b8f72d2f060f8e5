"""``nssa intel import|list|stats``: thin click commands over the indicator database."""

from __future__ import annotations

import time
from pathlib import Path

import click

from detectors.feedrecords import FeedDefaults
from detectors.feeds import FeedFormat, parse_feed
from nssa.cli import config_option
from nssa.intel import import_feed, indicator_lines, read_indicators, source_counts
from nssa.settings import Settings, load_settings

DAY = 86_400.0


@click.group("intel")
def intel_group() -> None:
    """Threat-intelligence feeds: import them into the database ``[intel] database`` names."""


def _database(settings: Settings) -> Path:
    if not settings.intel.database:
        raise click.UsageError(f"{settings.source}: set [intel] database to import or read feeds")
    return Path(settings.intel.database)


@intel_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "feed_format",
    type=click.Choice([f.value for f in FeedFormat]),
    default="auto",
    show_default=True,
    help="Feed format; auto recognises it from the text.",
)
@click.option("--source", help="Feed name recorded with each indicator; default: file name.")
@click.option(
    "--confidence",
    type=click.IntRange(0, 100),
    default=50,
    show_default=True,
    help="Confidence of entries that carry none.",
)
@click.option(
    "--expires-days",
    type=click.FloatRange(min=0, min_open=True),
    help="Entries without an expiry expire this many days from now; default: never.",
)
@config_option
def import_command(
    file: Path,
    feed_format: str,
    source: str | None,
    confidence: int,
    expires_days: float | None,
    config_path: Path | None,
) -> None:
    """Import a feed (list, CSV, STIX 2.1 or MISP JSON); re-importing it changes nothing."""
    settings = load_settings(config_path)
    database = _database(settings)
    expires = time.time() + expires_days * DAY if expires_days else None
    defaults = FeedDefaults(source=source or file.stem, confidence=confidence, expires=expires)
    text = file.read_bytes().decode("utf-8", errors="replace")
    feed = parse_feed(text, defaults, FeedFormat(feed_format))
    report = import_feed(database, feed, defaults.source)
    rejected = sum(report.rejected.values())
    reasons = ", ".join(f"{reason}: {n}" for reason, n in report.rejected.items())
    click.echo(
        f"{file}: source {report.source}: {report.imported} imported, "
        f"{report.duplicates} duplicates, {rejected} rejected"
        + (f" ({reasons})" if reasons else "")
    )
    if report.known_good:
        click.echo(
            f"{report.known_good} indicators of the feed are on the known-good list; "
            "their hits will be suppressed",
            err=True,
        )


@intel_group.command("list")
@config_option
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
def list_command(config_path: Path | None, limit: int) -> None:
    """Print indicators: kind, value, source, confidence, expiry (epoch seconds)."""
    indicators = read_indicators(_database(load_settings(config_path)))
    for n, line in enumerate(indicator_lines(indicators)):
        if n >= limit:
            break
        click.echo(line)


@intel_group.command("stats")
@config_option
def stats_command(config_path: Path | None) -> None:
    """Indicators per source and kind."""
    for row in source_counts(_database(load_settings(config_path))):
        click.echo(f"{row.source}\t{row.kind.value}\t{row.count}\t{row.expiring} with expiry")
