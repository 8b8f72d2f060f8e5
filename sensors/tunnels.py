"""Mirror transport: find the inner packet of GRE, ERSPAN II/III and VXLAN encapsulations.

Cloud traffic mirroring delivers copies wrapped in these tunnels. The decoder analyses the
inner packet and keeps the tunnel kind, its id (GRE key, ERSPAN session, VXLAN VNI) and the
outer endpoints as the observation point.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from sensors.view import I64, ByteView, Mask

PROTO_GRE, PROTO_UDP = 47, 17
VXLAN_PORT = 4789
GRE_ETHERNET, GRE_ERSPAN2, GRE_ERSPAN3 = 0x6558, 0x88BE, 0x22EB
GRE_IPV4, GRE_IPV6 = 0x0800, 0x86DD


class Tunnel(IntEnum):
    """Encapsulation a packet arrived in."""

    NONE = 0
    GRE = 1
    ERSPAN2 = 2
    ERSPAN3 = 3
    VXLAN = 4


@dataclass(frozen=True)
class Inner:
    """Where each encapsulated packet's inner packet starts, and what it starts with."""

    found: Mask
    offset: I64
    ethernet: Mask  # the inner packet starts with an Ethernet header (else with IP)
    kind: I64
    ident: I64


def find_inner(view: ByteView, l4: I64, proto: I64, dport: I64, ok: Mask) -> Inner:
    """Locate inner packets of GRE/ERSPAN (IP protocol 47) and VXLAN (UDP port 4789)."""
    gre = ok & (proto == PROTO_GRE) & view.fits(l4, 4)
    candidates = ok & (proto == PROTO_UDP) & (dport == VXLAN_PORT)
    if not (gre.any() or candidates.any()):  # the common case: nothing is tunnelled
        none = np.zeros(l4.shape[0], dtype=bool)
        return Inner(found=none, offset=l4, ethernet=none, kind=np.zeros_like(l4), ident=l4 * 0 - 1)
    flags, ptype = view.u16(l4, gre), view.u16(l4 + 2, gre)
    checksum, keyed, sequenced = flags & 0x8000 > 0, flags & 0x2000 > 0, flags & 0x1000 > 0
    base = l4 + 4 + 4 * checksum + 4 * keyed + 4 * sequenced
    key = np.where(gre & keyed, view.u32(l4 + 4 + 4 * checksum, gre & keyed), -1)
    erspan2 = gre & (ptype == GRE_ERSPAN2) & sequenced  # without a sequence: type I, no header
    erspan1 = gre & (ptype == GRE_ERSPAN2) & ~sequenced
    erspan3 = gre & (ptype == GRE_ERSPAN3) & view.fits(base, 12)
    session = np.where(erspan2 | erspan3, view.u16(base + 2, erspan2 | erspan3) & 0x03FF, -1)
    optional = erspan3 & (view.u8(base + 11, erspan3) & 1 == 1)  # platform sub-header follows
    plain = gre & ((ptype == GRE_ETHERNET) | (ptype == GRE_IPV4) | (ptype == GRE_IPV6) | erspan1)
    offset = np.select(
        [erspan2, erspan3, plain], [base + 8, base + 12 + 8 * optional, base], default=-1
    )
    vxlan = ok & (proto == PROTO_UDP) & (dport == VXLAN_PORT) & view.fits(l4, 16)
    vxlan &= view.u8(l4 + 8, vxlan) & 0x08 > 0  # the I flag: a valid VNI follows
    vni = view.u32(l4 + 12, vxlan) >> 8
    found = ((erspan2 | erspan3 | plain) & view.fits(offset, 1)) | vxlan
    return Inner(
        found=found,
        offset=np.where(vxlan, l4 + 16, offset),
        ethernet=vxlan | erspan2 | erspan3 | erspan1 | (gre & (ptype == GRE_ETHERNET)),
        kind=np.select(
            [vxlan, erspan3, erspan2 | erspan1, gre],
            [Tunnel.VXLAN, Tunnel.ERSPAN3, Tunnel.ERSPAN2, Tunnel.GRE],
            default=Tunnel.NONE,
        ),
        ident=np.select([vxlan, erspan2 | erspan3], [vni, session], default=key),
    )
