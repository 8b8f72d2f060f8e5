"""Types of the compiled flow-table core (``sensors/_flowtable.pyx``)."""

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.bool_]

def sum_groups(
    order: I64,
    h: U64,
    ts: F64,
    proto: I64,
    flags: I64,
    dir_b: U8,
    wirelen: I64,
    refusal: U8,
    seed: I64,
    tcp_idle: float,
    other_idle: float,
    linger: float,
    table: I64,
    width: int,
    time_columns: int,
    fin_a: int,
    fin_b: int,
    rst: int,
) -> tuple[int, I64, I64, Mask, I64, I64, F64]:
    """Split a hash-sorted batch into groups and sum each; the first value is the count."""

def hash_clash(order: I64, h: U64, keys: U64) -> bool:
    """Whether neighbours in hash order share a hash but not a key."""

def fold(
    counts: I64,
    bits: I64,
    times: F64,
    rows: I64,
    group_counts: I64,
    group_bits: I64,
    group_times: F64,
    members: I64,
) -> None:
    """Add groups into table rows: sums added, bits or-ed, times widened."""

def group_beats(
    ts: F64, payload: U8, starts: I64, gap: float, max_beats: int
) -> tuple[F64, I64, F64]:
    """Payload times per group and later beats as (group, time) pairs."""

def expired(
    times: F64,
    keys: U64,
    bits: I64,
    live: U8,
    now: float,
    tcp_idle: float,
    other_idle: float,
    lingering: bool,
    linger: float,
    active: float,
    first_column: int,
    last_column: int,
    proto_column: int,
    fin_a: int,
    fin_b: int,
    rst: int,
) -> Mask:
    """Per row: in use and silent past its wait or open past ``active``."""

def move(out: U64, dst: I64, src: U64, at: I64) -> None:
    """Copy row ``at[i]`` of ``src`` to row ``dst[i]`` of ``out``, for every ``i``."""

def first_free(live: U8, wanted: int) -> I64:
    """The first ``wanted`` slots not in use."""

def find(table_hash: U64, table_slot: I64, seq: I64, wanted: U64, key: int) -> I64:
    """Per wanted hash, the slot with the highest ``seq`` holding it, -1 when none does."""

def enter(table_hash: U64, table_slot: I64, hashes: U64, slots: I64, key: int) -> None:
    """Put each (hash, slot) into the table."""

def drop(table_hash: U64, table_slot: I64, hashes: U64, slots: I64, key: int) -> int:
    """Remove each (hash, slot) entry; return how many were found."""

def homes(hashes: U64, size: int, key: int) -> I64:
    """Where each hash's probe starts in a table of ``size`` entries under ``key``."""
