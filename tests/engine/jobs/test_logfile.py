"""Log files: appending writer, tail from the end, follow until done."""
from __future__ import annotations

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
    start = time.perf_counter()
    assert logfile.tail_lines(path, 3) == ["line 999997", "line 999998", "line 999999"]
    assert time.perf_counter() - start < 0.05


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
