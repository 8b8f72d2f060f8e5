"""One selected packet's payload with its endpoints: what the application parsers consume."""

from __future__ import annotations

from typing import NamedTuple

FIN, SYN, RST = 0x01, 0x02, 0x04


class Segment(NamedTuple):
    """A TCP segment or UDP datagram chosen for application parsing; ``ts`` is packet time.

    A named tuple rather than a frozen dataclass: one is built per parsed packet inside the
    sensor, and a tuple is built three times faster; it never leaves the sensors package.
    """

    ts: float
    src: str
    sport: int
    dst: str
    dport: int
    data: bytes
    tcp: bool = False
    seq: int = 0  # TCP sequence number, to tell retransmissions and gaps apart
    flags: int = 0  # TCP flags
    key: int = 0  # hash of the directed 4-tuple, the same for every packet of that direction

    @property
    def closing(self) -> bool:
        """Whether this TCP segment ends its direction of the connection (FIN or RST)."""
        return bool(self.flags & (FIN | RST))
