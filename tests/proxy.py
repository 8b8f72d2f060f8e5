"""A TCP proxy on loopback that a test can cut, to make a real server unreachable on cue."""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType


class CuttableProxy:
    """Forwards 127.0.0.1:``port`` to a server; ``cut`` drops every connection and refuses new ones.

    ``cut_at_request(n, marker)`` cuts by itself as the ``n``-th request containing ``marker``
    goes through to the server, before its answer comes back: the server may have done the
    work, but the client never hears so. That is the hardest outage for exactly-once delivery.
    """

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._is_cut = False
        self._marker = b""
        self._cut_at = 0
        self._seen = 0
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._spawn(self._accept)

    def __enter__(self) -> CuttableProxy:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def url(self) -> str:
        """The proxy's address as an HTTP URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def is_cut(self) -> bool:
        """Whether the proxy is refusing traffic."""
        return self._is_cut

    def cut(self) -> None:
        """Drop every open connection; new ones are closed as soon as they are accepted."""
        with self._lock:
            self._is_cut = True
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _close(sock)

    def restore(self) -> None:
        """Let traffic through again."""
        with self._lock:
            self._is_cut = False
            self._cut_at = 0

    def cut_at_request(self, n: int, marker: bytes) -> None:
        """Cut when the ``n``-th request whose bytes contain ``marker`` has been forwarded."""
        with self._lock:
            self._marker, self._cut_at, self._seen = marker, n, 0

    def close(self) -> None:
        """Stop listening and forwarding."""
        self._closed = True
        self.cut()
        _close(self._listener)
        for thread in self._threads:
            thread.join(timeout=10)

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refused = self._is_cut
            if refused:
                _close(client)
                continue
            try:
                server = socket.create_connection(self.target, timeout=10)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._sockets |= {client, server}
            self._spawn(self._pump, client, server, True)
            self._spawn(self._pump, server, client, False)

    def _pump(self, source: socket.socket, sink: socket.socket, upstream: bool) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
                if upstream and self._counts(data):
                    self.cut()
                    return
        except OSError:
            pass
        finally:
            _close(source)
            _close(sink)

    def _counts(self, data: bytes) -> bool:
        """Count marked requests; True when the cut-at request has just gone through."""
        with self._lock:
            if not self._cut_at or self._marker not in data:
                return False
            self._seen += data.count(self._marker)
            return self._seen >= self._cut_at


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the other side
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
