"""Columnar flow batches: the records they build equal the flow table's, whenever built."""

from __future__ import annotations

import dataclasses
import ipaddress
import random
from pathlib import Path

import numpy as np
import pytest

from bench.mixedtraffic import write_mixed
from nssa.pipeline import capture_flow_batches, list_flows
from nssa.settings import load_settings
from sensors.capture import CaptureStats, read_batches
from sensors.decode import decode
from sensors.events import Flow
from sensors.flowbatch import FlowBatch
from sensors.flowkeys import hash_order
from sensors.flowrecords import addresses
from sensors.flows import FlowTable, FlowTimeouts
from tests.captures import decoded_both_ways

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
SCENARIOS = sorted((ROOT / "pcaps").glob("*.pcap"))
CORPUS_CAPTURES = [
    "scan/evilfingers_nmap_syn_scan.pcap",
    "benign/zeek_http_bro.org.pcap",
    "benign/cs_tcp_ports.pcapng",
    "dos/sv_thc_ipv6_toobig6_atomic_fragments.pcap",
    "beacon/corelight_asyncrat_tls_c2.pcap",
    "dns-tunnel/dmachard_iodine.pcap",
]
TIMEOUTS = {
    "default": FlowTimeouts(),
    "evicting": FlowTimeouts(max_flows=3, tcp_idle=86400.0, other_idle=86400.0),
    "closing": FlowTimeouts(tcp_closed=5.0, beat_gap=0.5),
}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The benchmark's traffic mix (VLAN tags, IPv6, DNS, TLS, ICMP, scans), 6000 packets."""
    out = tmp_path_factory.mktemp("mixed")
    write_mixed(out / "mixed.pcap", out / "mixed.pcapng", 6000, random.Random(7))
    return out / "mixed.pcap"


def records_at_once(path: Path, timeouts: FlowTimeouts) -> tuple[list[Flow], FlowTable]:
    """The record path: ``FlowTable.add`` per batch, then ``drain``."""
    table = FlowTable("t", timeouts)
    found = [f for b in read_batches(path) for f in table.add(decode(b))]
    return found + [f for part in table.drain(chunk=5) for f in part], table


def batches_kept(path: Path, timeouts: FlowTimeouts) -> tuple[list[FlowBatch], FlowTable]:
    """The columnar path, every batch kept and none turned into records until the end:
    a batch sharing memory that the table later reuses would show here."""
    table = FlowTable("t", timeouts)
    kept = [table.add_batch(decode(b)) for b in read_batches(path)]
    return kept + list(table.drain_batches(chunk=5)), table


def corpus(name: str) -> Path:
    path = CORPUS / name
    if not path.exists():
        pytest.skip("../shared/corpus is absent")
    return path


def check_same_flows(path: Path, timeouts: FlowTimeouts) -> None:
    expected, table = records_at_once(path, timeouts)
    batches, columnar = batches_kept(path, timeouts)
    assert [f for b in batches for f in b.records()] == expected
    assert columnar.stats == table.stats and table.stats.flows == len(expected)
    assert sum(b.packets for b in batches) == sum(f.packets_out + f.packets_in for f in expected)
    assert sum(b.bytes for b in batches) == sum(f.bytes_out + f.bytes_in for f in expected)


@pytest.mark.parametrize("timeouts", TIMEOUTS.values(), ids=list(TIMEOUTS))
@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_batches_build_the_records_of_add_on_scenarios(path: Path, timeouts: FlowTimeouts) -> None:
    check_same_flows(path, timeouts)


@pytest.mark.parametrize("timeouts", TIMEOUTS.values(), ids=list(TIMEOUTS))
def test_batches_build_the_records_of_add_on_mixed_traffic(
    mixed: Path, timeouts: FlowTimeouts
) -> None:
    check_same_flows(mixed, timeouts)


@pytest.mark.corpus
@pytest.mark.parametrize("name", CORPUS_CAPTURES)
def test_batches_build_the_records_of_add_on_corpus(name: str) -> None:
    for timeouts in TIMEOUTS.values():
        check_same_flows(corpus(name), timeouts)


