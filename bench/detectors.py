"""Detector throughput: events/s per detector, and sensor-only vs sensor+detectors packets/s.

Uses the mixed benchmark capture of ``bench/sensor.py`` (generated, seeded, into bench/out/ if
missing). First the sensor path alone (read, decode, flows, metadata), then the same with every
registered detector fed as in ``nssa.pipeline.replay``; then each detector alone on the
event batches kept in memory, dispatched as the pipeline does (only the types it accepts).
Peak RSS is taken after the two streaming passes, before the events are kept in memory.
Event ids (the ECS hash detectors cite as evidence, and stores compute for every event) are
timed on their own first, so the per-detector figures are the detectors' own work.
Not a test: ``python bench/detectors.py [--packets N] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

from bench.mixedtraffic import write_mixed  # noqa: E402
from detectors.dispatch import observe_all  # noqa: E402
from detectors.registry import REGISTRY  # noqa: E402
from nssa.heap import settle_heap  # noqa: E402
from nssa.pipeline import build_detectors, capture_events, detect, finish  # noqa: E402
from nssa.settings import Settings  # noqa: E402
from sensors.capture import CaptureStats  # noqa: E402
from sensors.events import Event  # noqa: E402
from sensors.flows import FlowTable  # noqa: E402
from sensors.metadata import MetadataExtractor  # noqa: E402


def sensor_pass(
    path: Path, settings: Settings, *, with_detectors: bool, with_ids: bool = False
) -> dict[str, float]:
    """One replay of the capture; with detectors, every event goes through all of them.

    ``with_ids`` first hashes every event's ECS id, as ``store.put_events`` does before the
    detectors run in ``nssa.pipeline.replay``: detectors then find the ids they cite cached.
    """
    stats = CaptureStats()
    table, metadata = FlowTable("bench", settings.flows), MetadataExtractor("bench")
    detectors = build_detectors(settings) if with_detectors else []
    events = alerts = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    for batch in capture_events(path, table, metadata, stats):
        events += len(batch)
        if with_ids:
            for event in batch:
                _ = event.id
        if detectors:
            alerts += len(detect(detectors, batch))
    alerts += len(finish(detectors))
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started  # the machine is shared: CPU is steadier
    return {
        "packets": stats.packets,
        "events": events,
        "alerts": alerts,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "packets_per_second": round(stats.packets / seconds),
        "packets_per_cpu_second": round(stats.packets / cpu_seconds),
    }


def collect_events(path: Path, settings: Settings) -> list[list[Event]]:
    """Every event of the capture, in the batches the pipeline hands to detectors."""
    table, metadata = FlowTable("bench", settings.flows), MetadataExtractor("bench")
    return list(capture_events(path, table, metadata, CaptureStats()))


def id_pass(batches: list[list[Event]]) -> dict[str, float]:
    """The ECS id of every event: what evidence costs a detector that asks first."""
    events = sum(len(batch) for batch in batches)
    started, cpu_started = time.perf_counter(), time.process_time()
    for batch in batches:
        for event in batch:
            _ = event.id
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    return {
        "events": events,
        "seconds": round(seconds, 3),
        "us_per_event_cpu": round(cpu_seconds / events * 1e6, 2) if events else 0,
        "events_per_second": round(events / seconds) if seconds > 0 else 0,
    }


def detector_pass(name: str, batches: list[list[Event]], settings: Settings) -> dict[str, float]:
    """One detector alone over the batches: events/s (of all events) and its alerts."""
    detector = REGISTRY[name](settings.detector_config(name))
    events = sum(len(batch) for batch in batches)
    started, cpu_started = time.perf_counter(), time.process_time()
    alerts = sum(len(observe_all([detector], batch)) for batch in batches)
    alerts += len(detector.flush(float("inf")))
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    return {
        "events": events,
        "alerts": alerts,
        "seconds": round(seconds, 3),
        "events_per_cpu_second": round(events / cpu_seconds) if cpu_seconds > 0 else 0,
        "events_per_second": round(events / seconds) if seconds > 0 else 0,
    }


def _peak_mib() -> int:
    """This process's peak resident set so far, in MiB (``ru_maxrss`` is KiB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main() -> None:
    """Generate the capture (once) and print the throughput table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--settle-heap", action="store_true", help="tune gc as the nssa command does"
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    pcap, pcapng = OUT / f"mixed-{args.packets}.pcap", OUT / f"mixed-{args.packets}.pcapng"
    if not pcap.exists():
        write_mixed(pcap, pcapng, args.packets, random.Random(2026))
    settings = Settings()
    if args.settle_heap:
        settle_heap()
    alone = sensor_pass(pcap, settings, with_detectors=False)
    sensor_mib = _peak_mib()
    full = sensor_pass(pcap, settings, with_detectors=True)
    stored = sensor_pass(pcap, settings, with_detectors=False, with_ids=True)
    stored_full = sensor_pass(pcap, settings, with_detectors=True, with_ids=True)
    peak_mib = _peak_mib()
    batches = collect_events(pcap, settings)
    ids = id_pass(batches)
    per_detector = {name: detector_pass(name, batches, settings) for name in REGISTRY}
    ratio = round(full["packets_per_second"] / alone["packets_per_second"], 3)
    ratio_ids = round(stored_full["packets_per_second"] / stored["packets_per_second"], 3)
    cpu_ratio = round(alone["cpu_seconds"] / full["cpu_seconds"], 3)
    cpu_ratio_ids = round(stored["cpu_seconds"] / stored_full["cpu_seconds"], 3)
    if args.json:
        report = {"capture": pcap.name, "sensor_only": alone, "sensor_and_detectors": full}
        report |= {"sensor_and_ids": stored, "sensor_ids_and_detectors": stored_full}
        extra: dict[str, object] = {"ratio": ratio, "ratio_with_ids": ratio_ids}
        extra |= {"cpu_ratio": cpu_ratio, "cpu_ratio_with_ids": cpu_ratio_ids}
        extra |= {"peak_rss_mib": peak_mib, "sensor_peak_rss_mib": sensor_mib}
        extra |= {"ids": ids, "detectors": per_detector}
        print(json.dumps({**report, **extra}, indent=2))
        return
    events = sum(len(batch) for batch in batches)
    print(f"capture: {pcap.name} ({alone['packets']:,} packets, {events:,} events)")
    print(f"  sensor only        : {alone['packets_per_second']:>10,} packets/s")
    print(f"  sensor + detectors : {full['packets_per_second']:>10,} packets/s  (x{ratio})")
    print(f"  CPU ratio          : x{cpu_ratio} (x{cpu_ratio_ids} with ids hashed first)")
    print(f"  sensor + ids       : {stored['packets_per_second']:>10,} packets/s  (as stored)")
    print(
        f"  sensor + ids + det.: {stored_full['packets_per_second']:>10,} packets/s  (x{ratio_ids})"
    )
    print(f"  peak RSS: {sensor_mib} MiB sensor only, {peak_mib} MiB with detectors (streaming)")
    print(f"  {'(event ids)':<18} : {ids['us_per_event_cpu']:>10} us/event (CPU)")
    for name, row in per_detector.items():
        rate = row["events_per_cpu_second"]
        print(f"  {name:<18} : {rate:>10,} events/CPU-s  {row['alerts']} alerts")


if __name__ == "__main__":
    main()
