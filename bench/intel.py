"""Indicator-set throughput: build time and lookups/s with a million indicators, vs a list scan.

The indicators are synthetic and deterministic (seeded): IPv4 addresses, IPv4 networks
(/16-/30) and domains. Ours: parse the feed text, store it in the SQLite database and load it
back, build the set, then look up addresses (one batched ``searchsorted``, and one by one with
resolution to the listing indicators) and names (label walk); times are CPU seconds.
The baseline is what a first version would do: a Python list of ``ipaddress`` networks and
of domain strings, scanned for every lookup. A scan costs time in proportion to the list, so it
is measured on lists of 10,000 and 100,000 entries and extrapolated linearly to the full size
(both measured points are printed so the scaling can be checked).
Not a test: ``python -m bench.intel [--size N]``.
"""

from __future__ import annotations

import argparse
import ipaddress
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from detectors.feedrecords import FeedDefaults
from detectors.feeds import parse_list
from detectors.indicatorset import IndicatorSet
from nssa.intel import import_feed, read_rows

ALPHABET = np.array(list("abcdefghijklmnopqrstuvwxyz0123456789"))
T = TypeVar("T")
TLDS = ["com", "net", "org", "cn", "info", "top", "xyz", "ru"]


def feed_text(size: int, seed: int = 1) -> tuple[str, list[str], list[str]]:
    """A list feed of ``size`` lines: 60 % addresses, 10 % networks, 30 % domains."""
    rng = np.random.default_rng(seed)
    n_addr, n_net = int(size * 0.6), int(size * 0.1)
    n_dom = size - n_addr - n_net
    addrs = [str(ipaddress.IPv4Address(int(a))) for a in rng.integers(1 << 24, 0xDF000000, n_addr)]
    prefixes = rng.integers(16, 31, n_net)
    starts = rng.integers(1 << 24, 0xDF000000, n_net)
    nets = [
        f"{ipaddress.IPv4Address(int(s) >> (32 - int(p)) << (32 - int(p)))}/{int(p)}"
        for s, p in zip(starts, prefixes, strict=True)
    ]
    letters = ALPHABET[rng.integers(0, len(ALPHABET), (n_dom, 12))]
    tlds = rng.integers(0, len(TLDS), n_dom)
    domains = [f"{''.join(row)}.{TLDS[t]}" for row, t in zip(letters, tlds, strict=True)]
    return "\n".join([*addrs, *nets, *domains]) + "\n", [*addrs, *nets], domains


def timed(work: Callable[[], T]) -> tuple[float, T]:
    """CPU seconds of one run of ``work`` and what it returned.

    CPU time, not wall time: the bench machine is shared, and waiting for a core is not
    the code's cost. Wall time is printed beside the totals.
    """
    start = time.process_time()
    result = work()
    return time.process_time() - start, result


def probes(rng: np.random.Generator, listed_ips: list[str], count: int) -> list[str]:
    """Lookup addresses: 10 % listed, the rest random (mostly unlisted, as on a real link)."""
    hits = [
        listed_ips[int(i)].partition("/")[0] for i in rng.integers(0, len(listed_ips), count // 10)
    ]
    rest = [str(ipaddress.IPv4Address(int(a))) for a in rng.integers(0, 2**32, count - len(hits))]
    return hits + rest


def naive_rate(
    nets: list[str], domains: list[str], ips: list[str], names: list[str]
) -> tuple[float, float]:
    """Lookups/s of a list scan over ``nets`` (addresses) and ``domains`` (names)."""
    networks = [ipaddress.ip_network(n, strict=False) for n in nets]
    seconds, _ = timed(
        lambda: [any(ipaddress.ip_address(p) in net for net in networks) for p in ips]
    )
    ip_rate = len(ips) / seconds
    seconds, _ = timed(lambda: [any(n == d or n.endswith("." + d) for d in domains) for n in names])
    return ip_rate, len(names) / seconds


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1_000_000, help="Indicators in the set.")
    size = parser.parse_args().size
    wall = time.perf_counter()
    rng = np.random.default_rng(2)
    text, ips_listed, domains = feed_text(size)

    t_parse, parsed = timed(lambda: parse_list(text, FeedDefaults(source="bench")))
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "intel.db"
        t_import, _ = timed(lambda: import_feed(db, parsed, "bench"))
        t_read, rows = timed(lambda: list(read_rows(db)))
    t_build, indicators = timed(lambda: IndicatorSet.from_rows(rows))
    print(f"indicators: {len(indicators):,} ({len(ips_listed):,} IPv4, {len(domains):,} domains)")
    print(f"parse feed text   {t_parse:7.2f} s  ({size / t_parse:,.0f} lines/s)")
    print(f"sqlite import     {t_import:7.2f} s")
    print(f"sqlite read back  {t_read:7.2f} s")
    print(f"build set         {t_build:7.2f} s  ({indicators.intervals:,} merged intervals)")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory       {rss:7.0f} MB (feed text, parsed feed, rows and set all held)")

    batch = rng.integers(0, 2**32, 1_000_000).astype(np.int64)
    t_vec, mask = timed(lambda: indicators.contains_ipv4(batch))
    ips = probes(rng, ips_listed, 100_000)
    t_str, _ = timed(lambda: indicators.contains_ips(ips))
    t_one, found = timed(lambda: sum(bool(indicators.match_ip(p)) for p in ips))
    names = [f"www.{domains[int(i)]}" for i in rng.integers(0, len(domains), 10_000)]
    names += [f"host{n}.unlisted-{n}.example.com" for n in range(90_000)]
    t_dom, hits = timed(lambda: sum(bool(indicators.match_domain(n)) for n in names))
    ours = {
        "IPv4 batch (ints, vectorised)": (len(batch) / t_vec, int(mask.sum())),
        "IPv4 batch (text, parse+lookup)": (len(ips) / t_str, -1),
        "IPv4 one by one, resolved": (len(ips) / t_one, found),
        "domain label walk, resolved": (len(names) / t_dom, hits),
    }
    for what, (rate, count) in ours.items():
        print(f"{what:32} {rate:14,.0f} lookups/s" + (f"  ({count:,} hits)" if count >= 0 else ""))

    ip_share = len(ips_listed) / size
    ip_rate = dom_rate = scale = 0.0
    for sample in (10_000, 100_000):
        n_ip = int(sample * ip_share)
        ip_rate, dom_rate = naive_rate(
            ips_listed[:n_ip], domains[: sample - n_ip], ips[:40], names[:40]
        )
        scale = sample / size  # a scan of the full list is 1/scale times slower
        print(
            f"naive list scan of {sample:,}: {ip_rate:9,.1f} IP, {dom_rate:9,.1f} name lookups/s"
            f" -> at {size:,}: {ip_rate * scale:7.2f} and {dom_rate * scale:7.2f} lookups/s"
        )
    naive_ip, naive_dom = ip_rate * scale, dom_rate * scale
    print(
        f"ratio at {size:,} (ours / naive extrapolated from 100,000): "
        f"IP one by one {ours['IPv4 one by one, resolved'][0] / naive_ip:,.0f}x, "
        f"IP vectorised {ours['IPv4 batch (ints, vectorised)'][0] / naive_ip:,.0f}x, "
        f"domain {ours['domain label walk, resolved'][0] / naive_dom:,.0f}x"
    )
    print(f"(times are CPU seconds; whole run {time.perf_counter() - wall:.0f} s wall)")


if __name__ == "__main__":
    main()
