"""Entropy of senders and ports, and the flood kind it names: small tables."""

from __future__ import annotations

from collections import Counter

from detectors.spread import bump, entropy, kind


def test_even_spread_has_entropy_one_and_one_sender_zero() -> None:
    assert (entropy(Counter("abcd")), entropy(Counter("aaaa"))) == (1.0, 0.0)


def test_many_even_senders_are_spoofed_and_few_are_direct() -> None:
    many = Counter(f"s{n}" for n in range(50))
    assert (kind(many, Counter([80])), kind(Counter("ab"), Counter([1, 2, 3]))) == (
        "spoofed-source single-port",
        "direct multi-port",
    )


def test_bump_stops_adding_new_keys_at_the_cap() -> None:
    counts: Counter[str] = Counter()
    for key in ["a", "b", "c", "a"]:
        bump(counts, key, 2)
    assert counts == Counter({"a": 2, "b": 1})
