"""Syslog over TCP/TLS: splitting a byte stream into messages (RFC 6587).

Senders use either octet counting (``LEN SP MSG``, RFC 5425/6587 §3.4.1) or a newline after
each message (non-transparent framing, §3.4.2); each frame says which by its first byte. A
frame longer than ``max_message`` is skipped and counted, and the stream resynchronises after it.
"""

from __future__ import annotations

MAX_DIGITS = 9  # "999999999 " is the longest octet count we try to read


class FrameSplitter:
    """Stateful splitter for one connection: feed bytes, get complete messages."""

    def __init__(self, max_message: int = 65_536) -> None:
        self.max_message = max_message
        self.oversized = 0
        self._buffer = b""
        self._skip = 0  # bytes of an oversized counted frame still to discard
        self._discarding = False  # inside an oversized newline-framed message

    def feed(self, data: bytes) -> list[bytes]:
        """The messages completed by ``data`` (without their framing)."""
        self._buffer += data
        messages: list[bytes] = []
        while self._buffer:
            message = self._next()
            if message is None:
                break
            if message:
                messages.append(message)
        return messages

    def _next(self) -> bytes | None:
        """One message, b"" for skipped bytes, or None when more data is needed."""
        if self._skip:
            dropped = self._buffer[: self._skip]
            self._buffer, self._skip = self._buffer[self._skip :], self._skip - len(dropped)
            return b""
        if self._buffer[:1].isdigit() and not self._discarding:
            space = self._buffer.find(b" ", 0, MAX_DIGITS + 1)
            if space < 0 and len(self._buffer) <= MAX_DIGITS:
                return None  # the length prefix is not complete yet
            if space > 0 and self._buffer[:space].isdigit():
                return self._counted(space)
        return self._line()

    def _counted(self, space: int) -> bytes | None:
        """An octet-counted frame whose length prefix ends at ``space``."""
        length = int(self._buffer[:space])
        if length > self.max_message:
            self.oversized += 1
            self._buffer, self._skip = self._buffer[space + 1 :], length
            return b""
        end = space + 1 + length
        if len(self._buffer) < end:
            return None
        message, self._buffer = self._buffer[space + 1 : end], self._buffer[end:]
        return message.rstrip(b"\n")

    def _line(self) -> bytes | None:
        end = self._buffer.find(b"\n")
        if end < 0:
            if len(self._buffer) > self.max_message:
                self.oversized += not self._discarding
                self._buffer, self._discarding = b"", True
                return b""
            return None
        line, self._buffer = self._buffer[:end], self._buffer[end + 1 :]
        if self._discarding or len(line) > self.max_message:
            self.oversized += not self._discarding
            self._discarding = False
            return b""
        return line.rstrip(b"\r")
