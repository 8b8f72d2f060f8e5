"""The one table of log formats, and how a file's format is recognised.

Adding a format is one module with one parser class plus one line in ``PARSERS``. ``syslog``
is the mixed stream a receiver gets (auth, kernel and web-server lines interleaved): it hands
each line to the first format that understands it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

from sensors.events import Event
from sensors.logs.access import AccessLogParser
from sensors.logs.eve import EveParser
from sensors.logs.netfilter import NetfilterParser
from sensors.logs.parser import LineParser, LogContext
from sensors.logs.sshd import SshdParser
from sensors.logs.weberror import WebErrorParser
from sensors.logs.zeek import ZeekParser

SAMPLE_LINES = 64
"""How many leading lines ``detect_format`` tries every parser on."""


class SyslogParser:
    """A mixed syslog stream: each line goes to the first format that understands it."""

    name: ClassVar[str] = "syslog"
    MEMBERS: ClassVar[tuple[type[LineParser], ...]] = (
        SshdParser,
        NetfilterParser,
        AccessLogParser,
        WebErrorParser,
    )

    def __init__(self, context: LogContext) -> None:
        self.members = [cls(context) for cls in self.MEMBERS]

    def parse(self, text: str, line: int | None) -> list[Event] | None:
        """Events of the first member format that understands the line."""
        for member in self.members:
            events = member.parse(text, line)
            if events is not None:
                return events
        return None


PARSERS: Mapping[str, type[LineParser]] = {
    SshdParser.name: SshdParser,
    AccessLogParser.name: AccessLogParser,
    WebErrorParser.name: WebErrorParser,
    NetfilterParser.name: NetfilterParser,
    EveParser.name: EveParser,
    ZeekParser.name: ZeekParser,
    SyslogParser.name: SyslogParser,
}
"""Every log format, by the name ``--format`` and the settings use."""


def detect_format(lines: Iterable[str], context: LogContext) -> str | None:
    """The format that understands most of the first lines; ``syslog`` only if it does better."""
    sample = [line for line in lines if line.strip()][:SAMPLE_LINES]
    scores = {name: _score(cls(context), sample) for name, cls in PARSERS.items()}
    best = max(scores, key=lambda name: scores[name])  # first in table order on a tie
    return best if scores[best] > 0 else None


def _score(parser: LineParser, sample: list[str]) -> int:
    """How many sample lines a fresh parser understands."""
    understood = 0
    for number, text in enumerate(sample, 1):
        try:
            understood += parser.parse(text, number) is not None
        except (ValueError, KeyError, IndexError, TypeError, RecursionError):
            continue
    return understood
