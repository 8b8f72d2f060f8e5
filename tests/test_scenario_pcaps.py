"""The committed scenario captures in pcaps/ are reproducible and match their documentation."""

from __future__ import annotations

import importlib.util
import struct
import sys
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest
from scapy.layers.inet import IP
from scapy.layers.l2 import Ether
from scapy.utils import rdpcap

PCAPS = Path(__file__).resolve().parents[1] / "pcaps"
TOTAL_BUDGET = 4_000_000

# file: (first allowed local time, last allowed local time, size budget in bytes, attacker)
CAPTURES: dict[str, tuple[str, str, int, str | None]] = {
    "background.pcap": ("08:30", "18:00", 1_600_000, None),
    "recon_scan.pcap": ("10:10", "10:25", 400_000, "203.0.113.45"),
    "ssh_bruteforce.pcap": ("14:00", "14:30", 500_000, "198.51.100.23"),
    "web_attack.pcap": ("15:28", "15:50", 400_000, "192.0.2.66"),
    "dns_tunnel.pcap": ("11:00", "11:25", 400_000, "10.24.1.50"),
    "https_beacon.pcap": ("09:00", "11:10", 800_000, "198.51.100.77"),
}
EXTERNAL_ATTACKERS = {"203.0.113.45", "198.51.100.23", "192.0.2.66", "198.51.100.77"}


def _epoch(local_hhmm: str) -> float:
    return datetime.fromisoformat(f"2026-11-02T{local_hhmm}:00+08:00").timestamp()


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nssa_pcaps_generate", PCAPS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pcaps")
    _load_generator().generate(out)
    return out


def test_regenerated_captures_are_byte_identical(regenerated: Path) -> None:
    assert sorted(p.name for p in regenerated.glob("*.pcap")) == sorted(CAPTURES)
    assert sorted(p.name for p in PCAPS.glob("*.pcap")) == sorted(CAPTURES)
    for name in CAPTURES:
        assert (regenerated / name).read_bytes() == (PCAPS / name).read_bytes(), name


def test_total_size_budget() -> None:
    assert sum((PCAPS / name).stat().st_size for name in CAPTURES) < TOTAL_BUDGET


@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_capture_reads_back_inside_its_window(name: str) -> None:
    first, last, budget, attacker = CAPTURES[name]
    path = PCAPS / name
    assert path.stat().st_size <= budget
    magic, major, minor, _, _, _, linktype = struct.unpack("<IHHiIII", path.read_bytes()[:24])
    assert (magic, major, minor, linktype) == (0xA1B2C3D4, 2, 4, 1)  # classic pcap, Ethernet
    packets = rdpcap(str(path))
    assert len(packets) > 100
    times = [float(packet.time) for packet in packets]
    assert times == sorted(times)
    assert _epoch(first) <= times[0] and times[-1] <= _epoch(last)
    assert all(packet.haslayer(Ether) and packet.haslayer(IP) for packet in packets)
    sources = {packet[IP].src for packet in packets}
    if attacker is None:
        assert not sources & EXTERNAL_ATTACKERS
    else:
        assert attacker in sources
