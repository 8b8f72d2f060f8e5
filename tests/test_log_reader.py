"""Bad input never stops a log stream: it is counted, reported and skipped."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

from sensors.events import AuthEvent
from sensors.logs.reader import MAX_LINE, LogStats, raw_lines, read_log

FAILED = "Feb 25 14:34:10 belka sshd[1]: Failed password for root from 192.0.2.{n} port 2 ssh2"


def sources(path: Path, stats: LogStats, log_format: str = "sshd") -> list[str | None]:
    return [
        e.src_ip
        for p in read_log(path, log_format, stats=stats)
        for e in p.events
        if isinstance(e, AuthEvent)
    ]


def test_non_utf8_nul_and_oversized_lines_are_counted_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "auth.log"
    path.write_bytes(
        FAILED.format(n=1).replace("root", "r\xe9").encode("latin-1")
        + b"\n"
        + b"x" * (1 << 20)
        + b"\n"
        + FAILED.format(n=2).encode()
        + b"\x00\x00\n"
        + b"\x00garbage \xff\xfe\n"
        + FAILED.format(n=3).encode()
        + b"\n"
    )
    stats = LogStats()
    assert sources(path, stats) == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    assert (stats.non_utf8, stats.nul_bytes, stats.oversized, stats.unparsed) == (2, 2, 1, 1)


def test_oversized_line_spanning_chunks_keeps_line_numbers() -> None:
    data = b"a\n" + b"y" * (3 * MAX_LINE) + b"\nb\n"
    stats = LogStats()
    assert list(raw_lines(io.BytesIO(data), stats, max_line=MAX_LINE)) == [(1, "a"), (3, "b")]
    assert stats.oversized == 1


def test_truncated_json_is_unparsed_and_the_next_record_still_parses(tmp_path: Path) -> None:
    good = {
        "timestamp": "2019-01-02T03:50:11+0000",
        "event_type": "alert",
        "src_ip": "1.2.3.4",
        "dest_ip": "5.6.7.8",
        "alert": {"signature_id": 1, "signature": "x", "severity": 1},
    }
    path = tmp_path / "eve.json"
    path.write_text(json.dumps(good)[:40] + "\n" + json.dumps(good) + "\n[[[[[[\n")
    stats = LogStats()
    events = [e for p in read_log(path, "eve", stats=stats) for e in p.events]
    assert len(events) == 1 and stats.unparsed == 2


def test_gzip_and_json_array_files(tmp_path: Path) -> None:
    path = tmp_path / "auth.log.1.gz"
    path.write_bytes(gzip.compress((FAILED.format(n=7) + "\n").encode()))
    array = tmp_path / "alerts.json"
    record = {
        "timestamp": "2019-01-02T03:50:11",
        "event_type": "alert",
        "src_ip": "1.2.3.4",
        "dest_ip": "5.6.7.8",
        "alert": {"signature_id": 9, "signature": "s"},
    }
    array.write_text("[\n" + json.dumps(record, indent=2) + ",\n" + json.dumps(record) + "\n]")
    assert sources(path, LogStats(), "auto") == ["192.0.2.7"]
    lines = [p.number for p in read_log(array)]
    assert lines == [2, 12]


def test_a_flood_of_garbage_does_not_hide_the_line_after_it(tmp_path: Path) -> None:
    path = tmp_path / "auth.log"
    path.write_text("\n".join(["<13>garbage " * 20] * 50_000 + [FAILED.format(n=9)]) + "\n")
    stats = LogStats()
    assert sources(path, stats) == ["192.0.2.9"] and stats.unparsed == 50_000
