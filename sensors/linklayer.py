"""Link layers: where the network header starts and what it is, for every packet of a batch.

Covers Ethernet with 802.1Q/QinQ tags and MPLS label stacks, Linux cooked captures (SLL,
SLL2), raw IPv4/IPv6 and BSD loopback. The outermost VLAN id is kept as the observation point.
"""

from __future__ import annotations

import numpy as np

from sensors.view import I64, ByteView, Mask

LINK_NULL, LINK_ETHERNET, LINK_RAW, LINK_LOOP = 0, 1, 101, 108
LINK_SLL, LINK_SLL2, LINK_IPV4, LINK_IPV6 = 113, 276, 228, 229
LINK_RAW_OLD = 12  # OpenBSD's DLT_RAW value, seen in old captures
ETH_IPV4, ETH_IPV6, ETH_ARP = 0x0800, 0x86DD, 0x0806
ETH_VLAN, ETH_QINQ, ETH_QINQ_OLD = 0x8100, 0x88A8, 0x9100
ETH_MPLS, ETH_MPLS_MULTI = 0x8847, 0x8848
ETH_PPPOE_SESSION = 0x8864
PPP_IPV4, PPP_IPV6 = 0x0021, 0x0057
MAX_TAGS = 3  # VLAN tags peeled; deeper stacks are left as unknown ethertypes
MAX_LABELS = 6  # MPLS labels peeled before giving up


def link_layer(view: ByteView, off: I64, link: I64) -> tuple[I64, I64, I64]:
    """Network-layer offset, ethertype and outer VLAN id (-1 if none) of every packet."""
    ether = link == LINK_ETHERNET
    l3, etype, vlan = ethernet(view, off, ether)
    sll = link == LINK_SLL
    etype = np.where(sll, view.u16(off + 14, sll & view.fits(off, 16)), etype)
    l3 = np.where(sll, off + 16, l3)
    sll2 = link == LINK_SLL2
    etype = np.where(sll2, view.u16(off, sll2 & view.fits(off, 20)), etype)
    l3 = np.where(sll2, off + 20, l3)
    loop = (link == LINK_NULL) | (link == LINK_LOOP)
    raw = (link == LINK_RAW) | (link == LINK_IPV4) | (link == LINK_IPV6) | (link == LINK_RAW_OLD)
    l3 = np.where(loop, off + 4, l3)
    etype = np.where(raw | loop, by_version(view, l3, raw | loop), etype)
    return l3, etype, vlan


def ethernet(view: ByteView, off: I64, mask: Mask) -> tuple[I64, I64, I64]:
    """Peel Ethernet, VLAN tags and MPLS labels where ``mask`` holds."""
    l3 = np.where(mask, off + 14, off)
    etype = np.where(mask, view.u16(off + 12, mask & view.fits(off, 14)), 0)
    vlan = np.full(off.shape[0], -1, dtype=np.int64)
    for _ in range(MAX_TAGS):
        tagged = mask & np.isin(etype, (ETH_VLAN, ETH_QINQ, ETH_QINQ_OLD)) & view.fits(l3, 4)
        if not tagged.any():
            break
        vlan = np.where(tagged & (vlan < 0), view.u16(l3, tagged) & 0x0FFF, vlan)
        etype = np.where(tagged, view.u16(l3 + 2, tagged), etype)
        l3 = np.where(tagged, l3 + 4, l3)
    l3, etype = _mpls(view, l3, etype, mask)
    l3, etype = _pppoe(view, l3, etype, mask)
    return l3, etype, vlan


def _pppoe(view: ByteView, l3: I64, etype: I64, mask: Mask) -> tuple[I64, I64]:
    """Step over a PPPoE session header (6 bytes) and the PPP protocol field (2 bytes)."""
    session = mask & (etype == ETH_PPPOE_SESSION) & view.fits(l3, 8)
    if not session.any():
        return l3, etype
    protocol = view.u16(l3 + 6, session)
    inner = np.where(protocol == PPP_IPV4, ETH_IPV4, np.where(protocol == PPP_IPV6, ETH_IPV6, 0))
    return np.where(session, l3 + 8, l3), np.where(session, inner, etype)


def _mpls(view: ByteView, l3: I64, etype: I64, mask: Mask) -> tuple[I64, I64]:
    """Pop MPLS labels to the bottom of the stack; the payload's type comes from its version."""
    labelled = mask & ((etype == ETH_MPLS) | (etype == ETH_MPLS_MULTI))
    if not labelled.any():
        return l3, etype
    inside = labelled.copy()
    for _ in range(MAX_LABELS):
        fits = inside & view.fits(l3, 4)
        bottom = fits & (view.u8(l3 + 2, fits) & 1 == 1)
        l3 = np.where(fits, l3 + 4, l3)
        inside = fits & ~bottom
    etype = np.where(labelled, by_version(view, l3, labelled & ~inside), etype)
    return l3, etype


def by_version(view: ByteView, at: I64, mask: Mask) -> I64:
    """Ethertype implied by the IP version nibble at ``at`` (0 when neither 4 nor 6)."""
    nibble = view.u8(at, mask & view.fits(at, 1)) >> 4
    return np.where(mask & (nibble == 4), ETH_IPV4, np.where(mask & (nibble == 6), ETH_IPV6, 0))
