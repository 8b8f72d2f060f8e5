"""Application-metadata throughput: our extractor against scapy parsing the same packets.

Workloads: the six scenario captures concatenated and repeated (timestamps shifted per round so
pairing behaves as on a long capture), and corpus captures with HTTP and TLS (skipped when the
corpus is absent). Ours is timed on already decoded batches (extraction alone) and end to end
(decode + extraction); scapy dissects every packet with its DNS and HTTP layers and reads
the same fields, on a slice because it is slow. Not a test: ``python bench/metadata.py``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path

from sensors.capture import PacketBatch, read_batches
from sensors.decode import Decoded, decode
from sensors.metadata import MetadataExtractor

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
SCENARIOS = sorted((ROOT / "pcaps").glob("*.pcap"))
CORPUS_FILES = ["beacon/corelight_dcrat_tls_c2.pcap", "benign/zeek_http_bro.org.pcap"]

Workload = list[tuple[PacketBatch, Decoded]]


def load(paths: list[Path], rounds: int) -> Workload:
    """Batches of ``paths`` repeated ``rounds`` times, each round later than the last."""
    base = [b for path in paths for b in read_batches(path)]
    span = max(float(b.ts.max()) for b in base) - min(float(b.ts.min()) for b in base) + 3600
    out = []
    for k in range(rounds):
        for batch in base:
            moved = dataclasses.replace(batch, ts=batch.ts + k * span)
            out.append((moved, decode(moved)))
    return out


def best(runs: int, work: Callable[[], int]) -> tuple[float, int]:
    """Best wall time of ``runs`` runs of ``work`` and what it returned."""
    times, result = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return min(times), result


def ours_extract(workload: Workload) -> int:
    """Events from pre-decoded batches."""
    extractor = MetadataExtractor("bench")
    events = sum(len(extractor.add(b, d)) for b, d in workload)
    return events + len(extractor.flush())


def ours_end_to_end(workload: Workload) -> int:
    """Events from raw batches: decode, then extract."""
    extractor = MetadataExtractor("bench")
    events = sum(len(extractor.add(b, decode(b))) for b, _ in workload)
    return events + len(extractor.flush())


def frames(workload: Workload, limit: int) -> list[tuple[int, bytes]]:
    """Raw (linktype, frame) pairs of the first ``limit`` packets."""
    out: list[tuple[int, bytes]] = []
    for batch, _ in workload:
        for at, size, link in zip(batch.offset, batch.caplen, batch.linktype, strict=True):
            out.append((int(link), batch.data[at : at + size].tobytes()))
            if len(out) >= limit:
                return out
    return out


def scapy_parse(packets: list[tuple[int, bytes]]) -> int:
    """Dissect with scapy and read the fields we report; return how many records it found."""
    logging.getLogger("scapy").setLevel(logging.CRITICAL)  # its TLS module fails to load here
    from scapy.all import load_layer
    from scapy.layers.dns import DNS
    from scapy.layers.inet import IP
    from scapy.layers.l2 import Ether

    load_layer("http")  # scapy's TLS layer needs the cryptography package: DNS and HTTP only
    from scapy.layers.http import HTTPRequest, HTTPResponse

    def one(link: int, raw: bytes) -> int:
        pkt = Ether(raw) if link == 1 else IP(raw)
        hits = 0
        if pkt.haslayer(DNS) and pkt[DNS].qd:
            _ = (pkt[DNS].qd[0].qname, pkt[DNS].qd[0].qtype, pkt[DNS].rcode, pkt[DNS].ancount)
            hits += 1
        if pkt.haslayer(HTTPRequest):
            req = pkt[HTTPRequest]
            _ = (req.Method, req.Host, req.Path, req.User_Agent)
            hits += 1
        if pkt.haslayer(HTTPResponse):
            _ = pkt[HTTPResponse].Status_Code
            hits += 1
        return hits

    found = 0
    for link, raw in packets:
        try:
            found += one(link, raw)
        except Exception:  # a dissector error costs scapy the packet, not the whole run
            continue
    return found


def report(name: str, workload: Workload, scapy_limit: int, runs: int) -> None:
    """Time every contender on one workload and print packets/s and ratios."""
    packets = sum(len(b) for b, _ in workload)
    t_ext, events = best(runs, lambda: ours_extract(workload))
    t_e2e, _ = best(runs, lambda: ours_end_to_end(workload))
    sample = frames(workload, scapy_limit)
    t_scapy, found = best(1, lambda: scapy_parse(sample))
    ext, e2e, scapy = packets / t_ext, packets / t_e2e, len(sample) / t_scapy
    print(f"\n{name}: {packets:,} packets, {events:,} events (scapy slice {len(sample):,})")
    rate = events / t_ext
    print(f"  ours, extraction only     {ext:>12,.0f} packets/s   {rate:>10,.0f} events/s")
    print(f"  ours, decode + extraction {e2e:>12,.0f} packets/s")
    print(f"  scapy DNS/HTTP layers    {scapy:>12,.0f} packets/s   ({found:,} records)")
    print(f"  ours/scapy: extraction {ext / scapy:,.0f}x, decode + extraction {e2e / scapy:,.0f}x")


def main() -> None:
    """Run the workloads named on the command line (all by default)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20, help="repetitions of the scenarios")
    parser.add_argument("--scapy", type=int, default=5000, help="packets scapy dissects")
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    report(f"scenarios x{args.rounds}", load(SCENARIOS, args.rounds), args.scapy, args.runs)
    for name in CORPUS_FILES:
        path = CORPUS / name
        if path.exists():
            report(f"{name} x{args.rounds}", load([path], args.rounds), args.scapy, args.runs)
        else:
            print(f"\n{name}: corpus absent, skipped")


if __name__ == "__main__":
    main()
