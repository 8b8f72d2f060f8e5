"""How traffic spreads over senders and ports: normalised entropy and the flood kind it names.

Entropy classifies an alarm raised by counting (Lakhina et al.; Nychis et al. found address
and port entropies move together, so it never triggers one on its own).
"""

from __future__ import annotations

import math
from collections import Counter

SPOOFED_SOURCES = 10
"""More distinct senders than this, spread evenly, look forged rather than a botnet's few."""
SPOOFED_ENTROPY = 0.8
"""Normalised source entropy above which the senders are spread evenly (random forgeries)."""


def kind(sources: Counter[str], ports: Counter[int]) -> str:
    """Name a flood from its distributions: spoofed or direct, one service or many."""
    spoofed = len(sources) > SPOOFED_SOURCES and entropy(sources) > SPOOFED_ENTROPY
    who = "spoofed-source" if spoofed else "direct"
    what = "single-port" if len(ports) <= 2 else "multi-port"
    return f"{who} {what}"


def entropy(counts: Counter[str] | Counter[int]) -> float:
    """Shannon entropy normalised to [0, 1] by its maximum, log(distinct values)."""
    total, distinct = sum(counts.values()), len(counts)
    if distinct <= 1 or total == 0:
        return 0.0
    h = -sum(n / total * math.log(n / total) for n in counts.values())
    return h / math.log(distinct)


def bump(counts: Counter[str] | Counter[int], key: str | int, cap: int) -> None:
    """Count ``key``; a new key is dropped once ``cap`` distinct keys are held (bounded state)."""
    if key in counts or len(counts) < cap:
        counts[key] += 1  # type: ignore[index]
