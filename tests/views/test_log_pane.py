"""The log pane's kernel side: LogTail (incremental, bounded), line cleaning, and what LogPane sends.

The front end (append-only DOM, ANSI rendering, rank filter, copy/download) is driven in a real
browser by tests/e2e/test_browser_log_pane.py; here the messages it receives are asserted.
"""
from __future__ import annotations

import json
import time

import pytest

from skyexec_nb.views import log_pane as log_pane_module
from skyexec_nb.views.log_lines import clean_line, keep_colours
from skyexec_nb.views.log_pane import BATCH_CHARS, SNAPSHOT_LINES, LogPane, LogTail


def custom(sent: list, pane: LogPane, kind: str | None = None) -> list[dict]:
    """The custom messages ``pane`` sent (of type ``kind`` when given), in order."""
    found = [d["content"] for _, c, d in sent if c is pane.comm and d.get("method") == "custom"]
    return [m for m in found if kind is None or m["t"] == kind]


def hello(pane: LogPane, view: str = "v1") -> None:
    """What a newly attached front end says first."""
    pane._on_front_end_message(pane, {"t": "hello", "view": view}, [])


def send_now(pane: LogPane, **kwargs) -> bool:
    """``update()`` past the rate limit (as the next tick would be)."""
    pane._last_send = 0.0
    return pane.update(**kwargs)


# -- LogTail ---------------------------------------------------------------------------------
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
    assert tail.poll() is False and tail.offset == log.stat().st_size and tail.total == 4


def test_tail_is_bounded_and_skips_ahead_on_huge_backlogs(tmp_path):
    log = tmp_path / "run.log"
    log.write_text("".join(f"line {i}\n" for i in range(100_000)))
    tail = LogTail(log, max_lines=10, max_catch_up=4096)
    assert tail.poll()
    assert list(tail.lines) == [f"line {i}" for i in range(99_990, 100_000)]
    assert tail.skipped_bytes > 0 and len(tail.entries) == 10 and not tail.complete


def test_tail_restarts_when_the_file_is_truncated(tmp_path):
    log = tmp_path / "run.log"
    log.write_text("old 1\nold 2\n")
    tail = LogTail(log)
    tail.poll()
    log.write_text("new\n")
    assert tail.poll() and list(tail.lines) == ["new"] and tail.resets == 1


def test_lines_keep_colours_collapse_progress_bars_and_survive_bad_utf8(tmp_path):
    log = tmp_path / "run.log"
    log.write_bytes(b"\x1b[31mred\x1b[0m \x1b[2Kclear\x1b]0;title\x07\n10%\r50%\r100%\n\xff\xfe ok\n")
    tail = LogTail(log)
    tail.poll()
    assert list(tail.entries) == [(None, "\x1b[31mred\x1b[0m clear"), (None, "100%"), (None, "\ufffd\ufffd ok")]
    assert list(tail.lines) == ["red clear", "100%", "\ufffd\ufffd ok"]  # plain text: no codes
    assert keep_colours("\x1b[1;38;5;208mx\x1b[0m\x1b[?25l") == "\x1b[1;38;5;208mx\x1b[0m"


def test_a_progress_bar_without_newline_is_one_pending_line_that_updates(tmp_path):
    log = tmp_path / "run.log"
    tail = LogTail(log)
    with log.open("ab") as f:
        f.write(b"epoch 1\n")
        for pct in range(0, 101, 10):
            f.write(f"\r{pct:3d}%|{'#' * (pct // 10):10s}|".encode())
            f.flush()
            tail.poll()
            assert tail.pending == f"{pct:3d}%|{'#' * (pct // 10):10s}|"
            assert list(tail.lines) == ["epoch 1"]
        f.write(b"\ndone\n")
    tail.poll()
    assert list(tail.lines) == ["epoch 1", "100%|##########|", "done"] and tail.pending == ""


def test_a_long_redrawn_progress_bar_keeps_only_its_last_state_and_rank(tmp_path):
    log = tmp_path / "run.log"
    log.write_bytes(b"(worker1, rank=1, pid=9, ip=127.0.0.1) " + b"".join(f"\r{i:06d}".encode() for i in range(20_000)))
    tail = LogTail(log)
    tail.poll()
    assert tail.pending_entry == (1, "019999") and len(tail._partial) < 100  # memory stays bounded


