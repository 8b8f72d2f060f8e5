"""Apache and nginx error logs → ``AuthEvent`` (HTTP auth failures) or ``WebError``.

Basic/digest/PAM authentication failures become authentication events (service ``http``);
every other entry about a client (file not found, denied by configuration, rate-limited) is a
``WebError``. Entries with no client (server start, config reload) yield no event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from sensors.events import AuthEvent, AuthOutcome, Event, WebError
from sensors.logs.addresses import canonical_ip
from sensors.logs.parser import LogContext
from sensors.logs.timestamps import MONTHS, slash_time

_APACHE = re.compile(
    r"\[(?:\w{3} )?(\w{3}) (\d{1,2}) (\d\d:\d\d:\d\d)(?:\.\d+)? (\d{4})\] "
    r"\[(?:([\w-]+):)?(\w+)\](?: \[pid [^\]]*\])?"
    r"(?: \[(?:client|remote) (\[[^\]]+\](?::\d+)?|[^\]]+)\])? (.*)",
    re.S,
)
# Greedy message: the real client is the *last* ", client: X, server:" (nginx appends it after
# a user name that may itself contain that text).
_NGINX = re.compile(
    r"(\d{4}/\d\d/\d\d) (\d\d:\d\d:\d\d) \[(\w+)\] \d+#\d+: (?:\*\d+ )?(.*?)"
    r"(?:, client: ([^,\s]+)(?:, server: [^,]*)?(?:, request: \"((?:[^\"\\]|\\.)*)\")?"
    r"(?:, .*?host: \"([^\"]*)\")?.*)?$",
    re.S,
)
_NGINX_CLIENT = re.compile(r"(.*), client: ([^,\s]+), server: ", re.S)
_AUTH = (
    re.compile(r'user "(?P<user>.*)":? (?:was not found in|password mismatch)', re.S),
    re.compile(r"PAM: user '(?P<user>[^']*)' - not authenticated"),
    re.compile(
        r"(?:AH\d+: )?(?:Digest: )?user [`'\"]?(?P<user>.*?)[`'\"]?(?: in realm .*?)?:? "
        r"(?:not found|authentication failure|password mismatch)"
    ),
    re.compile(r"(?:AH\d+: )?Authorization of user (?P<user>\S+) to access .* failed"),
    re.compile(r"(?:AH\d+: )?client used wrong authentication scheme"),
)
_REQUEST = re.compile(r"([A-Za-z]+) (\S+)")


@dataclass(frozen=True, kw_only=True)
class _Entry:
    """The parts of an error-log entry both servers share."""

    time: float
    level: str
    module: str
    client: str
    message: str
    request: str = ""
    host: str = ""


class WebErrorParser:
    """Apache 2.2/2.4 and nginx error-log lines, plain or inside a syslog/journal header."""

    name: ClassVar[str] = "weberror"

    def __init__(self, context: LogContext) -> None:
        self.context = context

    def parse(self, text: str, line: int | None) -> list[Event] | None:
        """The event of one error-log line; [] for server-only entries; None if not one."""
        entry = _apache(text) or _nginx(text)
        if entry is None:
            return None
        if not entry.client:
            return []
        return [self._event(entry, text, line)]

    def _event(self, entry: _Entry, text: str, line: int | None) -> Event:
        ip, port = _client(entry.client)
        for pattern in _AUTH:
            found = pattern.match(entry.message)
            if found is not None:
                return AuthEvent(
                    time=entry.time,
                    sensor=self.context.sensor,
                    src_ip=ip,
                    host=entry.host,
                    service="http",
                    user=(found.groupdict().get("user") or "").strip(),
                    outcome=AuthOutcome.FAILURE,
                    method="basic",
                    reason=entry.message[:200],
                    origin=self.context.origin,
                    line=line,
                    original=text,
                )
        method, uri = _request(entry.request)
        return WebError(
            time=entry.time,
            sensor=self.context.sensor,
            src_ip=ip,
            src_port=port,
            level=entry.level,
            module=entry.module,
            reason=entry.message,
            method=method,
            uri=uri,
            host=entry.host,
            origin=self.context.origin,
            line=line,
        )


def _apache(text: str) -> _Entry | None:
    found = _APACHE.match(text) or (_APACHE.search(text) if "] [" in text else None)
    if found is None:
        return None
    month, day, clock, year, module, level, client, message = found.groups()
    hour, minute, second = (int(p) for p in clock.split(":"))
    stamp = slash_time(f"{year}/{MONTHS.get(month, 0)}/{day}", f"{hour}:{minute}:{second}")
    if stamp is None:
        return None
    return _Entry(
        time=stamp, level=level, module=module or "", client=client or "", message=message
    )


def _nginx(text: str) -> _Entry | None:
    found = _NGINX.match(text) or (_NGINX.search(text) if "#" in text else None)
    if found is None:
        return None
    day, clock, level, message, client, request, host = found.groups()
    stamp = slash_time(day, clock)
    if stamp is None:
        return None
    last = _NGINX_CLIENT.match(text, found.start(4))
    if last is not None:  # an injected ", client:" inside the message must not win
        message, client = last[1], last[2]
    return _Entry(
        time=stamp,
        level=level,
        module="nginx",
        client=client or "",
        message=message,
        request=request or "",
        host=host or "",
    )


def _client(text: str) -> tuple[str | None, int | None]:
    """(address, port) of Apache's ``[client 1.2.3.4:5678]`` or nginx's ``client: 1.2.3.4``."""
    whole = canonical_ip(text)
    if whole is not None:
        return whole, None
    address, _, port = text.rpartition(":")
    ip = canonical_ip(address)
    if ip is not None and port.isdigit():
        return ip, int(port)
    return None, None


def _request(request: str) -> tuple[str, str]:
    found = _REQUEST.match(request)
    return (found[1], found[2]) if found else ("", request)
