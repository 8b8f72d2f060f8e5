"""nginx and Apache access logs (common, combined, with or without vhost) → ``HttpRequest``.

The request line is kept raw: ``uri`` is exactly what the client sent (undecoded), and a request
line that is not ``METHOD URI [HTTP/x]`` (TLS on a plain port, binary probes) is kept whole in
``uri`` with an empty method, because those are what the web-attack detector looks for.
"""

from __future__ import annotations

import re
from typing import ClassVar

from sensors.events import Event, HttpRequest
from sensors.logs.addresses import canonical_ip
from sensors.logs.parser import LogContext
from sensors.logs.records import filled
from sensors.logs.syslog import parse_syslog
from sensors.logs.timestamps import clf_time

_QUOTED = r'"([^"\\]*(?:\\.[^"\\]*)*)"'  # unrolled: far faster than (?:[^"\\]|\\.)*
# The virtual host is tried last (lazy), so "1.2.3.4 - - [" never reads 1.2.3.4 as a vhost.
_LINE = re.compile(
    r"(?:(\S+) )??(\S+) \S+ (\S+) \[([^\]]+)\] "
    + _QUOTED
    + r" (\d{3}|-) (\d+|-)(?: "
    + _QUOTED
    + r' "([^"\\]*(?:\\.[^"\\]*)*)"?)?'
)
_REQUEST = re.compile(r"([A-Za-z][A-Za-z_-]*) (\S+)(?: (HTTP/[\d.]+))?$")


class AccessLogParser:
    """Common/combined access-log lines (nginx, Apache, optionally vhost-prefixed)."""

    name: ClassVar[str] = "access"

    def __init__(self, context: LogContext) -> None:
        self.context = context

    def parse(self, text: str, line: int | None) -> list[Event] | None:
        """The request of one access-log line (also inside a syslog header); None otherwise."""
        found = _LINE.match(text)
        if found is None and " [" in text:
            found = _LINE.match(parse_syslog(text, self.context.year).message)
        if found is None:
            return None
        event = self._request(found, line)
        return None if event is None else [event]

    def _request(self, found: re.Match[str], line: int | None) -> HttpRequest | None:
        vhost, client, user, stamp, request, status, size, _referer, agent = found.groups()
        time = clf_time(stamp)
        if time is None:
            return None
        method, uri = _split_request(request)
        # Every field is checked here (address canonical, numbers, strings): fill it directly.
        values = {
            "time": time,
            "sensor": self.context.sensor,
            "src_ip": canonical_ip(client) or client,
            "src_port": None,
            "dst_ip": None,
            "dst_port": None,
            "method": method,
            "host": _hostname(vhost),
            "uri": uri,
            "user_agent": agent or "",
            "status": int(status) if status != "-" else None,
            "request_bytes": 0,
            "response_bytes": int(size) if size != "-" else 0,
            "origin": self.context.origin,
            "user": None if user == "-" else user.strip('"'),
            "line": line,
            "log_source": None,
            "form": "",  # an access log line carries no body
        }
        return filled(HttpRequest, values)


def _split_request(request: str) -> tuple[str, str]:
    """(method, raw URI) of a request line; ("", whole line) when it is not one."""
    parts = _REQUEST.match(request)
    if parts is None:
        return "", request
    return parts[1], parts[2]


def _hostname(vhost: str | None) -> str:
    """The virtual host without Apache's ``:port`` suffix (``%v:%p``)."""
    if not vhost or vhost == "-":
        return ""
    name, _, port = vhost.rpartition(":")
    return name if name and port.isdigit() else vhost