def test_multinode_prefixes_become_ranks(tmp_path):
    assert clean_line("(head, rank=0, pid=123) hello") == (0, "hello")
    assert clean_line("(worker12, rank=12, pid=9, ip=10.0.0.7) hi\r") == (12, "hi")
    assert clean_line("\x1b[36m(worker1, rank=1, pid=9)\x1b[0m \x1b[32mok\x1b[0m") == (1, "\x1b[32mok\x1b[0m")
    assert clean_line("(train-1.x, pid=5) single node") == (None, "single node")  # no rank: no prefix
    assert clean_line("(not a, pid=5) prefix") == (None, "(not a, pid=5) prefix")
    assert clean_line("(head, rank=x, pid=1) not a prefix")[0] is None
    assert clean_line("(head, rank=0, pid=1) 10%\r(head, rank=0, pid=1) 20%\r") == (0, "20%")
    log = tmp_path / "run.log"
    log.write_text("setup\n(head, rank=0, pid=1) a0\n(worker1, rank=1, pid=2, ip=127.0.0.1) a1\n"
                   "(head, rank=0, pid=1) b0\n")
    tail = LogTail(log)
    tail.poll()
    assert tail.text == "setup\n[0] a0\n[1] a1\n[0] b0" and tail.ranks == {0, 1}
    assert tail.text_for(0) == "a0\nb0" and tail.text_for(1) == "a1" and tail.text_for(7) == ""


# -- LogPane: what goes to the front end ---------------------------------------------------------
def test_a_new_front_end_gets_the_tail_then_only_new_lines(tmp_path, sent):
    log = tmp_path / "run.log"
    log.write_text("<script>alert(1)</script> & co\nsecond\n")
    pane = LogPane(LogTail(log))
    assert "skx-log-pane" in pane._dom_classes and pane.has_file and pane.file_name == "run.log"
    assert pane.update() is True
    first = custom(sent, pane, "a")
    assert first == [{"t": "a", "l": ["<script>alert(1)</script> & co", "second"], "p": None}]
    hello(pane)
    reset = custom(sent, pane, "reset")
    assert reset[-1]["to"] == "v1" and reset[-1]["l"] == first[0]["l"] and reset[-1]["c"] is True
    assert pane.update() is False and send_now(pane) is False  # nothing new: nothing sent
    with log.open("a") as f:
        f.write("third\npart")
    assert send_now(pane) is True
    assert custom(sent, pane)[-1] == {"t": "a", "l": ["third"], "p": [None, "part"]}
    # The tail never travels as widget state; only the short snapshot (for saved notebooks) does.
    states = [d["state"] for _, c, d in sent if c is pane.comm and d.get("method") == "update"]
    assert not any("second" in json.dumps(s) for s in states if not {"_esm", "snapshot"} & set(s))
    assert all(len(s["snapshot"]["l"]) <= SNAPSHOT_LINES for s in states if "snapshot" in s)
    # The static view is escaped HTML of the whole tail.
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in pane.value and "<script>" not in pane.value
    assert pane.value.endswith("third\npart</pre>")


def test_progress_updates_replace_the_pending_line(tmp_path, sent):
    log = tmp_path / "run.log"
    pane = LogPane(LogTail(log))
    with log.open("ab") as f:
        for pct in (10, 50, 100):
            f.write(f"\rloss {pct}%".encode())
            f.flush()
            assert send_now(pane)
        f.write(b"\n")
    assert send_now(pane)
    messages = custom(sent, pane, "a")
    assert [m["p"] for m in messages] == [[None, "loss 10%"], [None, "loss 50%"], [None, "loss 100%"], None]
    assert [m["l"] for m in messages] == [[], [], [], ["loss 100%"]]  # appended once, when complete


def test_ranks_are_sent_apart_and_synced(tmp_path, sent):
    log = tmp_path / "run.log"
    log.write_text("(head, rank=0, pid=1) zero\n(worker1, rank=1, pid=2, ip=127.0.0.1) \x1b[31mone\x1b[0m\n")
    pane = LogPane(LogTail(log))
    pane.update()
    assert custom(sent, pane, "a")[-1] == {"t": "a", "l": ["zero", "\x1b[31mone\x1b[0m"], "r": [0, 1], "p": None}
    assert pane.ranks == [0, 1]
    assert pane.text_for(1) == "one" and pane.text_for() == "[0] zero\n[1] one"


