"""Syslog message headers: RFC 3164 (BSD), RFC 5424, and the ISO-timestamp variant of rsyslog.

``parse_syslog`` splits a line into a :class:`SyslogMessage`; the format parsers then read the
message body. A line without any recognisable header still yields a message (with no time),
because journald exports and some appliances write only ``host app[pid]: text``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sensors.logs.timestamps import bsd_time, iso_time

# The common case in one expression: BSD time, optional host, tag[pid]: message.
_BSD = re.compile(
    r"(?:<(\d{1,3})>)?([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d:\d\d:\d\d)(?:\.\d+)?"
    r"(?: \d{4})? (?:(\S+) )??([^\s\[\]:]+)(?:\[(\w*)\])?: ?(.*)",
    re.S,
)
_ISO = re.compile(r"(?:<(\d{1,3})>)?(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d\S*) (.*)", re.S)
_RFC5424 = re.compile(r"(?:<(\d{1,3})>)?1 (\S+) (\S+) (\S+) (\S+) (\S+) (.*)", re.S)
_BSD_TIME = re.compile(
    r"(?:<(\d{1,3})>)?([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d:\d\d:\d\d)(?:\.\d+)? (.*)", re.S
)
# "app[pid]:" or, as some daemons write it, "[app]" with an optional colon.
_TAG = re.compile(r"(?:(\S+) )??(?:\[([^\s\[\]:]+)\]:?|([^\s\[\]:]+)(?:\[(\w*)\])?:) ?(.*)", re.S)


@dataclass(frozen=True, kw_only=True, slots=True)
class SyslogMessage:
    """One syslog record split into its header fields and the free-text message."""

    time: float | None
    host: str
    app: str
    pid: str
    message: str
    facility: int | None = None
    severity: int | None = None


def parse_syslog(line: str, year: int) -> SyslogMessage:
    """Split a syslog line (RFC 3164 times are read in ``year``, UTC); never fails."""
    bsd = _BSD.match(line)
    if bsd is not None:
        pri, month, day, clock, host, app, pid, message = bsd.groups()
        return _message(pri, bsd_time(month, day, clock, year), host, app, pid, message)
    modern = _RFC5424.match(line)
    if modern is not None and iso_time(modern[2]) is not None:
        return _rfc5424(modern)
    iso = _ISO.match(line)
    if iso is not None:
        return _tagged(iso[1], iso_time(iso[2]), iso[3])
    bsd = _BSD_TIME.match(line)
    if bsd is not None:
        pri, month, day, clock, rest = bsd.groups()
        return _tagged(pri, bsd_time(month, day, clock, year), rest)
    return _tagged(None, None, line)


def _rfc5424(match: re.Match[str]) -> SyslogMessage:
    """RFC 5424: ``<PRI>1 TIME HOST APP PROCID MSGID [SD...] MSG``."""
    pri, stamp, host, app, pid, _msgid, rest = match.groups()
    message = _skip_structured_data(rest)
    return _message(pri, iso_time(stamp), _nil(host), _nil(app), _nil(pid), message)


def _skip_structured_data(text: str) -> str:
    """The message after RFC 5424 structured data (``-`` or ``[id k="v"]...``)."""
    if text.startswith("- ") or text == "-":
        return text[2:]
    depth, quoted, escaped = 0, False, False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char == "[":
            depth += 1
        elif not quoted and char == "]":
            depth -= 1
        elif depth == 0:
            return text[index:].lstrip(" ")
    return ""


def _tagged(pri: str | None, time: float | None, rest: str) -> SyslogMessage:
    """A message whose header after the time is ``[host] app[pid]: text`` (or just text)."""
    tag = _TAG.match(rest)
    if tag is None:
        return _message(pri, time, None, "", "", rest)
    host, bracketed, app, pid, message = tag.groups()
    return _message(pri, time, host, bracketed or app, pid, message)


def _message(
    pri: str | None,
    time: float | None,
    host: str | None,
    app: str | None,
    pid: str | None,
    message: str,
) -> SyslogMessage:
    priority = int(pri) if pri else None
    return SyslogMessage(
        time=time,
        host=host or "",
        app=app or "",
        pid=pid or "",
        message=message,
        facility=priority >> 3 if priority is not None else None,
        severity=priority & 7 if priority is not None else None,
    )


def _nil(value: str) -> str:
    """RFC 5424 writes ``-`` for an absent header field."""
    return "" if value == "-" else value
