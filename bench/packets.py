"""Packet extraction: the packets of a few flows cut out of a 1M-packet capture, ours vs tshark.

Uses bench/sensor.py's generated mixed capture (generated here if missing). Picks ``--flows``
TCP/UDP flows at random (seeded), then measures, as CPU seconds (median of ``--repeat`` runs):

- registration: reading the file once more for the registry's SHA-256;
- ours: ``sensors.extract.extract`` (the check of size and SHA-256, then batch read, decode,
  key and match, write);
- tshark: ``tshark -r IN -w OUT -Y FILTER`` with one clause per flow (both addresses, both
  ports, the flow's time span), the baseline.

Prints packets scanned per CPU second and checks both wrote the same number of packets.
Not a test: ``python bench/packets.py [--packets N] [--flows K] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

from bench.mixedtraffic import write_mixed  # noqa: E402
from nssa.pipeline import capture_flows  # noqa: E402
from sensors.capture import CaptureStats, read_batches  # noqa: E402
from sensors.capturefiles import CaptureFile, CaptureTally, register  # noqa: E402
from sensors.events import Flow, Transport  # noqa: E402
from sensors.extract import covering, extract  # noqa: E402
from sensors.flows import FlowTable  # noqa: E402


def registered(path: Path) -> tuple[CaptureFile, float]:
    """The capture's registry record and the CPU seconds of its SHA-256 (the extra work)."""
    tally = CaptureTally()
    for batch in read_batches(path):
        tally.add(batch)
    started = time.process_time()
    capture = register(path, "bench", tally)
    assert capture is not None
    return capture, time.process_time() - started


def chosen_flows(path: Path, count: int) -> list[Flow]:
    """``count`` random plain TCP/UDP flows of the capture (seeded)."""
    flows = [
        f
        for batch in capture_flows(path, FlowTable("bench"), CaptureStats())
        for f in batch
        if f.transport in (Transport.TCP, Transport.UDP) and f.vlan is None and not f.tunnel
    ]
    return random.Random(2026).sample(flows, count)


def run_ours(flows: list[Flow], capture: CaptureFile) -> tuple[float, int]:
    """CPU seconds of one extraction, and the packets it wrote."""
    with tempfile.TemporaryFile() as out:
        started = time.process_time()
        found = extract(flows, covering([capture], flows), out)
        return time.process_time() - started, found.packets


def tshark_filter(flows: list[Flow]) -> str:
    """One display-filter clause per flow: both endpoints, both ports, its time span."""
    clauses = []
    for f in flows:
        proto = f.transport.value
        clauses.append(
            f"(ip.addr=={f.src_ip} && ip.addr=={f.dst_ip} && {proto}.port=={f.src_port}"
            f" && {proto}.port=={f.dst_port} && frame.time_epoch >= {f.start - 0.001:.6f}"
            f" && frame.time_epoch <= {f.end + 0.001:.6f})"
        )
    return " || ".join(clauses)


def run_tshark(path: Path, flows: list[Flow]) -> tuple[float, int]:
    """CPU seconds of tshark (user + system of the child), and the packets it wrote."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out.pcap"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(
            ["tshark", "-r", str(path), "-w", str(out), "-F", "pcap", "-Y", tshark_filter(flows)],
            check=True,
            capture_output=True,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        written = sum(len(b) for b in read_batches(out))
    return cpu, written


def main() -> None:
    """Generate the capture (once), measure and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--flows", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    pcap = OUT / f"mixed-{args.packets}.pcap"
    if not pcap.exists():
        write_mixed(pcap, OUT / f"mixed-{args.packets}.pcapng", args.packets, random.Random(2026))
    capture, hashing = registered(pcap)
    flows = chosen_flows(pcap, args.flows)
    expected = sum(f.packets_out + f.packets_in for f in flows)
    ours = [run_ours(flows, capture) for _ in range(args.repeat)]
    theirs = [run_tshark(pcap, flows) for _ in range(args.repeat)]
    ours_cpu = statistics.median(c for c, _ in ours)
    tshark_cpu = statistics.median(c for c, _ in theirs)
    result = {
        "capture": pcap.name,
        "packets": capture.packets,
        "megabytes": round(capture.size / 1e6, 1),
        "flows": len(flows),
        "flow_packets": expected,
        "ours_written": ours[0][1],
        "tshark_written": theirs[0][1],
        "registration_sha256_cpu_s": round(hashing, 3),
        "ours_cpu_s": round(ours_cpu, 3),
        "tshark_cpu_s": round(tshark_cpu, 3),
        "ours_scanned_per_cpu_s": round(capture.packets / ours_cpu),
        "tshark_scanned_per_cpu_s": round(capture.packets / tshark_cpu),
        "tshark_over_ours": round(tshark_cpu / ours_cpu, 1),
    }
    (OUT / "packets.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
