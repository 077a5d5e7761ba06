"""Log files: appending writer, tail from the end, follow until done."""
from __future__ import annotations

import os
import threading
import time

from skyexec_nb.engine.jobs import logfile


def test_writer_and_readers(tmp_path):
    path = tmp_path / "sub" / "run.log"
    assert logfile.read_text(path) == "" and logfile.tail_lines(path, 5) == []
    with logfile.LogWriter(path) as log:
        log.write_line("one")
        log.write("two\nthree\n")
        log.write_bytes(b"\xffbad\n")
    assert logfile.read_text(path).splitlines() == ["one", "two", "three", "\ufffdbad"]
    assert logfile.tail_lines(path, 2) == ["three", "\ufffdbad"]
    assert logfile.tail_lines(path, 100)[0] == "one"


def test_tail_reads_from_the_end_of_a_big_file(tmp_path):
    path = tmp_path / "big.log"
    path.write_bytes(b"".join(b"line %d\n" % i for i in range(1_000_000)))
    assert logfile.tail_lines(path, 3) == ["line 999997", "line 999998", "line 999999"]


def test_follow_waits_for_file_and_yields_last_partial_line(tmp_path):
    path = tmp_path / "run.log"
    done = threading.Event()

    def writer() -> None:
        time.sleep(0.05)
        with logfile.LogWriter(path) as log:
            for i in range(100):
                log.write_line(f"l{i}")
            log.write("tail-without-newline")
        done.set()

    threading.Thread(target=writer).start()
    lines = list(logfile.follow(path, done.is_set, poll=0.01))
    assert lines == [f"l{i}" for i in range(100)] + ["tail-without-newline"]


def test_follow_from_end(tmp_path):
    path = tmp_path / "run.log"
    path.write_text("old\n")
    gen = logfile.follow(path, lambda: True, from_start=False)
    assert list(gen) == []


def test_tail_then_follow_from_the_same_offset_loses_no_line(tmp_path):
    from skyexec_nb.engine.jobs import logfile

    path = tmp_path / "log"
    path.write_bytes(b"".join(b"line %d\n" % i for i in range(10)))
    size = path.stat().st_size
    with open(path, "ab") as f:  # written after the tail was read, before following starts
        f.write(b"late 1\nlate 2\n")
    head = logfile.tail_lines(path, 3, end=size)
    rest = list(logfile.follow(path, lambda: True, poll=0.01, offset=size))
    assert head == ["line 7", "line 8", "line 9"]
    assert rest == ["late 1", "late 2"]


# -- huge lines: everything stays linear (timings in bench/log_lines.py) ----------------------

def test_huge_single_line_survives_tail_and_follow_intact(tmp_path):
    path = tmp_path / "run.log"
    piece = bytes(range(97, 123)) * 10_000  # 260 KB of a..z, no newline
    with logfile.LogWriter(path) as log:
        log.write_line("before")
        for _ in range(40):  # a 10 MB line written in pieces, as the node reader hands them over
            log.write_bytes(piece)
        log.write_bytes(b"\nafter\n")
    expected = piece.decode() * 40
    assert logfile.tail_lines(path, 2) == [expected, "after"]
    assert logfile.tail_lines(path, 5) == ["before", expected, "after"]
    assert list(logfile.follow(path, lambda: True, poll=0.01)) == ["before", expected, "after"]


def test_tail_of_lines_longer_than_a_block_counts_newlines_per_block(tmp_path):
    path = tmp_path / "run.log"
    lines = [("%d:" % i) + "y" * (100_000 + i) for i in range(5)]
    path.write_text("\n".join(lines) + "\n")
    for n in range(1, 7):
        assert logfile.tail_lines(path, n) == lines[-n:]
    for text, expected in [("", []), ("\n", [""]), ("\n\nx", ["", "", "x"]), ("a\n\n", ["a", ""])]:
        path.write_text(text)
        assert logfile.tail_lines(path, 5) == expected


