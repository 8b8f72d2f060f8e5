"""File tailing: rotation by rename and copytruncate, restarts, gzip; nothing lost or repeated."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

from sensors.logs.tail import FileTail, Offsets


def append(path: Path, *lines: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.writelines(line + "\n" for line in lines)


def texts(tail: FileTail) -> list[str]:
    return [text for _, text in tail.poll()]


def test_follows_appends_and_waits_for_complete_lines(tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    append(log, "one")
    tail = FileTail(log)
    assert texts(tail) == ["one"]
    with log.open("a") as handle:
        handle.write("tw")
    assert texts(tail) == []
    append(log, "o", "three")
    assert tail.poll() == [(2, "two"), (3, "three")]


def test_rename_rotation_drains_the_old_file_then_reads_the_new(tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    append(log, "a", "b")
    tail = FileTail(log)
    assert texts(tail) == ["a", "b"]
    append(log, "c")
    log.rename(tmp_path / "auth.log.1")
    append(tmp_path / "auth.log.1", "d")  # the writer had not reopened yet
    append(log, "e")
    assert texts(tail) == ["c", "d", "e"] and tail.rotations == 1


def test_copytruncate_restarts_at_the_beginning(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    append(log, "first", "second")
    tail = FileTail(log)
    texts(tail)
    (tmp_path / "access.log.1").write_bytes(log.read_bytes())
    os.truncate(log, 0)
    append(log, "new")
    assert texts(tail) == ["new"]


def test_restart_from_saved_offsets_loses_and_repeats_nothing(tmp_path: Path) -> None:
    log, offsets = tmp_path / "auth.log", Offsets(tmp_path / "offsets.json")
    append(log, "a", "b")
    first = FileTail(log)
    assert texts(first) == ["a", "b"]
    offsets.save([first.position])
    first.close()
    append(log, "c")
    second = FileTail(log, offsets.load()[str(log)])
    assert second.poll() == [(3, "c")]


def test_rotated_and_compressed_while_down_is_read_once(tmp_path: Path) -> None:
    log, offsets = tmp_path / "auth.log", Offsets(tmp_path / "offsets.json")
    append(log, "a", "b")
    first = FileTail(log)
    texts(first)
    offsets.save([first.position])
    first.close()
    append(log, "c")  # written after our last commit, then rotated and compressed
    (tmp_path / "auth.log.1.gz").write_bytes(gzip.compress(log.read_bytes()))
    log.unlink()
    append(log, "d")
    second = FileTail(log, offsets.load()[str(log)])
    assert texts(second) == ["c", "d"]
    offsets.save([second.position])
    second.close()
    third = FileTail(log, offsets.load()[str(log)])
    assert texts(third) == []


def test_offsets_file_missing_or_corrupt_means_start_over(tmp_path: Path) -> None:
    broken = tmp_path / "offsets.json"
    broken.write_text("{not json")
    assert Offsets(broken).load() == {} and Offsets(tmp_path / "none.json").load() == {}
