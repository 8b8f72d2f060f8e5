"""The parser protocol: one instance per input stream, one call per line.

``parse`` returns the events of a line, ``[]`` for a line of the format that describes nothing
worth an event (a Zeek header, an sshd session-opened line), or ``None`` for a line the parser
does not understand, which the reader counts as unparsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

from sensors.events import Event


@dataclass(frozen=True, kw_only=True)
class LogContext:
    """Where the lines come from; stamped on every event a parser yields."""

    sensor: str = "logs"
    """Observer name recorded on events (``observer.name``)."""
    origin: str = ""
    """File name the lines were read from (``log.origin.file.name``); empty for syslog."""
    year: int = 1970
    """Year for RFC 3164 timestamps, which have none (the file's or the receiver's year)."""


class LineParser(Protocol):
    """What every log format module provides: a name, a constructor and ``parse``."""

    name: ClassVar[str]

    def __init__(self, context: LogContext) -> None: ...

    def parse(self, text: str, line: int | None) -> list[Event] | None:
        """Events of one line (``line`` is its 1-based number, None for network input)."""
        ...


class Clock:
    """The last timestamp seen in a stream, for lines that carry none (journal exports)."""

    def __init__(self) -> None:
        self.last = 0.0

    def stamp(self, time: float | None) -> float:
        """``time`` when known (and remembered), else the last known time."""
        if time is None:
            return self.last
        self.last = time
        return time
