"""Country and AS lookups of outside addresses: database load cost and addresses/s.

Loads the installed ``@ip-location-db/asn`` files (``correlator.geography``) in a fresh
process, then looks up 100,000 seeded random public IPv4 addresses and 20,000 IPv6 ones in one
batch (``Geography.locate``), and the same addresses one call each (the baseline: what a page
listing addresses one by one would cost). Times are CPU seconds, the median of ``--repeat``
runs. Not a test: ``python -m bench.geography``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from correlator.geography import DEFAULT_DATABASE, Geography


def _resident_mb() -> float:
    """The process's resident memory now (not the peak), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _median_cpu(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.process_time()
        run()
        times.append(time.process_time() - began)
    return statistics.median(times)


def main() -> None:
    """Print load figures and lookup rates."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", type=Path, default=DEFAULT_DATABASE)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    before = _resident_mb()
    geo = Geography.load(args.database)
    figures = geo.figures
    print(
        f"load: {figures.ranges} ranges, {figures.organisations} holders, "
        f"{figures.seconds:.2f} s CPU, peak RSS +{figures.rss_growth_mb:.0f} MB, "
        f"resident after load +{_resident_mb() - before:.0f} MB"
    )
    rng = random.Random(1)
    v4 = [".".join(str(rng.randrange(1, 224)) for _ in range(4)) for _ in range(100_000)]
    v6 = [
        f"2{rng.randrange(0x400, 0x1000):03x}:{rng.randrange(0x10000):x}::1" for _ in range(20_000)
    ]
    for name, sample in (("IPv4", v4), ("IPv6", v6)):
        part = sample[:10_000]

        def batch_run(sample: list[str] = sample) -> object:
            return geo.locate(sample)

        def single_run(part: list[str] = part) -> object:
            return [geo.locate([a]) for a in part]

        batch = _median_cpu(batch_run, args.repeat)
        single = _median_cpu(single_run, 1) * len(sample) / len(part)
        print(
            f"{name} {len(sample)}: batch {batch:.3f} s ({len(sample) / batch:,.0f}/s), "
            f"one at a time {single:.3f} s ({len(sample) / single:,.0f}/s, from 10,000)"
        )


if __name__ == "__main__":
    main()
