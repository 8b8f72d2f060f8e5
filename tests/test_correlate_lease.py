"""The single-writer lease: one ``nssa correlate`` writes incidents, a second one is refused."""

from __future__ import annotations

import pytest

from correlator.storage import Lease
from nssa.correlated import LEASE_SECONDS, Follower
from nssa.errors import LeaseHeldError
from nssa.settings import Settings
from nssa.stores.elasticsearch import ElasticsearchStore
from nssa.stores.sqlite import SqliteStore
from tests.test_correlate import ORG, kill_chain

SETTINGS = Settings(organisation=ORG)


class Clock:
    """A settable clock, so lease expiry is tested without waiting."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_take_lease_grants_renews_and_refuses(store: SqliteStore | ElasticsearchStore) -> None:
    assert store.take_lease("job", "a", 100.0, 30.0) == Lease(holder="a", expires=130.0)
    assert store.take_lease("job", "b", 110.0, 30.0) == Lease(holder="a", expires=130.0)
    assert store.take_lease("job", "a", 120.0, 30.0) == Lease(holder="a", expires=150.0)
    assert store.take_lease("other", "b", 120.0, 30.0).holder == "b"  # names are separate
    assert store.take_lease("job", "b", 150.0, 30.0) == Lease(holder="b", expires=180.0)


def test_second_daemon_is_refused_until_the_first_stops(
    store: SqliteStore | ElasticsearchStore,
) -> None:
    clock = Clock(1_000_000.0)
    first = Follower(SETTINGS, store, holder="first", clock=clock)
    with pytest.raises(LeaseHeldError, match="first"):
        Follower(SETTINGS, store, holder="second", clock=clock)
    first.release()
    second = Follower(SETTINGS, store, holder="second", clock=clock)
    store.put_alerts(kill_chain())
    second.catch_up()
    assert second.report.incidents_written > 0


def test_a_stalled_daemon_loses_the_lease_and_stops_writing(
    store: SqliteStore | ElasticsearchStore,
) -> None:
    clock = Clock(1_000_000.0)
    stalled = Follower(SETTINGS, store, holder="stalled", clock=clock)
    clock.now += LEASE_SECONDS + 1  # it stopped renewing: the lease ran out
    successor = Follower(SETTINGS, store, holder="successor", clock=clock)
    store.put_alerts(kill_chain())
    with pytest.raises(LeaseHeldError, match="successor"):
        stalled.step()
    assert stalled.report.incidents_written == 0
    successor.catch_up()
    assert successor.report.incidents_written > 0


def test_lease_text_round_trips_and_rejects_garbage() -> None:
    lease = Lease(holder="host:12:ab|c", expires=1.5)
    assert Lease.decode(lease.encode()) == lease
    assert Lease.decode("not a lease") is None
    assert Lease.decode("x|holder") is None
