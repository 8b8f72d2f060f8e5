"""Flow table: direction, handshake outcome, timeouts, state cap, and agreement with tshark."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from nssa.pipeline import capture_flows
from sensors.capture import CaptureStats
from sensors.events import Flow, TcpOutcome, Transport
from sensors.flows import FlowTable, FlowTimeouts
from tests.captures import Packet, handshake, icmp, tcp, tcp6, udp, vlan_tcp, write_pcap

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
C, S = "10.0.0.1", "10.0.0.2"


def flows_of(
    tmp_path: Path, packets: list[Packet], timeouts: FlowTimeouts | None = None
) -> list[Flow]:
    path = write_pcap(tmp_path / "x.pcap", sorted(packets))
    table = FlowTable("test", timeouts)
    return [f for batch in capture_flows(path, table, CaptureStats()) for f in batch]


def one(tmp_path: Path, frames: list[bytes]) -> Flow:
    flows = flows_of(tmp_path, [(100.0 + n, f) for n, f in enumerate(frames)])
    assert len(flows) == 1
    return flows[0]


def test_complete_session_is_closed_with_both_directions(tmp_path: Path) -> None:
    flow = one(tmp_path, [f for _, f in handshake(0, C, S, 40000, 80)])
    assert (flow.src_ip, flow.src_port, flow.dst_ip, flow.dst_port) == (C, 40000, S, 80)
    assert (flow.packets_out, flow.packets_in, flow.outcome) == (5, 3, TcpOutcome.CLOSED)
    assert flow.flags_out == "FSPA" and flow.bytes_out > flow.packets_out * 54


@pytest.mark.parametrize(
    ("frames", "outcome"),
    [
        ([tcp(C, S, 1, 22, "S"), tcp(S, C, 22, 1, "RA")], TcpOutcome.REJECTED),
        ([tcp(C, S, 1, 22, "S"), tcp(C, S, 1, 22, "S")], TcpOutcome.UNANSWERED),
        (
            [tcp(C, S, 1, 22, "S"), tcp(S, C, 22, 1, "SA"), tcp(C, S, 1, 22, "R")],
            TcpOutcome.HALF_OPEN,
        ),
        (
            [tcp(C, S, 1, 22, "S"), tcp(S, C, 22, 1, "SA"), tcp(C, S, 1, 22, "A")],
            TcpOutcome.ESTABLISHED,
        ),
        ([tcp(C, S, 1, 22, "F"), tcp(S, C, 22, 1, "RA")], TcpOutcome.MIDSTREAM),
        ([tcp(C, S, 1, 22, "")], TcpOutcome.MIDSTREAM),
    ],
)
def test_handshake_outcomes(tmp_path: Path, frames: list[bytes], outcome: TcpOutcome) -> None:
    flow = one(tmp_path, frames)
    assert flow.outcome is outcome and flow.src_ip == C


def test_initiator_is_the_syn_sender_even_if_the_responder_spoke_first(tmp_path: Path) -> None:
    frames = [tcp(S, C, 22, 1, "A"), tcp(C, S, 1, 22, "S"), tcp(S, C, 22, 1, "SA")]
    flow = one(tmp_path, frames)
    assert (flow.src_ip, flow.dst_port) == (C, 22)


def test_udp_icmp_ipv6_and_vlan_flows(tmp_path: Path) -> None:
    packets: list[Packet] = [
        (1.0, udp(C, S, 5353, 53)),
        (1.1, udp(S, C, 53, 5353)),
        (2.0, icmp(C, S, 8)),
        (2.1, icmp(S, C, 0)),
        (3.0, tcp6("2001:db8::1", "2001:db8::2", 1, 443, "S")),
        (4.0, vlan_tcp(42, C, S, 2, 443, "S")),
    ]
    flows = {f.transport: f for f in flows_of(tmp_path, packets)}
    assert flows[Transport.UDP].packets_in == 1 and flows[Transport.UDP].dst_port == 53
    assert (flows[Transport.ICMP].src_port, flows[Transport.ICMP].packets_in) == (8, 1)
    tcp_flows = [f for f in flows_of(tmp_path, packets) if f.transport is Transport.TCP]
    assert {(f.src_ip, f.vlan) for f in tcp_flows} == {("2001:db8::1", None), (C, 42)}


def test_idle_timeout_splits_and_cap_evicts(tmp_path: Path) -> None:
    early = handshake(0, C, S, 1, 80)
    late = [(t + 1000, f) for t, f in handshake(0, C, S, 1, 80)]
    flows = flows_of(tmp_path, early + late, FlowTimeouts(tcp_idle=60))
    assert len(flows) == 2
    many = [(float(n), tcp(C, S, 1000 + n, 80, "S")) for n in range(50)]
    table_flows = flows_of(tmp_path, many, FlowTimeouts(max_flows=10))
    assert len(table_flows) == 50


def tshark_streams(
    path: Path, protocol: str = "tcp", display: str = "tcp && !icmp"
) -> Counter[tuple[str, int]]:
    """Per conversation as tshark numbers them: (sorted endpoints, packet count)."""
    fields = [f"{protocol}.stream", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst"]
    command = ["tshark", "-r", str(path), "-Y", display, "-T", "fields"]
    command += [arg for name in fields for arg in ("-e", name)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    streams: dict[str, list[str]] = {}
    for line in out.splitlines():
        stream, *addrs = line.split("\t")
        streams.setdefault(stream, sorted(a for a in addrs if a))
        streams[stream].append("p")
    return Counter((" ".join(v[:2]), v.count("p")) for v in streams.values())


@pytest.mark.corpus
@pytest.mark.parametrize(
    "name",
    [
        "scan/evilfingers_nmap_syn_scan.pcap",
        "scan/evilfingers_nmap_connect_scan.pcap",
        "benign/zeek_http_bro.org.pcap",
        "benign/cs_tcp_ports.pcapng",
    ],
)
def test_tcp_flows_match_tshark_conversations(name: str) -> None:
    path = CORPUS / name
    if not path.exists():
        pytest.skip("../shared/corpus is absent")
    if shutil.which("tshark") is None:
        if os.environ.get("CI"):
            pytest.fail("tshark must be installed in CI (.ci/run installs it)")
        pytest.skip("tshark not installed")
    table = FlowTable("test")
    ours = Counter(
        (" ".join(sorted([f.src_ip, f.dst_ip])), f.packets_out + f.packets_in)
        for batch in capture_flows(path, table, CaptureStats())
        for f in batch
        if f.transport is Transport.TCP
    )
    assert ours == tshark_streams(path)


def tshark_udp_streams(path: Path) -> Counter[tuple[str, int]]:
    """UDP conversations; ICMP errors quoting a datagram are numbered with its stream."""
    return tshark_streams(path, "udp", "udp")


@pytest.mark.corpus
@pytest.mark.parametrize(
    "name",
    [
        "benign/zeek_dns-edns-ecs.pcap",
        "benign/zeek_ntp_ntp.pcap",
        "scan/evilfingers_nmap_udp_scan.pcap",
    ],
)
def test_udp_flows_match_tshark_conversations(name: str) -> None:
    """UDP flows equal tshark's UDP streams, packet for packet. An ICMP error quoting a UDP
    datagram belongs to that datagram's flow for both: tshark numbers it with the quoted
    stream, and we fold it into the flow it refuses."""
    path = CORPUS / name
    if not path.exists():
        pytest.skip("../shared/corpus is absent")
    if shutil.which("tshark") is None:
        if os.environ.get("CI"):
            pytest.fail("tshark must be installed in CI (.ci/run installs it)")
        pytest.skip("tshark not installed")
    ours = Counter(
        (" ".join(sorted([f.src_ip, f.dst_ip])), f.packets_out + f.packets_in)
        for batch in capture_flows(path, FlowTable("test"), CaptureStats())
        for f in batch
        if f.transport is Transport.UDP
    )
    assert ours == tshark_udp_streams(path)