def test_the_evicting_timeouts_evict(mixed: Path) -> None:
    _, table = records_at_once(mixed, TIMEOUTS["evicting"])
    assert table.stats.evicted > 100


def test_flows_hold_every_usable_packet(mixed: Path) -> None:
    table = FlowTable("t")
    stats = CaptureStats()
    flowed = sum(b.packets for b in capture_flow_batches(mixed, table, stats))
    s = table.stats
    assert stats.packets == s.packets == 6000
    assert flowed == s.packets - s.non_ip - s.later_fragments - s.no_transport > 0


def test_batch_columns_are_read_only(mixed: Path) -> None:
    batch = next(iter(capture_flow_batches(mixed, FlowTable("t"), CaptureStats())))
    assert len(batch) > 0
    with pytest.raises(ValueError, match="read-only"):
        batch.counts[0, 0] = 1


def test_empty_batch_has_no_records() -> None:
    table = FlowTable("t")
    batch = table.expire_batch(1e9)
    assert (len(batch), batch.packets, batch.bytes, batch.records()) == (0, 0, 0, [])
    assert list(table.drain_batches()) == []


@pytest.mark.parametrize("source", ["scenarios", "mixed", "corpus"])
def test_flows_summary_counts_equal_the_record_path(source: str, mixed: Path) -> None:
    """``nssa flows --summary`` builds no records; its counts are those of the records."""
    paths = {
        "scenarios": SCENARIOS,
        "mixed": [mixed, mixed.with_suffix(".pcapng")],
        "corpus": [corpus(name) for name in CORPUS_CAPTURES],
    }[source]
    settings = load_settings(None)
    shown: list[Flow] = []
    with_records = list_flows(paths, settings, shown.extend)
    summary = list_flows(paths, settings, None)
    volatile = ("seconds", "packets_per_second")
    assert {k: v for k, v in summary.items() if k not in volatile} == {
        k: v for k, v in with_records.items() if k not in volatile
    }
    assert summary["flows"] == len(shown) > 0
    assert summary["packets"] == sum(packets_read(p) for p in paths)


def packets_read(path: Path) -> int:
    """Packets the reader alone finds in a capture."""
    stats = CaptureStats()
    for _ in read_batches(path, stats):
        pass
    return stats.packets


def test_batch_needs_key_columns() -> None:
    empty = FlowTable("t").expire_batch(0.0)
    with pytest.raises(ValueError, match="wrong width"):
        dataclasses.replace(empty, keys=np.zeros((0, 3), np.uint64))


def test_addresses_render_as_ipaddress_does() -> None:
    """IPv6 goes through inet_ntop except where it would print a dotted IPv4 form."""
    rng = random.Random(3)
    words = [0, 0, 0, 1, 0xFFFF, 0x0DB8]
    values = [
        sum(rng.choice([*words, rng.randrange(1 << 16)]) << (16 * k) for k in range(8))
        for _ in range(20_000)
    ]
    values += [0, 1, 0xFFFF_0102_0304, 0x0102_0304, 1 << 64, (1 << 128) - 1]
    hi = np.array([v >> 64 for v in values], dtype=np.uint64)
    lo = np.array([v & ((1 << 64) - 1) for v in values], dtype=np.uint64)
    expected = [
        str(ipaddress.IPv4Address(v & 0xFFFF_FFFF))
        if v >> 32 == 0xFFFF
        else str(ipaddress.IPv6Address(v))
        for v in values
    ]
    assert addresses(hi, lo).tolist() == expected


@pytest.mark.parametrize("distinct", [1, 7, 5000, 1 << 40])
def test_hash_order_is_the_stable_sort(distinct: int) -> None:
    rng = np.random.default_rng(distinct)
    hashes = rng.integers(0, distinct, 20_000, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    assert (hash_order(hashes) == np.argsort(hashes, kind="stable")).all()
    assert hash_order(hashes[:0]).shape == (0,)


def test_fast_path_equals_general_decoder_on_tagged_traffic(mixed: Path) -> None:
    """The fast path also takes single-tagged IPv4 (a tenth of the mix): same fields."""
    tagged = 0
    for batch in read_batches(mixed):
        fast = decoded_both_ways(batch)
        tagged += int((fast.vlan >= 0).sum())
    assert tagged > 300
