"""Detector throughput: events/s per detector, and sensor-only vs sensor+detectors packets/s.

Uses the mixed benchmark capture of ``bench/sensor.py`` (generated, seeded, into bench/out/ if
missing). First the sensor path alone (read, decode, flows, metadata), then the same with every
registered detector fed as in ``nssa.pipeline.replay``; then each detector alone on the
events kept in memory. Not a test: ``python bench/detectors.py [--packets N] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

from bench.mixedtraffic import write_mixed  # noqa: E402
from detectors.registry import REGISTRY  # noqa: E402
from nssa.pipeline import build_detectors, capture_events, detect, finish  # noqa: E402
from nssa.settings import Settings  # noqa: E402
from sensors.capture import CaptureStats  # noqa: E402
from sensors.events import Event  # noqa: E402
from sensors.flows import FlowTable  # noqa: E402
from sensors.metadata import MetadataExtractor  # noqa: E402


def sensor_pass(path: Path, settings: Settings, *, with_detectors: bool) -> dict[str, float]:
    """One replay of the capture; with detectors, every event goes through all of them."""
    stats = CaptureStats()
    table, metadata = FlowTable("bench", settings.flows), MetadataExtractor("bench")
    detectors = build_detectors(settings) if with_detectors else []
    events = alerts = 0
    started = time.perf_counter()
    for batch in capture_events(path, table, metadata, stats):
        events += len(batch)
        if detectors:
            alerts += len(detect(detectors, batch))
    alerts += len(finish(detectors))
    seconds = time.perf_counter() - started
    return {
        "packets": stats.packets,
        "events": events,
        "alerts": alerts,
        "seconds": round(seconds, 3),
        "packets_per_second": round(stats.packets / seconds),
    }


def collect_events(path: Path, settings: Settings) -> list[Event]:
    """Every event of the capture, in the order the pipeline hands them to detectors."""
    table, metadata = FlowTable("bench", settings.flows), MetadataExtractor("bench")
    return [e for batch in capture_events(path, table, metadata, CaptureStats()) for e in batch]


def detector_pass(name: str, events: list[Event], settings: Settings) -> dict[str, float]:
    """One detector alone over the events: events/s and the alerts it raised."""
    detector = REGISTRY[name](settings.detector_config(name))
    started = time.perf_counter()
    alerts = sum(len(detector.observe(e)) for e in events)
    alerts += len(detector.flush(float("inf")))
    seconds = time.perf_counter() - started
    return {
        "events": len(events),
        "alerts": alerts,
        "seconds": round(seconds, 3),
        "events_per_second": round(len(events) / seconds) if seconds > 0 else 0,
    }


def main() -> None:
    """Generate the capture (once) and print the throughput table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    pcap, pcapng = OUT / f"mixed-{args.packets}.pcap", OUT / f"mixed-{args.packets}.pcapng"
    if not pcap.exists():
        write_mixed(pcap, pcapng, args.packets, random.Random(2026))
    settings = Settings()
    alone = sensor_pass(pcap, settings, with_detectors=False)
    full = sensor_pass(pcap, settings, with_detectors=True)
    events = collect_events(pcap, settings)
    per_detector = {name: detector_pass(name, events, settings) for name in REGISTRY}
    if args.json:
        report = {"capture": pcap.name, "sensor_only": alone, "sensor_and_detectors": full}
        print(json.dumps({**report, "detectors": per_detector}, indent=2))
        return
    print(f"capture: {pcap.name} ({alone['packets']:,} packets, {len(events):,} events)")
    print(f"  sensor only        : {alone['packets_per_second']:>10,} packets/s")
    print(f"  sensor + detectors : {full['packets_per_second']:>10,} packets/s")
    for name, row in per_detector.items():
        print(f"  {name:<18} : {row['events_per_second']:>10,} events/s  {row['alerts']} alerts")


if __name__ == "__main__":
    main()
