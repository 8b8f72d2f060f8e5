"""Live capture from a mirror interface: an AF_PACKET TPACKET_V3 ring read in batches.

The kernel fills whole blocks of packets; each ready block is copied out at once, the chain
of its packets' offsets is followed by a compiled kernel (``sensors/_recordwalk.pyx``) and
their headers are gathered with numpy: no Python step per packet. VLAN tags the kernel moved
into metadata are read back from the ring, and packets this host sent itself are skipped (a
mirror port only receives). Kernel drops are read from ``PACKET_STATISTICS`` and reported.
"""

from __future__ import annotations

import mmap
import select
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sensors._recordwalk import ring_chain
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


MIN_BLOCK_SIZE, MAX_BLOCK_SIZE = 1 << 16, 1 << 28  # a block holds a max-size frame; 256 MiB
MAX_RING_BYTES = 1 << 32  # 4 GiB of ring: far beyond any burst a sensor host should absorb
MAX_BATCH_PACKETS = 1 << 17  # ready blocks are joined into batches of up to this many packets


@dataclass(frozen=True, kw_only=True)
class RingConfig:
    """Size and behaviour of the capture ring."""

    # 256 MiB of ring absorbs bursts while a batch is processed. Blocks of 1 MiB rather than
    # fewer larger ones: a block handed over part-filled by the timeout wastes its rest, so
    # where blocks leave by timeout 64 blocks of 4 MiB held a quarter of what 256 blocks of
    # 1 MiB hold (at 20k packets/s: 64k against 256k packets, 3 s against 13 s of traffic).
    block_size: int = 1 << 20
    block_count: int = 256
    block_timeout_ms: int = 50  # the kernel hands over a part-filled block after this
    snaplen: int = 65535
    fanout_group: int | None = None  # several processes share one link by flow hash
    batch_packets: int = 65536  # ready blocks joined per batch: fewer, larger numpy passes

    def __post_init__(self) -> None:
        size = self.block_size
        if not MIN_BLOCK_SIZE <= size <= MAX_BLOCK_SIZE or size & (size - 1):
            raise ValueError("block_size: must be a power of two from 65536 to 268435456")
        if not 2 <= self.block_count <= 4096:
            raise ValueError("block_count: must be between 2 and 4096")
        if size * self.block_count > MAX_RING_BYTES:
            raise ValueError("block_count: block_size * block_count must be at most 4 GiB")
        if not 1 <= self.block_timeout_ms <= 10_000:
            raise ValueError("block_timeout_ms: must be between 1 and 10000")
        if not 64 <= self.snaplen <= 65535:
            raise ValueError("snaplen: must be between 64 and 65535")
        if self.fanout_group is not None and not 0 <= self.fanout_group <= 0xFFFF:
            raise ValueError("fanout_group: must be between 0 and 65535")
        if not 1 <= self.batch_packets <= MAX_BATCH_PACKETS:
            raise ValueError(f"batch_packets: must be between 1 and {MAX_BATCH_PACKETS}")


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
        """Yield batches of every ready block; None when ``timeout_ms`` passes with nothing."""
        while True:
            batch = self.read_ready()
            if batch is None:
                self.poller.poll(timeout_ms)
                batch = self.read_ready()
            yield batch

    def read_ready(self) -> PacketBatch | None:
        """Take the blocks the kernel has filled, up to ``batch_packets``; None if none is.

        One batch over several blocks costs the decoder and flow table one numpy pass instead
        of one per block, which is what keeps up when blocks arrive faster than 20 a second.
        """
        parts: list[tuple[np.ndarray, npt.NDArray[np.int64]]] = []
        packets = 0
        while packets < self.config.batch_packets and len(parts) < self.config.block_count:
            block = self.read_block()
            if block is None:
                break
            parts.append(block)
            packets += len(block[1])
        if not parts:
            return None
        if len(parts) == 1:
            return self._batch(*parts[0])
        data = np.concatenate([data for data, _ in parts])
        shift = np.cumsum([0] + [len(data) for data, _ in parts[:-1]])
        starts = np.concatenate(
            [block + base for (_, block), base in zip(parts, shift, strict=True)]
        )
        return self._batch(data, starts)

    def read_block(self) -> tuple[np.ndarray, npt.NDArray[np.int64]] | None:
        """Copy out the next block if the kernel has filled it: its used bytes and packet starts."""
        base = self._next * self.config.block_size
        status = struct.unpack_from("I", self.ring, base + 8)[0]
        if not status & TP_STATUS_USER:
            return None
        # tpacket_hdr_v1 after version and offset_to_priv: num_pkts, offset_to_first_pkt, blk_len
        count, first, used = struct.unpack_from("III", self.ring, base + 12)
        # Only the filled part: a block handed over by timeout may be mostly empty.
        data = np.frombuffer(self.ring, np.uint8, min(used, self.config.block_size), base).copy()
        struct.pack_into("I", self.ring, base + 8, TP_STATUS_KERNEL)
        self._next = (self._next + 1) % self.config.block_count
        return data, ring_chain(data, count, first)

    def _batch(self, data: np.ndarray, starts: npt.NDArray[np.int64]) -> PacketBatch:
        """Gather the packet headers of one or more blocks copied into ``data``."""
        count = len(starts)
        words = data[starts[:, None] + np.arange(40)].view("<u4").reshape(count, 10)
        mac = data[starts + 24].astype(np.int64) | (data[starts + 25].astype(np.int64) << 8)
        outgoing = data[starts + HEADER_SIZE + 10] == PACKET_OUTGOING
        keep = ~outgoing
        self.stats.received += int(keep.sum())
        self.stats.own_packets += int(outgoing.sum())
        status = words[:, 5]
        # As int64 first: numpy 2 keeps uint32 here, and -1 ("no tag") would become 4294967295.
        tci = (words[:, 8] & 0x0FFF).astype(np.int64)
        vlan = np.where(status & TP_STATUS_VLAN_VALID, tci, -1)
        return PacketBatch(
            data=data,
            offset=(starts + mac)[keep],
            caplen=words[keep, 3].astype(np.int64),
            wirelen=words[keep, 4].astype(np.int64),
            linktype=np.full(int(keep.sum()), LINKTYPE_ETHERNET, dtype=np.int64),
            ts=(words[keep, 1] + words[keep, 2] * 1e-9).astype(np.float64),
            vlan=vlan[keep],
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
