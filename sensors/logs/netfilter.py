"""iptables/nftables ``LOG`` target lines (kernel log, psad style) → ``FirewallEvent``.

The kernel writes ``<prefix> IN=eth0 OUT= MAC=... SRC=a DST=b ... PROTO=TCP SPT=1 DPT=2 SYN``;
the prefix is whatever the rule's ``--log-prefix`` says, so the action is read from it
(``DROP``, ``REJECT``, ``ACCEPT`` ...) and the prefix itself is kept as the rule name.
"""

from __future__ import annotations

import re
from typing import ClassVar

from sensors.events import Event, FirewallAction, FirewallEvent, Transport
from sensors.logs.addresses import canonical_ip
from sensors.logs.parser import Clock, LogContext
from sensors.logs.syslog import parse_syslog

TRANSPORTS = {
    "TCP": Transport.TCP,
    "UDP": Transport.UDP,
    "UDPLITE": Transport.UDP,
    "ICMP": Transport.ICMP,
    "ICMPV6": Transport.ICMPV6,
    "58": Transport.ICMPV6,
    "1": Transport.ICMP,
    "6": Transport.TCP,
    "17": Transport.UDP,
}
# Checked in order: a prefix such as "REJECT-DROP" is a reject.
ACTIONS = (
    ("REJECT", FirewallAction.DENY),
    ("DENY", FirewallAction.DENY),
    ("BLOCK", FirewallAction.DENY),
    ("DROP", FirewallAction.DROP),
    ("ACCEPT", FirewallAction.ALLOW),
    ("ALLOW", FirewallAction.ALLOW),
    ("PASS", FirewallAction.ALLOW),
)
_UPTIME = re.compile(r"^\[\s*\d+\.\d+\] ")


class NetfilterParser:
    """Kernel netfilter LOG lines → ``FirewallEvent``."""

    name: ClassVar[str] = "netfilter"

    def __init__(self, context: LogContext) -> None:
        self.context = context
        self.clock = Clock()

    def parse(self, text: str, line: int | None) -> list[Event] | None:
        """The logged packet of one kernel LOG line; None for any other line."""
        start = text.find("IN=")
        if start < 0 or " SRC=" not in text:
            return None
        msg = parse_syslog(text[:start], self.context.year)
        fields = _fields(text[start:])
        src, dst = canonical_ip(fields.get("SRC", "")), canonical_ip(fields.get("DST", ""))
        if src is None or dst is None:
            return None
        prefix = _UPTIME.sub("", msg.message).strip()
        return [
            FirewallEvent(
                time=self.clock.stamp(msg.time),
                sensor=self.context.sensor,
                action=_action(prefix),
                src_ip=src,
                src_port=_int(fields.get("SPT")),
                dst_ip=dst,
                dst_port=_int(fields.get("DPT")),
                transport=TRANSPORTS.get(fields.get("PROTO", "").upper(), Transport.OTHER),
                interface_in=fields.get("IN", ""),
                rule=prefix.rstrip(":").strip(),
                origin=self.context.origin,
                line=line,
                original=text,
            )
        ]


def _fields(text: str) -> dict[str, str]:
    """``KEY=value`` tokens of a LOG line (flag words such as ``SYN`` are skipped)."""
    pairs = (token.partition("=") for token in text.split())
    return {key: value for key, eq, value in pairs if eq}


def _action(prefix: str) -> FirewallAction:
    upper = prefix.upper()
    for word, action in ACTIONS:
        if word in upper:
            return action
    return FirewallAction.UNKNOWN


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None
