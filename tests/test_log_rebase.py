"""``--rebase-time`` moves log events with the captures: first log time, shifted events."""

from __future__ import annotations

from pathlib import Path

from nssa.pipeline import replay
from nssa.settings import Settings
from nssa.stores.sqlite import SqliteStore
from sensors.events import AuthEvent, Flow, TcpOutcome, Transport
from sensors.logs.rebase import first_log_time, shifted

AUTH = (
    "Mar  7 10:00:{s:02d} bastion sshd[42]: Failed password for root from 203.0.113.9 "
    "port 50273 ssh2\n"
)
MAR_7_10H = 1709805600.0  # 2024-03-07T10:00:00Z


def auth_log(tmp_path: Path) -> Path:
    log = tmp_path / "auth.log"
    log.write_text("".join(AUTH.format(s=s) for s in (5, 3, 9)))
    return log


def test_first_log_time_is_the_earliest_of_the_first_lines(tmp_path: Path) -> None:
    first = first_log_time(auth_log(tmp_path))
    assert first is not None and first % 86400 == (MAR_7_10H + 3) % 86400
    (tmp_path / "empty.log").write_text("")
    assert first_log_time(tmp_path / "empty.log") is None


def test_every_time_field_is_shifted() -> None:
    flow = Flow(
        start=10.0,
        end=12.5,
        sensor="s",
        src_ip="10.0.0.1",
        src_port=1,
        dst_ip="10.0.0.2",
        dst_port=2,
        transport=Transport.TCP,
        packets_out=1,
        packets_in=0,
        bytes_out=60,
        bytes_in=0,
        outcome=TcpOutcome.UNANSWERED,
    )
    (moved,) = shifted([flow], 100.0)
    assert isinstance(moved, Flow) and (moved.start, moved.end) == (110.0, 112.5)
    assert shifted([flow], 0.0)[0] is flow


def test_replay_rebases_log_events(tmp_path: Path) -> None:
    log = auth_log(tmp_path)
    first = first_log_time(log)
    assert first is not None
    with SqliteStore(tmp_path / "nssa.db") as store:
        replay([log], Settings(), store, rebase_to=first + 1000.0)
        times = sorted(e.time for e in store.events() if isinstance(e, AuthEvent))
    assert times == [first + 1000.0, first + 1002.0, first + 1006.0]
