"""Sensor throughput: read + decode + flows, ours against scapy and dpkt on the same capture.

Generates (seeded) a synthetic Ethernet/IPv4 capture of TCP sessions, scans and UDP exchanges,
then times each reader in its own process and prints packets/s, peak RSS and ours/baseline.
Not a test: run ``python bench/sensor.py [--packets N]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"


def frame_template() -> np.ndarray:
    """A 60-byte Ethernet/IPv4/TCP frame whose addresses, ports and flags get overwritten."""
    eth = bytes(6) + bytes(6) + b"\x08\x00"
    ip = bytes.fromhex("4500002e000040004006") + bytes(2) + bytes(8)
    tcp = bytes(4) + bytes(8) + bytes.fromhex("5002ffff00000000") + b"ab"
    return np.frombuffer(eth + ip + tcp, dtype=np.uint8)


def generate(path: Path, packets: int, seed: int = 7) -> None:
    """Write ``packets`` records: half session traffic between few hosts, half scan probes."""
    rng = np.random.default_rng(seed)
    frames = np.tile(frame_template(), (packets, 1))
    src = rng.integers(0x0A000000, 0x0A00FFFF, packets, dtype=np.uint32)
    dst = rng.integers(0x0A0A0000, 0x0A0A00FF, packets, dtype=np.uint32)
    sport = rng.integers(1024, 65535, packets, dtype=np.uint16)
    dport = rng.choice(np.array([22, 53, 80, 443, 3389], dtype=np.uint16), packets)
    scans = rng.random(packets) < 0.5
    dport = np.where(scans, rng.integers(1, 65535, packets, dtype=np.uint16), dport)
    sport = np.where(scans, 40000, sport % 64 + 50000).astype(np.uint16)
    src = np.where(scans, 0xCB00712D, src % 256 + 0x0A150000).astype(np.uint32)
    frames[:, 26:30] = src.astype(">u4").view(np.uint8).reshape(-1, 4)
    frames[:, 30:34] = dst.astype(">u4").view(np.uint8).reshape(-1, 4)
    frames[:, 34:36] = sport.astype(">u2").view(np.uint8).reshape(-1, 2)
    frames[:, 36:38] = dport.astype(">u2").view(np.uint8).reshape(-1, 2)
    frames[:, 47] = rng.choice(
        np.array([0x02, 0x12, 0x10, 0x18, 0x11, 0x14], dtype=np.uint8), packets
    )
    ts = 1_700_000_000 + np.sort(rng.random(packets)) * 600
    header = np.zeros((packets, 4), dtype="<u4")
    header[:, 0] = ts.astype(np.uint32)
    header[:, 1] = ((ts % 1) * 1e6).astype(np.uint32)
    header[:, 2:] = frames.shape[1]
    records = np.concatenate([header.view(np.uint8).reshape(packets, 16), frames], axis=1)
    file_header = np.array([0xA1B2C3D4, 0x00040002, 0, 0, 65535, 1], dtype="<u4").view(np.uint8)
    path.write_bytes(file_header.tobytes()[:24] + records.tobytes())


def run_ours(path: Path) -> int:
    """Read, decode and build flows with NSSA's sensor path; return flows."""
    from nssa.pipeline import capture_flows
    from sensors.capture import CaptureStats
    from sensors.flows import FlowTable

    table = FlowTable("bench")
    return sum(len(batch) for batch in capture_flows(path, table, CaptureStats()))


def run_scapy(path: Path, limit: int) -> int:
    """Parse packets with scapy's PcapReader (full dissection)."""
    from scapy.utils import PcapReader

    count = 0
    with PcapReader(str(path)) as reader:
        for _ in reader:
            count += 1
            if count >= limit:
                break
    return count


def run_dpkt(path: Path) -> int:
    """Parse Ethernet/IP/TCP with dpkt and count 5-tuples (a minimal flow table)."""
    import dpkt

    flows: set[tuple[bytes, bytes, int, int]] = set()
    with path.open("rb") as handle:
        for _, buf in dpkt.pcap.Reader(handle):
            ip = dpkt.ethernet.Ethernet(buf).data
            tcp = ip.data
            flows.add((ip.src, ip.dst, tcp.sport, tcp.dport))
    return len(flows)


def measure(tool: str, path: Path, packets: int) -> dict[str, float]:
    """Run one tool in a fresh interpreter; return its packets/s and peak RSS."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", tool, "--file", str(path), "--packets", str(packets)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return dict(json.loads(out.stdout.splitlines()[-1]))


def child(tool: str, path: Path, packets: int) -> None:
    """Body of a measuring process."""
    limit = min(packets, 50_000)
    import dpkt  # noqa: F401  (imports are not part of the measurement)
    import scapy.utils  # noqa: F401

    import nssa.pipeline  # noqa: F401

    started = time.perf_counter()
    if tool == "ours":
        run_ours(path)
        done = packets
    elif tool == "scapy":
        done = run_scapy(path, limit)
    else:
        run_dpkt(path)
        done = packets
    seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"pps": done / seconds, "rss_mb": rss, "seconds": seconds}))


def main() -> None:
    """Generate the capture and print the comparison table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--child")
    parser.add_argument("--file", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.file, args.packets)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"mixed-{args.packets}.pcap"
    if not path.exists():
        generate(path, args.packets)
    results = {tool: measure(tool, path, args.packets) for tool in ("ours", "dpkt", "scapy")}
    ours = results["ours"]["pps"]
    print(f"capture: {path.name} ({path.stat().st_size / 1e6:.1f} MB, {args.packets:,} packets)")
    for tool, r in results.items():
        ratio = ours / r["pps"]
        print(
            f"{tool:>6}: {r['pps']:>12,.0f} packets/s  peak RSS {r['rss_mb']:7.1f} MB  "
            f"ours/{tool} = {ratio:6.1f}x"
        )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
