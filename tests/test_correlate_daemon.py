"""``nssa correlate``: follows stored alerts in order; restarts neither skip nor repeat."""

from __future__ import annotations

from pathlib import Path

from correlator.correlate import correlate
from correlator.exceptions import AlertException, ExceptionKind, Scope
from correlator.storage import IncidentQuery
from nssa.correlated import Follower
from nssa.exceptions import add_exception
from nssa.settings import Settings
from nssa.stores.elasticsearch import ElasticsearchStore
from nssa.stores.sqlite import SqliteStore
from tests.test_correlate import ORG, kill_chain

SETTINGS = Settings(organisation=ORG)


def test_restarts_resume_without_gaps_or_repeats(store: SqliteStore | ElasticsearchStore) -> None:
    chain = kill_chain()
    # Two writes: an alert read before an older one of the same attack would lead a
    # short-lived incident of its own (a known gap: superseded incidents are not retired).
    store.put_alerts(chain[:1])
    store.put_alerts(chain[1:2])
    first = Follower(SETTINGS, store, page=1)
    first.catch_up()
    first.release()  # a clean stop gives up the single-writer lease
    store.put_alerts(chain[2:])
    store.put_alerts(chain[:1])  # a sensor re-sends an alert after the restart
    second = Follower(SETTINGS, store, page=2)  # a restart: a new process, same store
    second.catch_up()
    stored = store.incidents(IncidentQuery())
    # Elasticsearch hands a re-sent alert out again (it was ingested again); SQLite does not.
    resent = 1 if isinstance(store, ElasticsearchStore) else 0
    assert (first.report.alerts, second.report.alerts) == (2, 3 + resent)
    assert stored == correlate(chain, ORG)


def test_exceptions_hide_and_mark_new_alerts(tmp_path: Path) -> None:
    chain = kill_chain()
    scanner = AlertException(
        kind=ExceptionKind.SUPPRESS,
        scope=Scope(detector="portscan"),
        reason="scan of the day is handled in ticket 42",
        owner="王工",
        created=0.0,
        expires=10_000.0,
    )
    with SqliteStore(tmp_path / "nssa.db") as store:
        assert add_exception(store, scanner, ORG) == 0  # nothing stored yet to mark
        store.put_alerts(chain)
        follower = Follower(SETTINGS, store)
        follower.catch_up()
        stored = store.incidents(IncidentQuery())
        marks = store.alert_marks([a.id for a in chain])
    assert [m.alert_id for m in marks] == [chain[0].id]
    assert stored == correlate(chain[1:], ORG) and follower.report.suppressed == 1
