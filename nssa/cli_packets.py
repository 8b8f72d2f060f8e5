"""``nssa packets ALERT_ID -o OUT.pcap``: the packets behind an alert, for analysts without
the dashboard. A thin command over ``correlator.alert_packets``; audited like a download."""

from __future__ import annotations

import getpass
import time
from pathlib import Path

import click

from correlator.alert_packets import packet_source, write_packets
from correlator.exceptions import AuditAction, AuditRecord
from correlator.storage import AlertQuery
from nssa.cli import _opened, config_option, store_option
from nssa.settings import load_settings
from sensors.extract import MAX_BYTES, MAX_PACKETS, Extraction, ExtractLimits


@click.command("packets")
@click.argument("alert_id")
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Capture file to write (pcap; pcapng when the captures' link types differ).",
)
@config_option
@store_option
@click.option("--max-mb", default=MAX_BYTES >> 20, show_default=True, help="Output size cap.")
@click.option("--max-packets", default=MAX_PACKETS, show_default=True, help="Packet cap.")
def packets_command(
    alert_id: str,
    output: Path,
    config_path: Path | None,
    store_url: str | None,
    max_mb: int,
    max_packets: int,
) -> None:
    """Write the packets of an alert's evidence flows, cut from the registered captures."""
    settings = load_settings(config_path)
    try:
        limits = ExtractLimits(max_bytes=max_mb << 20, max_packets=max_packets)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    with _opened(settings, store_url) as store:
        found = store.alerts(AlertQuery(ids=(alert_id,), limit=1))
        if not found:
            raise click.ClickException(f"no alert {alert_id!r} in the store")
        source = packet_source(store, found[0], limits.margin)
        if not source.available:
            raise click.ClickException(
                f"alert {alert_id}: no registered capture covers its {len(source.flows)} "
                "evidence flows (replay the capture, or enable [sensor] capture_dir)"
            )
        with output.open("wb") as out:
            extraction = write_packets(source, out, limits)
        store.put_audit(
            AuditRecord(
                time=time.time(),
                who=getpass.getuser(),
                action=AuditAction.PACKETS_DOWNLOADED,
                exception_id=alert_id,
                detail=f"{_summary(extraction)} -> {output.resolve()}",
            )
        )
    click.echo(f"{output}: {_summary(extraction)}")
    for problem in extraction.problems:
        click.echo(f"not read: {problem.path}: {problem.check.value} {problem.detail}", err=True)


def _summary(extraction: Extraction) -> str:
    """What was written and left out, in one line."""
    return (
        f"{extraction.packets} packets, {extraction.bytes} bytes ({extraction.format.value})"
        f" from {len(extraction.files)} file(s), {extraction.scanned} scanned;"
        f" {extraction.left_out} over the cap"
    )
