"""File tailing: rotation by rename and copytruncate, restarts, gzip; nothing lost or repeated."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

from sensors.logs.tail import FileTail, Offsets


class Clock:
    """A clock the test advances, so grace periods pass without sleeping."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


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


def test_lines_appended_to_the_renamed_file_after_the_switch_are_read(tmp_path: Path) -> None:
    log, old, clock = tmp_path / "auth.log", tmp_path / "auth.log.1", Clock()
    append(log, "a")
    tail = FileTail(log, grace=30.0, clock=clock)
    assert texts(tail) == ["a"]
    log.rename(old)
    append(log, "new 1")
    assert texts(tail) == ["new 1"] and tail.rotations == 1  # switched to the new file
    append(old, "late 1")  # the writer had not reopened yet
    clock.now = 20.0
    append(log, "new 2")
    assert texts(tail) == ["late 1", "new 2"]
    clock.now = 45.0  # 25 s since the old file last grew: still within the grace period
    append(old, "late 2")
    assert texts(tail) == ["late 2"]
    clock.now = 80.0  # idle 35 s and the new file has lines: the old one is done
    assert texts(tail) == [] and [p.rotated for p in tail.positions] == [False]
    append(old, "too late")
    assert texts(tail) == []


def test_a_renamed_file_is_kept_while_the_new_one_is_empty(tmp_path: Path) -> None:
    log, old, clock = tmp_path / "auth.log", tmp_path / "auth.log.1", Clock()
    append(log, "a")
    tail = FileTail(log, grace=1.0, clock=clock)
    texts(tail)
    log.rename(old)
    assert texts(tail) == []  # no new file yet: the renamed one is still the current one
    log.touch()  # logrotate's "create", before the daemon reopens
    assert texts(tail) == []
    clock.now = 100.0
    append(old, "b")
    assert texts(tail) == ["b"]  # idle long ago, but the new file has not started
    append(log, "c")
    clock.now = 200.0
    assert texts(tail) == ["c"] and len(tail.positions) == 1


def test_a_deleted_rotated_file_is_closed_after_the_grace_period(tmp_path: Path) -> None:
    log, old, clock = tmp_path / "auth.log", tmp_path / "auth.log.1", Clock()
    append(log, "a")
    tail = FileTail(log, grace=5.0, clock=clock)
    texts(tail)
    log.rename(old)
    log.touch()
    texts(tail)
    old.unlink()
    clock.now = 6.0
    assert texts(tail) == [] and len(tail.positions) == 1


def test_restart_while_draining_a_rotated_file_loses_and_repeats_nothing(tmp_path: Path) -> None:
    log, old, offsets = tmp_path / "auth.log", tmp_path / "auth.log.1", Offsets(tmp_path / "o")
    append(log, "a", "b")
    first = FileTail(log)
    texts(first)
    log.rename(old)
    append(log, "new 1")
    append(old, "c")
    assert first.poll() == [(3, "c"), (1, "new 1")]
    offsets.save(first.positions)
    first.close()
    append(old, "d")  # while we were down, both files grew
    append(log, "new 2")
    second = FileTail(log, offsets.load()[str(log)], rotated=offsets.rotated()[str(log)])
    assert second.poll() == [(4, "d"), (2, "new 2")]
    append(old, "e")
    assert second.poll() == [(5, "e")]
    offsets.save(second.positions)
    second.close()
    third = FileTail(log, offsets.load()[str(log)], rotated=offsets.rotated()[str(log)])
    assert third.poll() == []


def test_rename_while_down_keeps_following_the_renamed_file(tmp_path: Path) -> None:
    log, old, offsets = tmp_path / "auth.log", tmp_path / "auth.log.1", Offsets(tmp_path / "o")
    append(log, "a")
    first = FileTail(log)
    texts(first)
    offsets.save(first.positions)
    first.close()
    append(log, "b")
    log.rename(old)
    append(log, "new 1")
    second = FileTail(log, offsets.load()[str(log)], rotated=offsets.rotated().get(str(log), ()))
    assert texts(second) == ["b", "new 1"]
    append(old, "c")
    assert texts(second) == ["c"]


def test_zeek_files_with_the_same_header_are_not_taken_for_each_other(tmp_path: Path) -> None:
    log, offsets = tmp_path / "conn.log", Offsets(tmp_path / "o")
    append(log, "#separator \\x09", "row 1", "row 2")
    first = FileTail(log)
    texts(first)
    offsets.save(first.positions)
    first.close()
    log.rename(tmp_path / "conn.log.1")
    append(log, "#separator \\x09", "row A", "row B", "row C")
    second = FileTail(log, offsets.load()[str(log)])
    assert texts(second) == ["#separator \\x09", "row A", "row B", "row C"]


def test_positions_before_the_first_poll_are_the_saved_ones(tmp_path: Path) -> None:
    log, offsets = tmp_path / "auth.log", Offsets(tmp_path / "o")
    append(log, "a")
    first = FileTail(log)
    texts(first)
    log.rename(tmp_path / "auth.log.1")
    append(log, "b")
    texts(first)
    saved = first.positions
    offsets.save(saved)
    again = FileTail(log, offsets.load()[str(log)], rotated=offsets.rotated()[str(log)])
    assert again.positions == saved