def test_a_flood_is_sent_in_bounded_batches_with_a_skip_marker(tmp_path, sent):
    log = tmp_path / "run.log"
    pane = LogPane(LogTail(log, max_lines=2000))
    with log.open("a") as f:
        f.write("".join(f"line {i} {'x' * 60}\n" for i in range(1, 20_001)))
    assert pane.update()
    message = custom(sent, pane, "a")[-1]
    assert sum(len(t) + 1 for t in message["l"]) <= BATCH_CHARS
    assert message["l"][-1].startswith("line 20000 ")  # the newest lines, in order
    shown = len(message["l"])
    assert message["s"].startswith(f"… {20_000 - shown:,} lines skipped") and "full log is on disk" in message["s"]
    # Rate: a second update right away waits for the next tick (but says it is due).
    with log.open("a") as f:
        f.write("late\n")
    assert pane.update() is True and len(custom(sent, pane, "a")) == 1
    assert send_now(pane) and custom(sent, pane, "a")[-1] == {"t": "a", "l": ["late"], "p": None}
    assert len(pane.tail.entries) == 2000  # the kernel keeps the bounded tail for new front ends


def test_a_huge_line_is_cut_to_the_budget(tmp_path, sent):
    log = tmp_path / "run.log"
    log.write_text("y" * 9000 + "\n")
    pane = LogPane(LogTail(log))
    pane.update()
    (line,) = custom(sent, pane, "a")[-1]["l"]
    assert line.startswith("y" * 100) and line.endswith("…[cut]") and len(line) <= BATCH_CHARS + 10


def test_a_replaced_file_resets_every_front_end(tmp_path, sent):
    log = tmp_path / "run.log"
    log.write_text("old line one\nold line two\n")
    pane = LogPane(LogTail(log))
    pane.update()
    log.write_text("new\n")
    assert send_now(pane)
    assert custom(sent, pane)[-1] == {"t": "reset", "to": None, "l": ["new"], "p": None, "c": True}


def test_snapshot_is_synced_when_the_job_ends(tmp_path, sent):
    log = tmp_path / "run.log"
    log.write_text("".join(f"{i}\n" for i in range(200)))
    pane = LogPane(LogTail(log))
    pane.update()
    assert pane.update(final=True) is False
    assert pane.snapshot["l"] == [str(i) for i in range(150, 200)] and pane.snapshot["complete"] is False
    before = len(sent)
    assert pane.update(final=True) is False and len(sent) == before  # synced once


def test_download_streams_the_whole_file_in_chunks(tmp_path, sent, monkeypatch):
    monkeypatch.setattr(log_pane_module, "CHUNK_BYTES", 1000)
    log = tmp_path / "run.log"
    data = "".join(f"line {i}\n" for i in range(1000)).encode()
    log.write_bytes(data)
    pane = LogPane(LogTail(log, max_lines=5))
    chunks: list = []
    monkeypatch.setattr(pane, "send", lambda content, buffers=None: chunks.append((content, buffers)))
    pane._on_front_end_message(pane, {"t": "fetch", "id": "r1"}, [])
    assert [c["seq"] for c, _ in chunks] == list(range(len(chunks))) and len(chunks) == -(-len(data) // 1000)
    assert chunks[-1][0]["last"] and not any(c["last"] for c, _ in chunks[:-1])
    assert b"".join(b[0] for _, b in chunks) == data and chunks[0][0]["size"] == len(data)
    log.unlink()
    chunks.clear()
    pane._on_front_end_message(pane, {"t": "fetch", "id": "r2"}, [])
    assert chunks[0][0]["last"] and "Could not read the log" in chunks[0][0]["error"]


def test_open_uses_the_servers_files_route_when_it_can(tmp_path, sent, monkeypatch):
    log = tmp_path / "logs" / "run.log"
    log.parent.mkdir()
    log.write_text("x\n")
    monkeypatch.setattr("skyexec_nb.views.files_link._server_roots", lambda: [(tmp_path, "/base/")])
    pane = LogPane(LogTail(log))
    hello(pane)
    assert pane.files_url == "/base/files/logs/run.log"
    monkeypatch.setattr("skyexec_nb.views.files_link._server_roots", lambda: [(tmp_path / "elsewhere", "/")])
    other = LogPane(LogTail(log))
    hello(other)
    assert other.files_url == ""  # the front end then opens the kernel-streamed copy


@pytest.mark.parametrize("count", [1, 3])
def test_flood_traffic_stays_within_budget_per_second(tmp_path, sent, count):
    """Ten ticks of a flood: at most one message each, each within the character budget."""
    log = tmp_path / "run.log"
    pane = LogPane(LogTail(log))
    for tick in range(10):
        with log.open("a") as f:
            f.write("".join(f"t{tick} line {i} {'z' * 60}\n" for i in range(5000 * count)))
        send_now(pane)
        time.sleep(0)
    messages = custom(sent, pane, "a")
    assert len(messages) == 10
    assert all(len(json.dumps(m)) <= BATCH_CHARS + 1500 for m in messages)
