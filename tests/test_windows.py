"""Bounded detector state and the site record."""

from __future__ import annotations

import pytest

from detectors.site import Site, is_unicast
from detectors.windows import BoundedMap, DistinctWindow


def test_bounded_map_evicts_least_recently_used_and_counts() -> None:
    table: BoundedMap[str, int] = BoundedMap(2)
    table.touch("a", lambda: 1)
    table.touch("b", lambda: 2)
    table.get("a")
    table.touch("c", lambda: 3)
    assert ([k for k, _ in table.items()], table.evictions) == (["a", "c"], 1)


def test_bounded_map_insert_evicts_like_touch() -> None:
    table: BoundedMap[str, int] = BoundedMap(2)
    assert table.insert("a", 1) == 1
    table.insert("b", 2)
    table.get("a")
    table.insert("c", 3)
    assert (list(table.items()), table.evictions) == ([("a", 1), ("c", 3)], 1)


def test_expire_stops_at_the_first_live_entry() -> None:
    table: BoundedMap[str, float] = BoundedMap(10)
    for key, t in (("old", 1.0), ("new", 9.0), ("older", 0.5)):
        table.touch(key, float(t).__float__)
    assert table.expire(lambda t: t < 5) == [("old", 1.0)]


def test_distinct_window_forgets_items_older_than_the_window() -> None:
    window = DistinctWindow(10.0, cap=100)
    for t, item in ((0.0, "a"), (5.0, "b"), (12.0, "c"), (13.0, "b")):
        window.add(item, t)
    assert (window.items(), window.total) == (["c", "b"], 4)


def test_site_dark_space_needs_known_assets() -> None:
    site = Site(internal=("10.21.0.0/16",), assets=("10.21.3.0/28",))
    assert (site.is_dark("10.21.9.9"), site.is_dark("10.21.3.5"), site.is_dark("8.8.8.8")) == (
        True,
        False,
        False,
    )
    assert not Site(internal=("10.21.0.0/16",)).is_dark("10.21.9.9")


def test_site_rejects_bad_networks_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"^benign_scanners: "):
        Site(benign_scanners=("not-an-ip",))


def test_broadcast_and_multicast_are_not_hosts() -> None:
    assert [is_unicast(a) for a in ("10.1.1.1", "10.1.1.255", "224.0.0.251", "ff02::1")] == [
        True,
        False,
        False,
        False,
    ]
