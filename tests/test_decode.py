"""Decoding through mirror encapsulations, ICMP errors and ARP, checked on scapy-built frames."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from scapy.contrib.erspan import ERSPAN_II, ERSPAN_III, ERSPAN_PlatformSpecific
from scapy.contrib.mpls import MPLS
from scapy.layers.inet import ICMP, IP, TCP, UDP, fragment
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, GRE, Dot1AD, Dot1Q, Ether
from scapy.layers.ppp import PPP, PPPoE
from scapy.layers.vxlan import VXLAN
from scapy.packet import Packet

from nssa.pipeline import capture_flows
from sensors.capture import CaptureStats, PacketBatch, read_batches
from sensors.events import Flow, TcpOutcome, Transport
from sensors.fastpath import decode_plain
from sensors.flows import FlowTable
from tests.captures import decoded_both_ways, write_pcap

ROOT = Path(__file__).resolve().parents[1]
CLIENT, SERVER = "10.21.3.7", "10.10.2.20"
PROBE = IP(src=CLIENT, dst=SERVER) / TCP(sport=41000, dport=443, flags="S")
REPLY = IP(src=SERVER, dst=CLIENT) / TCP(sport=443, dport=41000, flags="SA")
MIRROR = Ether() / IP(src="172.16.0.1", dst="172.16.0.9")


def flows(tmp_path: Path, frames: Sequence[Packet], linktype: int = 1) -> list[Flow]:
    path = write_pcap(
        tmp_path / "x.pcap",
        [(100.0 + n, bytes(f)) for n, f in enumerate(frames)],
        linktype=linktype,
    )
    return [f for batch in capture_flows(path, FlowTable("t"), CaptureStats()) for f in batch]


def only(tmp_path: Path, frames: Sequence[Packet], linktype: int = 1) -> Flow:
    (flow,) = flows(tmp_path, frames, linktype)
    assert (flow.src_ip, flow.src_port, flow.dst_ip, flow.dst_port) == (CLIENT, 41000, SERVER, 443)
    assert flow.outcome is TcpOutcome.HALF_OPEN
    return flow


@pytest.mark.parametrize(
    ("wrap", "tunnel", "tunnel_id", "vlan"),
    [
        (lambda p: Ether() / Dot1AD(vlan=100) / Dot1Q(vlan=7) / p, "", None, 100),
        (lambda p: Ether() / MPLS(label=16, s=0) / MPLS(label=17, s=1) / p, "", None, None),
        (lambda p: MIRROR / GRE(proto=0x6558) / Ether() / p, "gre", None, None),
        (lambda p: MIRROR / GRE(key_present=1, key=77, proto=0x0800) / p, "gre", 77, None),
        (
            lambda p: (
                MIRROR
                / GRE(seqnum_present=1, proto=0x88BE)
                / ERSPAN_II(session_id=5)
                / Ether()
                / Dot1Q(vlan=30)
                / p
            ),
            "erspan2",
            5,
            30,
        ),
        (
            lambda p: (
                MIRROR
                / GRE(proto=0x22EB)
                / ERSPAN_III(session_id=9, o=1)
                / ERSPAN_PlatformSpecific()
                / Ether()
                / p
            ),
            "erspan3",
            9,
            None,
        ),
        (
            lambda p: MIRROR / UDP(sport=50000, dport=4789) / VXLAN(vni=5001) / Ether() / p,
            "vxlan",
            5001,
            None,
        ),
        (lambda p: Ether() / PPPoE(sessionid=7) / PPP(proto=0x0021) / p, "", None, None),
    ],
    ids=["qinq", "mpls", "gre-eth", "gre-ip-key", "erspan2", "erspan3", "vxlan", "pppoe"],
)
def test_mirror_encapsulations_expose_the_inner_flow(
    tmp_path: Path,
    wrap: Callable[[Packet], Packet],
    tunnel: str,
    tunnel_id: int | None,
    vlan: int | None,
) -> None:
    frames = [
        wrap(PROBE),
        wrap(REPLY),
        wrap(IP(src=CLIENT, dst=SERVER) / TCP(sport=41000, dport=443, flags="R")),
    ]
    flow = only(tmp_path, frames)
    assert (flow.tunnel, flow.tunnel_id, flow.vlan) == (tunnel, tunnel_id, vlan)
    if tunnel:
        assert (flow.outer_src_ip, flow.outer_dst_ip) == ("172.16.0.1", "172.16.0.9")


@pytest.mark.parametrize("linktype", [101, 228])
def test_raw_ip_link_types(tmp_path: Path, linktype: int) -> None:
    frames = [PROBE, REPLY, IP(src=CLIENT, dst=SERVER) / TCP(sport=41000, dport=443, flags="R")]
    only(tmp_path, frames, linktype)


def test_icmp_port_unreachable_marks_the_udp_probe_rejected(tmp_path: Path) -> None:
    probe = IP(src=CLIENT, dst=SERVER) / UDP(sport=41000, dport=161) / b"x"
    refusal = IP(src=SERVER, dst=CLIENT) / ICMP(type=3, code=3) / IP(bytes(probe)[:28])
    silent = IP(src=CLIENT, dst=SERVER) / UDP(sport=41001, dport=162) / b"x"
    found = {
        f.dst_port: f
        for f in flows(tmp_path, [Ether() / probe, Ether() / refusal, Ether() / silent])
    }
    assert found[161].outcome is TcpOutcome.REJECTED and found[161].packets_in == 1
    assert found[162].outcome is TcpOutcome.UNANSWERED
    assert all(f.transport is Transport.UDP for f in found.values())


def test_icmp_admin_prohibited_rejects_a_syn(tmp_path: Path) -> None:
    refusal = IP(src=SERVER, dst=CLIENT) / ICMP(type=3, code=13) / IP(bytes(PROBE)[:28])
    (flow,) = flows(tmp_path, [Ether() / PROBE, Ether() / refusal])
    assert flow.outcome is TcpOutcome.REJECTED and flow.src_ip == CLIENT


def test_unanswered_ipv6_udp_probe(tmp_path: Path) -> None:
    probe = IPv6(src="2001:db8::7", dst="2001:db8::20") / UDP(sport=5000, dport=53) / b"q"
    (flow,) = flows(tmp_path, [Ether() / probe])
    assert flow.outcome is TcpOutcome.UNANSWERED and flow.src_ip == "2001:db8::7"


def test_arp_request_and_reply_make_one_arp_flow(tmp_path: Path) -> None:
    who = Ether() / ARP(op=1, psrc="10.21.3.1", pdst="10.21.3.9")
    reply = Ether() / ARP(op=2, psrc="10.21.3.9", pdst="10.21.3.1")
    lonely = Ether() / ARP(op=1, psrc="10.21.3.1", pdst="10.21.3.10")
    found = {f.dst_ip: f for f in flows(tmp_path, [who, reply, lonely])}
    assert found["10.21.3.9"].transport is Transport.ARP
    assert (found["10.21.3.9"].src_ip, found["10.21.3.9"].packets_in) == ("10.21.3.1", 1)
    assert found["10.21.3.10"].packets_in == 0


def test_later_fragments_are_counted_not_flowed(tmp_path: Path) -> None:
    whole = IP(src=CLIENT, dst=SERVER, id=9) / UDP(sport=1, dport=2) / (b"x" * 3000)
    table = FlowTable("t")
    parts = fragment(whole, fragsize=1000)  # type: ignore[no-untyped-call]
    path = write_pcap(
        tmp_path / "f.pcap", [(1.0 + n, bytes(Ether() / p)) for n, p in enumerate(parts)]
    )
    (flow,) = [f for b in capture_flows(path, table, CaptureStats()) for f in b]
    assert flow.dst_port == 2 and flow.packets_out == 1
    assert table.stats.later_fragments == len(parts) - 1


def test_other_ip_protocols_make_portless_flows(tmp_path: Path) -> None:
    esp = Ether() / IP(src=CLIENT, dst=SERVER, proto=50) / (b"\x00" * 24)
    (flow,) = flows(tmp_path, [esp])
    assert (flow.transport, flow.src_port, flow.dst_port) == (Transport.OTHER, 0, 0)
    assert flow.iana_number == 50


@pytest.mark.parametrize("capture", sorted((ROOT / "pcaps").glob("*.pcap")), ids=lambda p: p.stem)
def test_fast_path_equals_general_decoder(capture: Path) -> None:
    for batch in read_batches(capture):
        decoded_both_ways(batch)


def test_ipv6_authentication_header_is_skipped(tmp_path: Path) -> None:
    from scapy.layers.inet6 import ICMPv6EchoRequest
    from scapy.layers.ipsec import AH

    echo = (
        IPv6(src="2001:db8::2", dst="2001:db8::1") / AH(nh=58, payloadlen=1) / ICMPv6EchoRequest()
    )
    (flow,) = flows(tmp_path, [Ether() / echo])
    assert (flow.transport, flow.src_port) == (Transport.ICMPV6, 128)


def _edge_frames() -> list[bytes]:
    """IPv4 and IPv6 frames at the fast path's edges: every cut length, tags, extension
    headers, VXLAN, ICMP errors, lying length fields, options and fragments."""
    v4, v6 = IP(src=CLIENT, dst=SERVER), IPv6(src="2001:db8::2", dst="2001:db8::1")
    bodies = [
        TCP(sport=40_000, dport=443, flags="PA") / (b"x" * 30),
        TCP(sport=40_000, dport=443, dataofs=8, options=[("NOP", None)] * 12),
        UDP(sport=5353, dport=53) / (b"q" * 12),
        UDP(sport=1, dport=4789) / VXLAN(vni=7) / Ether() / IP() / TCP(),
    ]
    stacks = [v4 / b for b in bodies] + [v6 / b for b in bodies]
    stacks += [
        IP(src=CLIENT, dst=SERVER, ihl=6, options=b"\x01\x01\x01\x01") / TCP(),
        IP(src=CLIENT, dst=SERVER, frag=3) / UDP(),
        IP(src=CLIENT, dst=SERVER, len=30) / TCP() / (b"y" * 40),  # shorter than captured
        IP(src=CLIENT, dst=SERVER, len=2000) / UDP() / b"z",  # longer than captured
        v4 / ICMP(type=3, code=3) / IP(src=SERVER, dst=CLIENT) / UDP(sport=9, dport=161),
        v4 / ICMP(type=8) / b"ping",
        IPv6(src="2001:db8::2", dst="2001:db8::1", nh=0) / (b"\x06\x00" + bytes(6)) / TCP(),
        IPv6(src="2001:db8::2", dst="2001:db8::1", plen=4) / UDP() / (b"w" * 20),
    ]
    frames = []
    for stack in stacks:
        ether = Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01")  # no ARP lookups
        for framed in (ether / stack, ether / Dot1Q(vlan=12) / stack):
            whole = bytes(framed)
            frames += [whole[:cut] for cut in range(12, len(whole) + 1, 3)] + [whole]
    return frames


def test_fast_path_equals_general_decoder_at_its_edges(tmp_path: Path) -> None:
    """Cut, tagged, tunnelled and lying IPv4 and IPv6 frames: the compiled fast path decodes
    the plain ones exactly as the general decoder does, and leaves it the others."""
    frames = _edge_frames()
    path = write_pcap(tmp_path / "edges.pcap", [(1.0 + n, f) for n, f in enumerate(frames)])
    ipv6_fast = 0
    for batch in read_batches(path):
        decoded_both_ways(batch)
        plain = decode_plain(batch)
        assert plain is not None
        ipv6_fast += int((plain[0] & (plain[1].version == 6)).sum())
    assert ipv6_fast > 50  # the fast path does take plain IPv6


@pytest.mark.parametrize("seed", range(4))
def test_fast_path_on_random_bytes_up_to_the_buffer_end(seed: int) -> None:
    """Random frames packed back to back, the last ending exactly at the buffer's end (where
    a read one byte too far would leave the buffer): both decoders agree on every field."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(0, 120, 4_000)
    data = rng.integers(0, 256, int(sizes.sum()), dtype=np.uint8)
    # Make most frames look plain enough to get deep into the fast path before failing.
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    for offset, value in ((12, 0x08), (13, 0x00), (14, 0x45), (20, 0), (21, 0)):
        at = starts + offset
        fits = at < starts + sizes
        data[at[fits & (rng.random(len(at)) < 0.8)]] = value
    batch = PacketBatch(
        data=data,
        offset=starts.astype(np.int64),
        caplen=sizes.astype(np.int64),
        wirelen=sizes.astype(np.int64),
        linktype=np.ones(len(sizes), dtype=np.int64),
        ts=np.arange(len(sizes), dtype=np.float64),
    )
    decoded_both_ways(batch)
    assert decode_plain(batch) is not None
