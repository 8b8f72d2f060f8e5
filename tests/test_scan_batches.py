"""The flow detectors' fast paths agree with their plain definitions on generated traffic."""

from __future__ import annotations

import ipaddress
import itertools
import random
from collections.abc import Callable
from functools import partial

import pytest

from detectors.alert import Alert
from detectors.amplification import Amplification, AmplificationConfig
from detectors.dispatch import observe_all
from detectors.distributed import DistributedScan, DistributedScanConfig
from detectors.flood import Flood, FloodConfig
from detectors.portscan import PortScan, PortScanConfig
from detectors.probes import CLASSIFIERS, probes
from detectors.probescan import ProbeScan, ProbeScanConfig
from detectors.site import Site
from detectors.trw import ThresholdRandomWalk, TrwConfig
from detectors.windows import BoundedMap, DistinctWindow
from sensors.events import Event, Flow, TcpOutcome, Transport

SITE = Site(internal=("10.0.0.0/8",), assets=("10.0.0.0/24",), benign_scanners=("10.9.9.9",))
SCANNERS = ("198.51.100.7", "10.9.9.9", "203.0.113.5")


def traffic(seed: int, count: int = 6000) -> list[Event]:
    """Flows of scanners and ordinary hosts, their start times up to minutes out of order."""
    r = random.Random(seed)
    flows: list[Event] = []
    for i in range(count):
        t = 1.7e9 + i * 0.2 + r.uniform(-300.0, 5.0)
        scanner = r.random() < 0.4
        src = r.choice(SCANNERS) if scanner else f"10.{r.randint(0, 2)}.0.{r.randint(1, 30)}"
        transport = r.choice([Transport.TCP] * 5 + [Transport.UDP] * 2 + list(Transport))
        port = r.choice([445, 445, 22, r.randint(1, 1024)]) if scanner else r.randint(1, 1024)
        icmp = transport in (Transport.ICMP, Transport.ICMPV6)
        flows.append(
            Flow(
                start=t,
                end=t + 1.0,
                sensor="s",
                src_ip=src,
                src_port=r.choice([0, 8, 13, 128]) if icmp else 40000,
                dst_ip=f"10.{r.choice([0, 5])}.0.{r.choice([r.randint(1, 60), 255, 7])}",
                dst_port=r.choice([0, 3]) if icmp else port,
                transport=transport,
                packets_out=r.randint(1, 3),
                packets_in=r.choice([0, 0, 1, 4]),
                bytes_out=60,
                bytes_in=60,
                outcome=r.choice(list(TcpOutcome)),
                flags_out=r.choice(["S", "", "F", "FPU", "A", "SF", "FA", "SA"]),
                flags_in=r.choice(["", "R", "RA", "SA"]),
                iana_number=r.choice([None, 47, 132]) if transport is Transport.OTHER else None,
            )
        )
    return flows


Build = Callable[
    [], PortScan | ThresholdRandomWalk | ProbeScan | DistributedScan | Flood | Amplification
]
DETECTORS: dict[str, Build] = {
    "portscan": lambda: PortScan(
        PortScanConfig(site=SITE, max_sources=400, horizontal_hosts=8, vertical_ports=4)
    ),
    "trw": lambda: ThresholdRandomWalk(TrwConfig(site=SITE, max_contacts=8, max_sources=40)),
    "probescan": lambda: ProbeScan(ProbeScanConfig(site=SITE, max_episodes=50, max_items=4)),
    "distributed": lambda: DistributedScan(DistributedScanConfig(sources=2, hosts=5)),
    # Thresholds low enough for the generated traffic; small caps exercise the evictions.
    "flood": lambda: Flood(
        FloodConfig(
            packets_per_second=4.0,
            icmp_packets_per_second=2.0,
            interval_seconds=1.0,
            lateness_seconds=30.0,
            max_destinations=20,
        )
    ),
    "amplification": lambda: Amplification(
        AmplificationConfig(min_ratio=1.5, min_requests=2, smurf_min_requests=2, max_keys=30)
    ),
}


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_batches_raise_what_single_events_raise(name: str) -> None:
    events = traffic(seed=len(name))
    one, batched = DETECTORS[name](), DETECTORS[name]()
    single = [a for e in events for a in one.observe(e)] + one.flush(float("inf"))
    in_batches: list[Alert] = []
    for start in range(0, len(events), 500):  # through dispatch: observe_batch when defined
        in_batches += observe_all([batched], events[start : start + 500])
    in_batches += batched.flush(float("inf"))
    assert single  # the traffic must make each detector fire, or this compares nothing
    assert [a.to_ecs() for a in in_batches] == [a.to_ecs() for a in single]


def test_flows_skipped_before_the_classifiers_are_no_probe_of_any_kind() -> None:
    flows = [e for e in traffic(seed=3) if isinstance(e, Flow)]
    named = [[p for c in CLASSIFIERS if (p := c(f)) is not None] for f in flows]
    assert [probes(f) for f in flows] == named
    assert sum(1 for n in named if n) > 100  # both sides of the shortcut are exercised


def test_site_membership_matches_ipaddress() -> None:
    r = random.Random(5)
    nets = ("10.0.0.0/8", "10.1.0.0/16", "192.168.4.0/23", "192.168.6.0/24", "fd00::/8", "1.2.3.4")
    site = Site(internal=nets)
    parsed = [ipaddress.ip_network(n) for n in nets]
    v4 = (
        f"{r.choice([10, 192, 1, 172])}.{r.randint(0, 255)}.{r.randint(0, 8)}.{r.randint(0, 255)}"
        for _ in range(3000)
    )
    v6 = ("fd12::1", "fe80::1", "::ffff:10.0.0.1", "not-an-ip", "1.2.3.4", "1.2.3.5")
    for ip in itertools.chain(v4, v6):
        try:
            expected = any(ipaddress.ip_address(ip) in net for net in parsed)
        except ValueError:
            expected = False
        assert site.is_internal(ip) is expected, ip


def test_oldest_is_the_entry_expire_looks_at_first() -> None:
    table: BoundedMap[str, float] = BoundedMap(4)
    assert table.oldest() is None
    for key, t in (("a", 1.0), ("b", 2.0), ("c", 3.0)):
        table.touch(key, partial(float, t))
    table.get("a")
    assert (table.oldest(), table.expire(lambda t: t < 2.5)) == (2.0, [("b", 2.0)])


def test_distinct_window_caps_items_and_counts_what_it_dropped() -> None:
    window = DistinctWindow(100.0, cap=2)
    for t, item in ((0.0, "a"), (1.0, "b"), (2.0, "c"), (3.0, "b")):
        window.add(item, t)
    assert (window.items(), window.evictions, window.total) == (["c", "b"], 1, 4)
