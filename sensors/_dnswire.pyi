"""Types of the compiled DNS reader (``sensors/_dnswire.pyx``)."""

from typing import TypeVar

import numpy as np
import numpy.typing as npt

LIMITS: tuple[int, int, int, int]
"""MAX_JUMPS, MAX_NAME, MAX_QUESTIONS, MAX_OPCODE."""

Fields = tuple[int, bool, int, int, str, int, int, int, int]
Message = TypeVar("Message", bound=Fields)

def read_name(data: bytes, at: int) -> tuple[str, int] | None:
    """The possibly compressed name at ``at`` and the offset after it, or None."""

def parse(data: bytes) -> Fields | None:
    """The fields of ``sensors.dns.DnsMessage``, or None when it is not plausible DNS."""

def parse_many(
    buf: npt.NDArray[np.uint8],
    start: npt.NDArray[np.int64],
    size: npt.NDArray[np.int64],
    kind: type[Message],
) -> list[Message | None]:
    """``parse`` of each message ``buf[start[i]:start[i] + size[i]]`` as a ``kind``."""
