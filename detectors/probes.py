"""Which flows are scan probes, and of what kind: a table of pure classifiers.

Each classifier looks at one flow and names the probe it is (``Probe``) or returns None. The
``ProbeScan`` detector counts distinct probe items per (source, rule, target) in a window.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from detectors.site import is_unicast
from sensors.events import Flow, TcpOutcome, Transport

STEALTH = {"": "null", "F": "fin", "FPU": "xmas", "A": "ack", "FA": "maimon"}
"""Flag sets nmap's stealth scans send without a SYN (-sN -sF -sX -sA/-sW -sM)."""
REFUSALS = {"", "R", "RA"}
"""What a stealth probe gets back: a reset from a closed port, or nothing."""
ICMP_ODD = {13: "timestamp", 15: "information", 17: "address-mask"}
"""ICMP requests no modern stack sends in normal use; fingerprinters (xprobe, nmap) do."""
ECHO = {8, 128}


@dataclass(frozen=True, kw_only=True)
class Probe:
    """One scan probe: the rule it counts towards, what it targets and which item it tried."""

    rule: str
    kind: str
    target: str
    item: str | int
    weight: int = 1


def stealth(flow: Flow) -> Probe | None:
    """A TCP probe without a SYN (NULL, FIN, XMAS, ACK/window, Maimon), refused or ignored."""
    if flow.transport is not Transport.TCP or flow.outcome is not TcpOutcome.MIDSTREAM:
        return None
    kind = STEALTH.get(flow.flags_out)
    if kind is None or flow.flags_in not in REFUSALS or flow.packets_out > 2:
        return None
    return Probe(rule="scan.stealth", kind=kind, target=flow.dst_ip, item=flow.dst_port)


def udp(flow: Flow) -> Probe | None:
    """A UDP datagram refused by ICMP port unreachable: a closed port found."""
    if flow.transport is not Transport.UDP or flow.outcome is not TcpOutcome.REJECTED:
        return None
    return Probe(rule="scan.udp", kind="udp", target=flow.dst_ip, item=flow.dst_port)


def protocol(flow: Flow) -> Probe | None:
    """A packet of an IP protocol other than TCP, UDP and ICMP (nmap -sO tries them all)."""
    if flow.transport is not Transport.OTHER or flow.iana_number is None:
        return None
    number = flow.iana_number
    return Probe(rule="scan.protocol", kind="ip-protocol", target=flow.dst_ip, item=number)


def sweep(flow: Flow) -> Probe | None:
    """An echo request, or an unanswered ARP request: one host tried of a sweep."""
    if flow.transport in (Transport.ICMP, Transport.ICMPV6):
        if flow.src_port not in ECHO or flow.dst_port != 0 or not is_unicast(flow.dst_ip):
            return None
        return Probe(rule="scan.sweep", kind="icmp-echo", target="icmp", item=flow.dst_ip)
    if flow.transport is Transport.ARP and _arp_probe(flow):
        return Probe(rule="scan.sweep", kind="arp", target="arp", item=flow.dst_ip)
    return None


def _arp_probe(flow: Flow) -> bool:
    """An unanswered ARP request asked at most twice: a sweep tries an address and moves on,
    while a host that needs the address (a router, a client) keeps asking."""
    return not flow.answered and flow.src_ip != flow.dst_ip and flow.packets_out <= 2


def fingerprint(flow: Flow) -> Probe | None:
    """An OS-fingerprint probe: impossible TCP flags, odd ICMP requests or echo codes."""
    target = flow.dst_ip
    if flow.transport is Transport.TCP and _syn_fin(flow.flags_out):
        return Probe(rule="scan.fingerprint", kind="os", target=target, item="syn-fin", weight=2)
    if flow.transport is not Transport.ICMP:
        return None
    if flow.src_port in ECHO and flow.dst_port != 0:  # RFC 792: echo code is always 0
        return Probe(rule="scan.fingerprint", kind="os", target=target, item="echo-code", weight=2)
    odd = ICMP_ODD.get(flow.src_port)
    return Probe(rule="scan.fingerprint", kind="os", target=target, item=odd) if odd else None


def _syn_fin(flags: str) -> bool:
    """SYN and FIN from a sender that never ACKed: no connection ever looks like that."""
    return "S" in flags and "F" in flags and "A" not in flags


CLASSIFIERS: tuple[Callable[[Flow], Probe | None], ...] = (
    stealth,
    udp,
    protocol,
    sweep,
    fingerprint,
)
"""Every classifier; a flow may be a probe of several kinds."""


def probes(flow: Flow) -> list[Probe]:
    """The probes a flow is."""
    if _ordinary(flow):
        return []
    return [p for classify in CLASSIFIERS if (p := classify(flow)) is not None]


def candidates(flows: Sequence[Flow]) -> list[Flow]:
    """The flows of a batch that are not :func:`_ordinary`, in order.

    The same test as ``_ordinary``, written out in one comprehension: a batch is mostly
    ordinary TCP and UDP, and a function call per flow cost more than the test itself.
    """
    tcp, udp, midstream, rejected = (
        Transport.TCP,
        Transport.UDP,
        TcpOutcome.MIDSTREAM,
        TcpOutcome.REJECTED,
    )
    return [
        f
        for f in flows
        if not (
            (
                f.transport is tcp
                and f.outcome is not midstream
                and not ("S" in f.flags_out and "F" in f.flags_out and "A" not in f.flags_out)
            )
            or (f.transport is udp and f.outcome is not rejected)
        )
    ]


def _ordinary(flow: Flow) -> bool:
    """A TCP or UDP flow no classifier can name (most traffic), told apart without calling them.

    Mirrors the classifiers' first checks: TCP probes are MIDSTREAM (stealth) or SYN+FIN
    (fingerprint); UDP probes are REJECTED; everything else goes through the classifiers.
    """
    transport = flow.transport
    if transport is Transport.TCP:
        return flow.outcome is not TcpOutcome.MIDSTREAM and not _syn_fin(flow.flags_out)
    return transport is Transport.UDP and flow.outcome is not TcpOutcome.REJECTED