def test_cap_line_keeps_short_lines_and_says_what_was_cut():
    assert logfile.cap_line("short") == "short"
    capped = logfile.cap_line("z" * 25_000)
    assert capped.startswith("z" * 10_000) and "z" * 10_001 not in capped
    assert capped.endswith(" … [15,000 more characters; full line in the log file]")


def test_tail_lines_can_cap_for_display(tmp_path):
    path = tmp_path / "run.log"
    path.write_text("a" * 50 + "\nok\n")
    assert logfile.tail_lines(path, 2, cap=10) == ["a" * 10 + " … [40 more characters; full line in the log file]", "ok"]


# -- a log deleted, replaced or truncated under its reader and writer -------------------------

def _collect(gen, out: list[str]) -> threading.Thread:
    thread = threading.Thread(target=lambda: out.extend(gen), daemon=True)
    thread.start()
    return thread


def _wait(cond, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_writer_reopens_a_deleted_log_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(logfile, "CHECK_EVERY", 0.0)  # check before every write
    path = tmp_path / "run.log"
    with logfile.LogWriter(path) as log:
        log.write_line("first")
        path.unlink()
        log.write_line("second")
        log.write_line("third")
    lines = path.read_text().splitlines()
    assert lines[0].startswith("skyexec_nb: the earlier log file of this job was deleted (noticed at ")
    assert lines[1:] == ["second", "third"]


def test_writer_follows_a_file_put_in_place_of_its_own(tmp_path, monkeypatch):
    monkeypatch.setattr(logfile, "CHECK_EVERY", 0.0)
    path = tmp_path / "run.log"
    with logfile.LogWriter(path) as log:
        log.write_line("one")
        other = tmp_path / "other.log"
        other.write_text("kept\n")
        other.replace(path)
        log.write_line("two")
    assert path.read_text() == "kept\ntwo\n"  # not empty: no notice needed, nothing lost after the swap


def test_follow_says_the_log_was_deleted_then_reads_the_new_file(tmp_path, monkeypatch):
    monkeypatch.setattr(logfile, "CHECK_EVERY", 0.0)
    path = tmp_path / "run.log"
    done = threading.Event()
    out: list[str] = []
    log = logfile.LogWriter(path)
    log.write_line("before")
    reader = _collect(logfile.follow(path, done.is_set, poll=0.01), out)
    _wait(lambda: out == ["before"])
    path.unlink()
    _wait(lambda: len(out) == 2)
    log.write_line("after")
    log.close()
    done.set()
    reader.join(20)
    assert out[1] == logfile.deleted_notice(path)
    assert out[2].startswith("skyexec_nb: the earlier log file of this job was deleted")
    assert out[3:] == ["after"]


def test_follow_says_the_log_was_truncated_and_goes_on_from_its_new_end(tmp_path):
    path = tmp_path / "run.log"
    done = threading.Event()
    out: list[str] = []
    with logfile.LogWriter(path) as log:
        log.write_line("old 1")
        log.write_line("old 2")
        reader = _collect(logfile.follow(path, done.is_set, poll=0.01), out)
        _wait(lambda: len(out) == 2)
        os.truncate(path, 0)
        _wait(lambda: len(out) == 3)
        log.write_line("new 1")
    done.set()
    reader.join(20)
    assert out == ["old 1", "old 2", logfile.truncated_notice(path), "new 1"]


def test_follow_says_the_log_was_replaced(tmp_path):
    path = tmp_path / "run.log"
    path.write_text("mine\n")
    done = threading.Event()
    out: list[str] = []
    reader = _collect(logfile.follow(path, done.is_set, poll=0.01), out)
    _wait(lambda: out == ["mine"])
    other = tmp_path / "other"
    other.write_text("theirs\n")
    os.link(path, tmp_path / "keep")  # the old file lives on under another name: replaced, not deleted
    other.replace(path)
    _wait(lambda: len(out) == 3)
    done.set()
    reader.join(20)
    assert out == ["mine", logfile.replaced_notice(path), "theirs"]


def test_follow_of_a_log_not_yet_written_waits_quietly(tmp_path):
    path = tmp_path / "never.log"
    assert list(logfile.follow(path, lambda: True, poll=0.01)) == []
