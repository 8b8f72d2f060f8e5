"""HTTP/1.x: request and response heads from a connection's segments, paired in order.

A head is read from the segment that starts it; headers that spill into a later segment are
not seen (Host and User-Agent come early, so this rarely matters). Responses pair with the
oldest open request of their connection (HTTP/1.1 pipelining keeps order). A response's size
is its head plus Content-Length; without one (chunked or close-delimited) the server's bytes
are counted until its next response, its FIN/RST, or the idle timeout.
"""

from __future__ import annotations

import re
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from sensors.events import HttpRequest
from sensors.segment import Segment

METHODS = frozenset(
    {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"}
)
PREFIXES = (
    b"GET ",
    b"POST",
    b"HEAD",
    b"PUT ",
    b"DELE",
    b"OPTI",
    b"PATC",
    b"CONN",
    b"TRAC",
    b"HTTP",
)
"""First four payload bytes of a request or response: the vectorised pre-filter."""
MAX_PIPELINE = 64  # open requests per connection; beyond it the oldest is emitted unanswered
MAX_FORM = 4096  # bytes of a URL-encoded form body kept for the web rules
FORM_TYPE = b"application/x-www-form-urlencoded"
REQUEST_LINE = re.compile(rb"([A-Z]+) (\S+) HTTP/1\.([01])\r?$")
STATUS_LINE = re.compile(rb"HTTP/1\.([01]) ([1-5]\d\d)(?: .*)?\r?$")
NO_BODY = (204, 304)


@dataclass(frozen=True, slots=True)
class HttpHead:
    """A request or response head; ``head_bytes`` is None when the head was cut off."""

    method: str = ""  # empty for a response
    uri: str = ""
    status: int | None = None
    host: str = ""
    user_agent: str = ""
    content_length: int | None = None
    head_bytes: int | None = None
    seen: int = 0  # bytes of the segment that carried the head
    form: str = ""  # a URL-encoded body's start, when the head's segment carries it


def _text(raw: bytes) -> str:
    """Header or URI bytes as text; invalid UTF-8 is shown as ``\\xNN`` escapes, never lost."""
    return raw.decode("utf-8", "backslashreplace")


def _headers(lines: list[bytes]) -> dict[str, bytes]:
    """Header fields by lower-case name (the first occurrence wins)."""
    out: dict[str, bytes] = {}
    for line in lines:
        name, sep, value = line.partition(b":")
        key = name.strip().lower().decode("latin-1")
        if sep and key not in out:
            out[key] = value.strip()
    return out


def _content_length(value: bytes | None) -> int | None:
    """A valid Content-Length, or None (absent, negative or garbage)."""
    if value is None or not value.isdigit() or len(value) > 15:
        return None
    return int(value)


def parse_head(data: bytes) -> HttpHead | None:
    """Parse a request or status line and its headers; None when it is not HTTP/1.x."""
    end = data.find(b"\r\n\r\n")
    head_bytes = end + 4 if end >= 0 else None
    block = data[:end] if end >= 0 else data[: data.rfind(b"\n") + 1]  # drop a cut-off line
    lines = block.split(b"\n") if block else [data]
    first, fields = lines[0], _headers([ln.rstrip(b"\r") for ln in lines[1:]])
    length = _content_length(fields.get("content-length"))
    if request := REQUEST_LINE.match(first):
        method = request.group(1).decode()
        if method not in METHODS:
            return None
        return HttpHead(
            method=method,
            uri=_text(request.group(2)),
            host=_text(fields.get("host", b"")),
            user_agent=_text(fields.get("user-agent", b"")),
            content_length=length,
            head_bytes=head_bytes,
            seen=len(data),
            form=_form(data, fields, head_bytes, length),
        )
    if status := STATUS_LINE.match(first):
        code = int(status.group(2))
        return HttpHead(status=code, content_length=length, head_bytes=head_bytes, seen=len(data))
    return None


def _form(data: bytes, fields: dict[str, bytes], head_bytes: int | None, length: int | None) -> str:
    """The start of a URL-encoded body in the head's segment (web rules read it as ARGS)."""
    if (
        head_bytes is None
        or not length
        or not fields.get("content-type", b"").startswith(FORM_TYPE)
    ):
        return ""
    return _text(data[head_bytes : head_bytes + min(length, MAX_FORM)])


def message_size(head: HttpHead) -> int | None:
    """Head plus declared body, or None when the body length is not declared."""
    if head.head_bytes is None or head.content_length is None:
        return None
    return head.head_bytes + head.content_length


@dataclass
class HttpStats:
    """Counters of the HTTP tracker."""

    requests: int = 0
    responses: int = 0
    malformed: int = 0
    retransmits: int = 0
    orphans: int = 0  # responses with no open request on their connection
    unanswered: int = 0
    evicted: int = 0


@dataclass
class _Request:
    seg: Segment
    head: HttpHead


@dataclass
class _Conn:
    """One TCP connection's open requests and the response whose bytes are being counted."""

    pending: deque[_Request] = field(default_factory=deque)
    counting: tuple[_Request, HttpHead, int] | None = None  # request, response, bytes so far
    last_seq: dict[bool, int] = field(default_factory=dict)  # by direction: is it a request
    last_ts: float = 0.0
    follow_key: int | None = None


ConnKey = tuple[str, int, str, int]


class HttpTracker:
    """Pairs HTTP/1.x requests with responses per connection, with bounded state."""

    def __init__(self, sensor: str, timeout: float, cap: int) -> None:
        self.sensor, self.timeout, self.cap = sensor, timeout, cap
        self.stats = HttpStats()
        self._conns: OrderedDict[ConnKey, _Conn] = OrderedDict()
        self.following: dict[int, ConnKey] = {}  # server→client keys whose bytes are counted

    def add(self, seg: Segment) -> list[HttpRequest]:
        """Take a TCP segment whose payload starts like an HTTP request or response."""
        head = parse_head(seg.data)
        if head is None:
            self.stats.malformed += 1
            return []
        if head.method:
            return self._request(seg, head)
        return self._response(seg, head)

    def _conn(self, key: ConnKey, seg: Segment, request: bool) -> _Conn | None:
        """The connection's state, or None when ``seg`` repeats the last head's sequence."""
        conn = self._conns.get(key)
        if conn is None:
            conn = self._conns[key] = _Conn()
        if conn.last_seq.get(request) == seg.seq:
            self.stats.retransmits += 1
            return None
        conn.last_seq[request] = seg.seq
        conn.last_ts = seg.ts
        self._conns.move_to_end(key)
        return conn

    def _request(self, seg: Segment, head: HttpHead) -> list[HttpRequest]:
        conn = self._conn((seg.src, seg.sport, seg.dst, seg.dport), seg, True)
        if conn is None:
            return []
        self.stats.requests += 1
        conn.pending.append(_Request(seg, head))
        out = []
        if len(conn.pending) > MAX_PIPELINE:
            self.stats.evicted += 1
            out.append(self._unanswered(conn.pending.popleft()))
        if len(self._conns) > self.cap:
            self.stats.evicted += 1
            out.extend(self._close(*self._conns.popitem(last=False)))
        return out

    def _response(self, seg: Segment, head: HttpHead) -> list[HttpRequest]:
        key = (seg.dst, seg.dport, seg.src, seg.sport)
        if key not in self._conns:
            self.stats.orphans += 1
            return []
        conn = self._conn(key, seg, False)
        if conn is None:
            return []
        self.stats.responses += 1
        out = self._finish(key, conn)
        if head.status is not None and head.status < 200:
            return out  # 100 Continue and friends: the final response is still to come
        if not conn.pending:
            self.stats.orphans += 1
            return out
        request = conn.pending.popleft()
        size = message_size(head)
        if request.head.method == "HEAD" or head.status in NO_BODY:
            size = head.head_bytes or head.seen
        if size is not None:
            return [*out, self._event(request, head, size)]
        conn.counting, conn.follow_key = (request, head, head.seen), seg.key
        self.following[seg.key] = key
        return out

    def follow(self, seg: Segment) -> list[HttpRequest]:
        """Count a later server segment of a response without a declared length."""
        key = self.following.get(seg.key)
        conn = self._conns.get(key) if key else None
        if conn is None or conn.counting is None or key is None:
            return []
        request, head, seen = conn.counting
        conn.counting = (request, head, seen + len(seg.data))
        conn.last_ts = seg.ts
        return self._finish(key, conn) if seg.closing else []

    def _finish(self, key: ConnKey, conn: _Conn) -> list[HttpRequest]:
        """Emit the response being counted, if any."""
        if conn.counting is None:
            return []
        request, head, seen = conn.counting
        conn.counting = None
        if conn.follow_key is not None and self.following.get(conn.follow_key) == key:
            del self.following[conn.follow_key]
        conn.follow_key = None
        return [self._event(request, head, seen)]

    def _close(self, key: ConnKey, conn: _Conn) -> list[HttpRequest]:
        """Emit everything a connection still holds."""
        out = self._finish(key, conn)
        out.extend(self._unanswered(r) for r in conn.pending)
        conn.pending.clear()
        return out

    def expire(self, now: float) -> list[HttpRequest]:
        """Close connections idle for longer than the timeout (packet time)."""
        out: list[HttpRequest] = []
        while self._conns:
            key, conn = next(iter(self._conns.items()))
            if now - conn.last_ts <= self.timeout:
                break
            del self._conns[key]
            out.extend(self._close(key, conn))
        return out

    def flush(self) -> list[HttpRequest]:
        """Close every connection (end of input)."""
        out = [e for key, conn in self._conns.items() for e in self._close(key, conn)]
        self._conns.clear()
        return out

    def __len__(self) -> int:
        return len(self._conns)

    def _unanswered(self, request: _Request) -> HttpRequest:
        self.stats.unanswered += 1
        return self._event(request, None, 0)

    def _event(self, request: _Request, response: HttpHead | None, size: int) -> HttpRequest:
        seg, head = request.seg, request.head
        return HttpRequest(
            time=seg.ts,
            sensor=self.sensor,
            src_ip=seg.src,
            src_port=seg.sport,
            dst_ip=seg.dst,
            dst_port=seg.dport,
            method=head.method,
            host=head.host,
            uri=head.uri,
            user_agent=head.user_agent,
            form=head.form,
            status=response.status if response else None,
            request_bytes=message_size(head) or head.seen,
            response_bytes=size,
        )
