"""Ended flows as numpy columns: what the flow table hands out before any record is built.

Building a :class:`Flow` per flow (address strings, enums, a dict each) costs more than the
whole rest of the offline sensor path, and a summary, a count or a columnar sink needs none
of it. A :class:`FlowBatch` holds the ended rows in their emission order; ``records()`` builds
exactly the records the flow table used to return, only when someone asks for them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sensors.beats import beat_offsets
from sensors.events import Flow
from sensors.flowkeys import KEY_COLUMNS
from sensors.flowrecords import COUNTERS, TIMES, flow_records
from sensors.flowrows import Rows

PACKETS_A, BYTES_A = COUNTERS.index("pkts"), COUNTERS.index("bytes")
"""Columns of side a's packet and byte sums in ``counts`` (side b's follow all of a's)."""
PACKETS_B, BYTES_B = PACKETS_A + len(COUNTERS), BYTES_A + len(COUNTERS)


@dataclass(frozen=True, kw_only=True, eq=False)
class FlowBatch:
    """Flows that ended together, as read-only columns in emission order (start time, then
    key hash); the columns are those of ``sensors.flowrows.Rows``."""

    sensor: str
    keys: npt.NDArray[np.uint64]
    """(n, len(KEY_COLUMNS)) canonical keys: endpoint a, endpoint b, protocol, VLAN, tunnel."""
    counts: npt.NDArray[np.int64]
    """(n, 2 * len(COUNTERS)) per-side sums: side a's, then side b's."""
    bits: npt.NDArray[np.int64]
    """Per-side flag bits (``sensors.flowrecords.FLAG_BITS``)."""
    times: npt.NDArray[np.float64]
    """(n, len(TIMES)) first, last and per-side first / first-SYN times."""
    outer: npt.NDArray[np.uint64]
    """(n, 4) tunnel endpoints, zero when not tunnelled."""
    pay: npt.NDArray[np.float64]
    """(n, 2) first and last payload time."""
    beats: npt.NDArray[np.object_]
    """Later beat times per flow (``sensors.beats``), None below a second beat."""

    def __post_init__(self) -> None:
        if self.keys.shape[1:] != (len(KEY_COLUMNS),) or self.times.shape[1:] != (len(TIMES),):
            raise ValueError("flow batch columns have the wrong width")
        for column in (self.keys, self.counts, self.bits, self.times, self.outer, self.pay):
            column.flags.writeable = False  # handed to any number of readers
        self.beats.flags.writeable = False  # (the table keeps no reference to its arrays)

    @staticmethod
    def of_rows(sensor: str, rows: Rows) -> FlowBatch:
        """A batch over ``rows`` (already in emission order; the batch takes them over)."""
        return FlowBatch(
            sensor=sensor,
            keys=rows.keys,
            counts=rows.counts,
            bits=rows.bits,
            times=rows.times,
            outer=rows.outer,
            pay=rows.pay,
            beats=rows.beats,
        )

    def __len__(self) -> int:
        return int(self.keys.shape[0])

    @property
    def packets(self) -> int:
        """Packets of every flow of the batch, both directions."""
        return int(self.counts[:, PACKETS_A].sum() + self.counts[:, PACKETS_B].sum())

    @property
    def bytes(self) -> int:
        """Wire bytes of every flow of the batch, both directions."""
        return int(self.counts[:, BYTES_A].sum() + self.counts[:, BYTES_B].sum())

    def beat_offsets(self) -> list[tuple[float, ...] | None]:
        """Each flow's beat times as seconds from its start, None below two beats."""
        return beat_offsets(self.times[:, 0], self.pay, self.beats)

    def records(self) -> list[Flow]:
        """The flow records, in batch order (what ``FlowTable.add`` returns)."""
        if not len(self):
            return []
        return flow_records(
            self.keys,
            self.counts,
            self.bits,
            self.times,
            self.outer,
            self.sensor,
            self.beat_offsets(),
        )
