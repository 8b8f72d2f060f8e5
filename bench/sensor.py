"""Sensor throughput: read + decode + flows, ours against scapy, dpkt, tshark and pyshark.

``ours`` hands out every flow as numpy columns (``FlowBatch``); ``ours-records`` also builds
the ``Flow`` records.

Generates (seeded, cached in bench/out/) a mixed capture of TCP sessions, DNS, TLS, ICMP,
VLAN-tagged and IPv6 traffic and scans, as pcap and pcapng, then measures every tool in its own
process on the same files and prints packets/s, peak RSS and the ratio of ours to each.
Not a test: ``python bench/sensor.py [--packets N]``.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

from bench.mixedtraffic import write_mixed  # noqa: E402


def run_ours(path: Path) -> int:
    """Read, decode and build every flow with NSSA's sensor path, as columns
    (``FlowBatch``: the flows are complete, their ``Flow`` records are not built); return the
    flow count."""
    from nssa.pipeline import capture_flow_batches
    from sensors.capture import CaptureStats
    from sensors.flows import FlowTable

    return sum(len(b) for b in capture_flow_batches(path, FlowTable("bench"), CaptureStats()))


def run_ours_records(path: Path) -> int:
    """``run_ours`` and also build every flow's ``Flow`` record (what detectors consume)."""
    from nssa.pipeline import capture_flow_batches
    from sensors.capture import CaptureStats
    from sensors.flows import FlowTable

    batches = capture_flow_batches(path, FlowTable("bench"), CaptureStats())
    return sum(len(b.records()) for b in batches)


def run_scapy(path: Path, limit: int) -> int:
    """Dissect packets with scapy's PcapReader (its normal, full dissection)."""
    from scapy.utils import PcapReader

    count = 0
    with PcapReader(str(path)) as reader:
        for _ in reader:
            count += 1
            if count >= limit:
                break
    return count


def run_dpkt(path: Path) -> int:
    """Parse Ethernet/VLAN/IP/TCP/UDP with dpkt into a minimal 5-tuple packet counter."""
    import dpkt

    flows: dict[tuple[bytes, bytes, int, int, int], int] = {}
    with path.open("rb") as handle:
        for _, buf in dpkt.pcap.Reader(handle):
            ip = dpkt.ethernet.Ethernet(buf).data
            if not isinstance(ip, dpkt.ip.IP | dpkt.ip6.IP6):
                continue
            l4 = ip.data
            key = (ip.src, ip.dst, getattr(l4, "sport", 0), getattr(l4, "dport", 0), ip.p)
            flows[key] = flows.get(key, 0) + 1
    return len(flows)


def run_tshark(path: Path) -> int:
    """tshark ``-T fields`` into pandas, grouped to 5-tuples."""
    import io

    import pandas as pd

    fields = [
        "frame.time_epoch",
        "ip.src",
        "ip.dst",
        "ipv6.src",
        "ipv6.dst",
        "tcp.srcport",
        "tcp.dstport",
        "udp.srcport",
        "udp.dstport",
        "frame.len",
    ]
    args = [
        "tshark",
        "-n",
        "-r",
        str(path),
        "-T",
        "fields",
        *(x for f in fields for x in ("-e", f)),
    ]
    text = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    frame = pd.read_csv(io.StringIO(text), sep="\t", names=fields, low_memory=False)
    keys = ["ip.src", "ip.dst", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport"]
    return int(frame.groupby(keys, dropna=False).size().shape[0])


def run_pyshark(path: Path, limit: int) -> int:
    """pyshark's full dissection (tshark PDML/JSON under the hood) of the first packets."""
    import pyshark

    capture = pyshark.FileCapture(str(path), keep_packets=False)
    count = 0
    try:
        for _ in capture:
            count += 1
            if count >= limit:
                break
    finally:
        capture.close()
    return count


def child(tool: str, path: Path, packets: int) -> None:
    """Body of a measuring process: import first, then time only the work."""
    import dpkt  # noqa: F401
    import pandas  # noqa: F401
    import scapy.utils  # noqa: F401

    import nssa.pipeline  # noqa: F401

    started, cpu_started = time.perf_counter(), cpu_seconds()
    done = packets
    if tool == "ours":
        run_ours(path)
    elif tool == "ours-records":
        run_ours_records(path)
    elif tool == "scapy":
        done = run_scapy(path, min(packets, 50_000))
    elif tool == "dpkt":
        run_dpkt(path)
    elif tool == "tshark":
        run_tshark(path)
    else:
        done = run_pyshark(path, min(packets, 20_000))
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # tshark under pandas
    rss_mb = max(peak_rss_kb(), kids) / 1024
    print(
        json.dumps(
            {"pps": done / seconds, "cpu_pps": done / cpu, "rss_mb": rss_mb, "packets": done}
        )
    )


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (tshark): on a shared, busy
    machine wall time measures the neighbours as much as the tool."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def peak_rss_kb() -> int:
    """This process's peak RSS (VmHWM). Not ru_maxrss: Linux carries that over from the
    forking parent, so a child of a big parent would report the parent's size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


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


def main() -> None:
    """Generate the captures (once) and print the comparison table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--tools", default="ours,ours-records,dpkt,tshark,scapy,pyshark")
    parser.add_argument("--child")
    parser.add_argument("--file", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.file, args.packets)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    pcap = OUT / f"mixed-{args.packets}.pcap"
    pcapng = OUT / f"mixed-{args.packets}.pcapng"
    if not pcap.exists() or not pcapng.exists():
        write_mixed(pcap, pcapng, args.packets, random.Random(2026))
    size = pcap.stat().st_size / 1e6
    print(f"capture: {pcap.name} ({size:.1f} MB, {args.packets:,} packets), and as pcapng")
    tools = args.tools.split(",")
    ours = {
        "ours (pcap)": measure("ours", pcap, args.packets),
        "ours (pcapng)": measure("ours", pcapng, args.packets),
    }
    if "ours-records" in tools:
        ours["ours-records"] = measure("ours-records", pcap, args.packets)
    print("packets/s by wall time, then by CPU time; ratios of ours (pcap) and ours-records")
    for name, r in ours.items():
        print(
            f"  {name:<13}: {r['pps']:>12,.0f} wall {r['cpu_pps']:>12,.0f} CPU  "
            f"peak RSS {r['rss_mb']:7.1f} MB"
        )
    for tool in [t for t in tools if not t.startswith("ours")]:
        r = measure(tool, pcap, args.packets)
        note = f" (first {int(r['packets']):,} packets)" if r["packets"] < args.packets else ""
        print(
            f"  {tool:<13}: {r['pps']:>12,.0f} wall {r['cpu_pps']:>12,.0f} CPU  "
            f"peak RSS {r['rss_mb']:7.1f} MB{note}"
        )
        for name in ("ours (pcap)", "ours-records"):
            if name in ours:
                mine = ours[name]
                print(
                    f"    {name}/{tool} = {mine['pps'] / r['pps']:6.1f}x wall, "
                    f"{mine['cpu_pps'] / r['cpu_pps']:6.1f}x CPU"
                )


if __name__ == "__main__":
    main()
