"""The nssa command's garbage-collector settings (``nssa.heap``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from nssa.heap import MIDDLE_THRESHOLD, OLD_THRESHOLD, YOUNG_THRESHOLD, settle_heap


@pytest.fixture
def restored_gc() -> Iterator[None]:
    """Put the test process's collector back as it was."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_gc")
def test_settling_freezes_start_up_and_spaces_collections() -> None:
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    settle_heap()
    assert gc.get_threshold() == (YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
    assert gc.get_freeze_count() > 0


@pytest.mark.usefixtures("restored_gc")
def test_settling_twice_does_not_collect_again() -> None:
    gc.set_threshold(700, 10, 10)
    settle_heap()
    frozen = gc.get_freeze_count()
    gc.unfreeze()  # a second call that froze again would move these objects back
    settle_heap()
    assert gc.get_freeze_count() == 0 < frozen


def test_cycles_are_still_collected_after_settling(restored_gc: None) -> None:
    settle_heap()
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1
