"""Live capture from a mirror interface: an AF_PACKET TPACKET_V3 ring read in batches.

The kernel fills whole blocks of packets; each ready block is copied out at once and its
packet headers are gathered with numpy, so Python does per-packet work only to follow the
chain of offsets. VLAN tags the kernel moved into metadata are read back from the ring, and
packets this host sent itself are skipped (a mirror port only receives). Kernel drops are
read from ``PACKET_STATISTICS`` and reported.
"""

from __future__ import annotations

import mmap
import select
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from sensors.bpf import attach_filter, compile_filter
from sensors.capture import PacketBatch

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC = 1, 1
PACKET_RX_RING, PACKET_VERSION, PACKET_STATISTICS, PACKET_FANOUT = 5, 10, 6, 18
TPACKET_V3 = 2
PACKET_FANOUT_HASH = 0
TP_STATUS_KERNEL, TP_STATUS_USER = 0, 1
TP_STATUS_VLAN_VALID = 0x10
PACKET_OUTGOING = 4
HEADER_SIZE = 48  # TPACKET_ALIGN(sizeof(struct tpacket3_hdr))
LINKTYPE_ETHERNET = 1


@dataclass(frozen=True, kw_only=True)
class RingConfig:
    """Size and behaviour of the capture ring."""

    block_size: int = 1 << 22  # 4 MiB blocks: a whole block is copied out at once
    block_count: int = 64  # 256 MiB of ring absorbs bursts while a batch is processed
    block_timeout_ms: int = 50  # the kernel hands over a part-filled block after this
    snaplen: int = 65535
    fanout_group: int | None = None  # several processes share one link by flow hash

    def __post_init__(self) -> None:
        if self.block_size < 4096 or self.block_size & (self.block_size - 1):
            raise ValueError("block_size: must be a power of two of at least 4096")
        if not 2 <= self.block_count <= 4096:
            raise ValueError("block_count: must be between 2 and 4096")


@dataclass
class LiveStats:
    """What the kernel and the reader saw."""

    received: int = 0  # packets handed to us
    kernel_drops: int = 0  # packets the kernel dropped because the ring was full
    own_packets: int = 0  # packets this host sent (skipped)


class RingCapture:
    """Packets from one interface, as :class:`PacketBatch` objects, one per ring block."""

    def __init__(self, interface: str, config: RingConfig, bpf: str = "") -> None:
        self.config = config
        self.stats = LiveStats()
        # Protocol 0: the socket sees nothing until it is bound to the interface below, so no
        # other interface's packets queue up (and count as drops) while the ring is set up.
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        if bpf:
            attach_filter(self.sock, compile_filter(bpf, config.snaplen))
        self.sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
        request = struct.pack(
            "IIIIIII",
            config.block_size,
            config.block_count,
            2048,
            config.block_size // 2048 * config.block_count,
            config.block_timeout_ms,
            0,
            0,
        )
        self.sock.setsockopt(SOL_PACKET, PACKET_RX_RING, request)
        self.sock.bind((interface, ETH_P_ALL))  # Python converts to network order itself
        # A mirror port delivers other hosts' frames: promiscuous mode keeps them all.
        index = socket.if_nametoindex(interface)
        membership = struct.pack("iHH8s", index, PACKET_MR_PROMISC, 0, b"")
        self.sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, membership)
        if config.fanout_group is not None:
            fanout = config.fanout_group | (PACKET_FANOUT_HASH << 16)
            self.sock.setsockopt(SOL_PACKET, PACKET_FANOUT, fanout)
        self.ring = mmap.mmap(self.sock.fileno(), config.block_size * config.block_count)
        self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 12)  # reading resets the counters
        self.poller = select.poll()
        self.poller.register(self.sock.fileno(), select.POLLIN | select.POLLERR)
        self._next = 0

    def batches(self, timeout_ms: int = 200) -> Iterator[PacketBatch | None]:
        """Yield a batch per ready block; None when ``timeout_ms`` passes with nothing."""
        while True:
            batch = self.read_block()
            if batch is None:
                self.poller.poll(timeout_ms)
                batch = self.read_block()
            yield batch

    def read_block(self) -> PacketBatch | None:
        """Take the next block if the kernel has filled it; None otherwise."""
        base = self._next * self.config.block_size
        status = struct.unpack_from("I", self.ring, base + 8)[0]
        if not status & TP_STATUS_USER:
            return None
        count, first = struct.unpack_from("II", self.ring, base + 12)
        data = np.frombuffer(self.ring, np.uint8, self.config.block_size, base).copy()
        struct.pack_into("I", self.ring, base + 8, TP_STATUS_KERNEL)
        self._next = (self._next + 1) % self.config.block_count
        return self._batch(data, count, first)

    def _batch(self, data: np.ndarray, count: int, first: int) -> PacketBatch:
        """Gather the packet headers of one block."""
        starts = np.empty(count, dtype=np.int64)
        at, blob = first, data.tobytes()
        for n in range(count):
            starts[n] = at
            at += struct.unpack_from("I", blob, at)[0]
        words = data[starts[:, None] + np.arange(40)].view("<u4").reshape(count, 10)
        mac = data[starts + 24].astype(np.int64) | (data[starts + 25].astype(np.int64) << 8)
        outgoing = data[starts + HEADER_SIZE + 10] == PACKET_OUTGOING
        keep = ~outgoing
        self.stats.received += int(keep.sum())
        self.stats.own_packets += int(outgoing.sum())
        status = words[:, 5]
        vlan = np.where(status & TP_STATUS_VLAN_VALID, words[:, 8] & 0x0FFF, -1)
        return PacketBatch(
            data=data,
            offset=(starts + mac)[keep],
            caplen=words[keep, 3].astype(np.int64),
            wirelen=words[keep, 4].astype(np.int64),
            linktype=np.full(int(keep.sum()), LINKTYPE_ETHERNET, dtype=np.int64),
            ts=(words[keep, 1] + words[keep, 2] * 1e-9).astype(np.float64),
            vlan=vlan[keep].astype(np.int64),
        )

    def kernel_stats(self) -> LiveStats:
        """Read (and reset) the kernel's packet and drop counters into ``stats``."""
        raw = self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 12)
        _, drops, _ = struct.unpack("III", raw)
        self.stats.kernel_drops += drops
        return self.stats

    def close(self) -> None:
        """Release the ring and the socket."""
        self.ring.close()
        self.sock.close()
