"""Send a capture's frames out of an interface, as fast as possible (for live-capture tests).

Run inside a test's own network namespace: ``python -m tests.replay_sender PCAP IFACE``.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from sensors.capture import read_batches


def send(pcap: Path, interface: str) -> int:
    """Write every frame of ``pcap`` to ``interface``; return how many were sent."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((interface, 0))
    sent = 0
    for batch in read_batches(pcap):
        data = batch.data.tobytes()
        for start, size in zip(batch.offset.tolist(), batch.caplen.tolist(), strict=True):
            sock.send(data[start : start + size])
            sent += 1
    sock.close()
    return sent


if __name__ == "__main__":
    print(send(Path(sys.argv[1]), sys.argv[2]))
