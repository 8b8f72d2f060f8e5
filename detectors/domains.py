"""Domain-name measures shared by the DNS detectors: registered domain, entropy, lexical score.

The registered domain (eTLD+1) comes from the Public Suffix List snapshot bundled with the
``publicsuffixlist`` package (MPL-2.0); it is read from the package once and never fetched,
so ``co.uk`` and ``github.io`` style suffixes split correctly offline.
"""

from __future__ import annotations

import math
from collections import Counter
from functools import lru_cache

from publicsuffixlist import PublicSuffixList

VOWELS = frozenset("aeiouy")
_BIGRAMS = (
    "thheineranreonatenndtiesorteofedisitalarsttontngsehaasouiolevecomedehiriroicneea"
    "racelichllbemasiomurcaeltalansdifohopeecprnoctusacotiltrlyncetutsssorsunlowageie"
    "wheewiemadolrtpowenaulnitsmoowpaimmiaishirsuidosiviaamficivipligtuevldrympfeblab"
    "ghtyopwosaayexkefrooavagifapgrodbosprddoucbueiovbyrmepttocfaefcurnscgidayocrcldu"
    "gaquueffbaeylsvaumppuauplugohtruugdsltpircrregauckewmubrbiptakpuuirgibtlnykirkys"
    "obmmfuphogmsyeudmbipuboirlgudrhrcctwftwnnuzhao"
)
COMMON_BIGRAMS = frozenset(_BIGRAMS[i : i + 2] for i in range(0, len(_BIGRAMS), 2))
"""Frequent letter pairs of English words (and pinyin finals): rare in random strings."""


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    """The bundled list, parsed once (``only_icann`` off: private suffixes count too)."""
    return PublicSuffixList()


@lru_cache(maxsize=65_536)
def registered_domain(name: str) -> str:
    """The eTLD+1 of ``name`` (lower case, no trailing dot); the name itself when it has none."""
    name = name.strip(".").lower()
    return _psl().privatesuffix(name) or name


def subdomain(name: str, domain: str) -> str:
    """The labels of ``name`` left of its registered ``domain`` (empty for the domain itself)."""
    name = name.strip(".").lower()
    return name[: -len(domain) - 1] if name.endswith("." + domain) else ""


def entropy(text: str) -> float:
    """Shannon entropy of the characters of ``text`` in bits per character."""
    if not text:
        return 0.0
    counts, total = Counter(text), len(text)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def lexical_score(label: str) -> float:
    """How machine-made one label looks, 0 (a word) to 1 (random), from four cues.

    The cues are the ones FANCI and earlier lexical DGA work use, each scaled to 0-1: length
    (random labels are long), character entropy, the longest consonant run, and the larger of
    the mix of digits and letters and the share of letter pairs uncommon in words. Their mean
    is the score; labels under six characters score 0 whatever they hold.
    """
    label = label.lower().replace("-", "")
    if len(label) < 6:
        return 0.0
    length = min(1.0, (len(label) - 5) / 10)
    spread = min(1.0, max(0.0, (entropy(label) - 2.5) / 1.3))
    run = min(1.0, max(0.0, (_consonant_run(label) - 2) / 4))
    digits = sum(ch.isdigit() for ch in label)
    mixed = 1.0 if 0 < digits < len(label) and not label.isdigit() else 0.0
    pairs = [label[i : i + 2] for i in range(len(label) - 1)]
    rare = sum(p not in COMMON_BIGRAMS for p in pairs) / len(pairs)
    unpronounceable = min(1.0, max(0.0, (rare - 0.3) / 0.4))
    return round((length + spread + run + max(mixed, unpronounceable)) / 4, 3)


def _consonant_run(label: str) -> int:
    longest = run = 0
    for ch in label:
        run = run + 1 if ch.isalpha() and ch not in VOWELS else 0
        longest = max(longest, run)
    return longest
