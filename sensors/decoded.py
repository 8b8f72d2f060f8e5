"""What decoding produces: per-packet header fields of a batch, as numpy columns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sensors.view import I64, U64, Mask

PROTO_ICMP, PROTO_TCP, PROTO_UDP, PROTO_ICMPV6 = 1, 6, 17, 58
PROTO_ARP = 0x0806  # pseudo protocol number for ARP exchanges, outside the IP range
IPV4_MAPPED = np.uint64(0xFFFF00000000)
ICMP_ERRORS = (3, 4, 11, 12)  # unreachable, source quench, time exceeded, parameter problem


@dataclass(frozen=True)
class Network:
    """Network- and transport-layer fields of every packet (zeros where absent)."""

    ip: Mask  # an IPv4 or IPv6 header was read completely
    arp: Mask  # an ARP request or reply
    version: I64
    src_hi: U64
    src_lo: U64
    dst_hi: U64
    dst_lo: U64
    proto: I64
    later_fragment: Mask  # a fragment other than the first: it carries no ports
    l3: I64  # offset of the IP (or ARP) header in the batch buffer
    l4: I64  # offset of the transport header
    ip_end: I64  # where the IP datagram ends by its own length field
    sport: I64  # TCP/UDP port; ICMP type
    dport: I64  # TCP/UDP port; ICMP code; ARP opcode
    tcp_flags: I64
    l4_ok: Mask  # the transport header (or the ARP body) was captured


@dataclass(frozen=True)
class Decoded(Network):
    """Everything the flow table and metadata extractors need about a batch's packets."""

    ts: npt.NDArray[np.float64]
    wirelen: I64
    ethertype: I64
    vlan: I64
    payload: I64  # offset of the transport payload (TCP/UDP), -1 when there is none
    payload_len: I64  # captured payload bytes (never past the IP datagram's end)
    tunnel: I64  # Tunnel kind of the outermost encapsulation (Tunnel.NONE if none)
    tunnel_id: I64  # its GRE key, ERSPAN session or VXLAN VNI (-1 if none)
    outer_src_hi: U64  # outer endpoints of the tunnel (zero if none)
    outer_src_lo: U64
    outer_dst_hi: U64
    outer_dst_lo: U64
    quoted: Mask  # an ICMP error whose quoted packet was read
    q_src_hi: U64  # the quoted packet's addresses, protocol and ports
    q_src_lo: U64
    q_dst_hi: U64
    q_dst_lo: U64
    q_proto: I64
    q_sport: I64
    q_dport: I64
