"""LogTail (incremental bounded reader) and LogPane (escaped HTML, one message per change)."""
from __future__ import annotations

from skyexec_nb.views.log_pane import LogPane, LogTail


def test_tail_reads_only_what_was_appended_and_keeps_partial_lines(tmp_path):
    log = tmp_path / "run.log"
    tail = LogTail(log, max_lines=3)
    assert tail.poll() is False and tail.text == ""  # no file yet
    log.write_bytes(b"a\nb\nc")
    assert tail.poll() and list(tail.lines) == ["a", "b"] and tail.pending == "c"
    assert tail.text == "a\nb\nc"
    with log.open("ab") as f:
        f.write(b"d\ne\n")
    assert tail.poll() and list(tail.lines) == ["b", "cd", "e"] and tail.pending == ""
    assert tail.poll() is False and tail.offset == log.stat().st_size


def test_tail_is_bounded_and_skips_ahead_on_huge_backlogs(tmp_path):
    log = tmp_path / "run.log"
    log.write_text("".join(f"line {i}\n" for i in range(100_000)))
    tail = LogTail(log, max_lines=10, max_catch_up=4096)
    assert tail.poll()
    assert list(tail.lines) == [f"line {i}" for i in range(99_990, 100_000)]
    assert tail.skipped_bytes > 0 and len(tail.lines) == 10


def test_tail_restarts_when_the_file_is_truncated(tmp_path):
    log = tmp_path / "run.log"
    log.write_text("old 1\nold 2\n")
    tail = LogTail(log)
    tail.poll()
    log.write_text("new\n")
    assert tail.poll() and list(tail.lines) == ["new"]


def test_tail_cleans_ansi_and_carriage_returns_and_bad_utf8(tmp_path):
    log = tmp_path / "run.log"
    log.write_bytes(b"\x1b[31mred\x1b[0m\n10%\r50%\r100%\n\xff\xfe ok\n")
    tail = LogTail(log)
    tail.poll()
    assert list(tail.lines) == ["red", "100%", "\ufffd\ufffd ok"]


def test_pane_escapes_html_and_sends_only_on_change(tmp_path):
    log = tmp_path / "run.log"
    log.write_text("<script>alert(1)</script> & co\n")
    pane = LogPane(LogTail(log))
    changes: list = []
    pane.observe(changes.append, "value")
    assert pane.update() is True
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in pane.value and "<script>" not in pane.value
    assert pane.update() is False and len(changes) == 1
    assert "skx-log" in pane._dom_classes
    layout = pane.layout
    assert (layout.overflow, layout.display, layout.flex_flow) == ("auto", "flex", "column-reverse")
    assert layout.max_height
