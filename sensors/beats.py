"""Beats inside a flow: bursts of payload after a silence, found per batch in one compiled
pass (``sensors/_flowtable.pyx``).

A remote-access tool that keeps one TCP or TLS connection open beacons inside it, so its flow
record (one start, one end) hides the rhythm that many short connections would show. A beat
starts at a payload-carrying packet, in either direction, that follows at least ``gap``
seconds without payload in the same flow; the flow's first payload packet starts the first
beat. Pure acknowledgements and keep-alive probes (no payload, or a single garbage byte) never
start one.

The flow table keeps, per open flow, the times of its first and last payload packet (two
columns) and, only for flows that have had a second beat, a packed array of the later beat
times (8 bytes each) capped at ``max_beats``: short request/response flows, scans and floods
cost nothing beyond the two columns.
"""

from __future__ import annotations

from array import array

import numpy as np
import numpy.typing as npt

from sensors import _flowtable

F64 = npt.NDArray[np.float64]
Objects = npt.NDArray[np.object_]


def no_beats(n: int) -> Objects:
    """An empty beat column for ``n`` rows."""
    return np.full(n, None, dtype=object)


def group_beats(
    ts: F64,
    payload: npt.NDArray[np.bool_],
    starts: npt.NDArray[np.intp] | npt.NDArray[np.int64],
    gap: float,
    max_beats: int,
) -> tuple[F64, Objects]:
    """Per group of packets (``starts``: each group's first index, ascending from 0; packets
    grouped and in time order within a group): its first and last payload time (inf and -inf
    when it has none) and the array of its later beat times (None when it has no second
    beat)."""
    n = ts.shape[0]
    if payload.shape[0] != n or (starts.shape[0] and (starts[0] != 0 or starts[-1] >= n)):
        raise ValueError("group_beats: groups outside the packets")
    if np.any(np.diff(starts) <= 0):
        raise ValueError("group_beats: group starts not ascending")
    pay, owners, times = _flowtable.group_beats(
        np.ascontiguousarray(ts, dtype=np.float64),
        np.ascontiguousarray(payload, dtype=bool).view(np.uint8),
        np.ascontiguousarray(starts, dtype=np.int64),
        gap,
        max_beats,
    )
    beats = no_beats(starts.shape[0])
    bounds = np.flatnonzero(np.diff(owners, prepend=-1, append=-1))
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        # One array per flow that beats, not per packet.
        beats[owners[lo]] = array("d", times[lo:hi].tolist())
    return pay, beats


def merge_beats(
    table_pay: F64,
    table_beats: Objects,
    rows: npt.NDArray[np.intp],
    batch_pay: F64,
    batch_beats: Objects,
    gap: float,
    max_beats: int,
) -> None:
    """Fold a batch's payload times and beats into the open table rows ``rows`` (in place):
    the batch's first payload starts a beat when the row was silent ``gap`` seconds before."""
    silent = batch_pay[:, 0] - table_pay[rows, 1] >= gap
    boundary = silent & np.isfinite(batch_pay[:, 0]) & np.isfinite(table_pay[rows, 1])
    touched = np.flatnonzero(boundary | (batch_beats != None))  # noqa: E711 (elementwise)
    for n in touched.tolist():
        row = int(rows[n])
        kept: array[float] = table_beats[row] if table_beats[row] is not None else array("d")
        added = ([float(batch_pay[n, 0])] if boundary[n] else []) + list(batch_beats[n] or [])
        kept.extend(added[: max(0, max_beats - 1 - len(kept))])
        table_beats[row] = kept or None
    table_pay[rows, 0] = np.minimum(table_pay[rows, 0], batch_pay[:, 0])
    table_pay[rows, 1] = np.maximum(table_pay[rows, 1], batch_pay[:, 1])


def beat_offsets(start: F64, pay: F64, beats: Objects) -> list[tuple[float, ...] | None]:
    """Each flow's beat times as seconds from its start (ms precision), None below two beats."""
    out: list[tuple[float, ...] | None] = [None] * len(beats)
    for n in np.flatnonzero(beats != None).tolist():  # noqa: E711 (elementwise)
        origin = float(start[n])
        times = [float(pay[n, 0]), *beats[n]]
        out[n] = tuple(round(t - origin, 3) for t in times)
    return out
