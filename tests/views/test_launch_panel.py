"""LaunchPanel on real local jobs: header, badge, buttons, log tail, errors, message budget."""
from __future__ import annotations

import html
import threading
import time
from pathlib import Path

from skyexec_nb.engine.jobs.status import STATUS_COLOURS, JobStatus
from skyexec_nb.views.files_link import files_url, log_link_html
from skyexec_nb.views.launch_panel import LaunchPanel


def settle(panel: LaunchPanel, wait) -> None:
    """Wait until the job is terminal and the panel stopped following (log drained)."""
    wait(lambda: panel.status is not None and panel.status.is_terminal and not panel._refresher.is_registered(panel))


def test_successful_job(local_job, wait):
    job = local_job("echo hello; echo '<b>not bold</b>'", name="ok")
    panel = LaunchPanel(job)
    settle(panel, wait)
    assert panel.badge.status == "SUCCEEDED"
    assert STATUS_COLOURS[JobStatus.SUCCEEDED] in panel.badge.value
    assert "skx-status-succeeded" in panel.badge._dom_classes and "skx-status" in panel.badge._dom_classes
    assert "<b>ok</b>" in panel.title.value and "local" in panel.title.value and job.cluster in panel.title.value
    assert "hello" in panel.log_pane.value and "&lt;b&gt;not bold&lt;/b&gt;" in panel.log_pane.value
    assert panel.cancel_button.disabled and not panel.refresh_button.disabled and not panel.log_button.disabled
    assert panel.down_button.layout.display == "none"  # local backend: no cluster to tear down
    assert panel.error_line.value == ""
    assert ":" in panel.elapsed_label.value


def test_failing_job_says_why_in_red(local_job, wait):
    job = local_job("echo about to fail; exit 3", name="bad")
    panel = LaunchPanel(job)
    settle(panel, wait)
    assert panel.badge.status.startswith("FAILED")
    text = html.unescape(panel.error_line.value)
    assert "#dc3545" in text and (job.error or "exit codes") in text
    assert "about to fail" in panel.log_pane.value


def test_cancel_button_and_elapsed_ticking(local_job, wait):
    job = local_job("echo started; sleep 60", name="sleepy")
    panel = LaunchPanel(job)
    wait(lambda: panel.badge.status == "RUNNING" and "started" in panel.log_pane.value)
    assert not panel.cancel_button.disabled
    first = panel.elapsed_label.value
    wait(lambda: panel.elapsed_label.value != first, timeout=5)  # ticks while live
    panel.cancel_button.click()
    wait(lambda: panel.badge.status == "CANCELLED")
    wait(lambda: panel.cancel_button.disabled)
    settle(panel, wait)


def test_open_full_log_shows_the_path_or_a_files_link(local_job, wait, tmp_path):
    job = local_job("echo x", name="logpath")
    panel = LaunchPanel(job)
    panel.log_button.click()
    assert str(job.log_path) in html.unescape(panel.log_link.value)
    root = Path(job.log_path).parents[2]
    url = files_url(job.log_path, roots=[(root, "/base/")])
    assert url == "/base/files/" + Path(job.log_path).relative_to(root).as_posix()
    assert files_url(job.log_path, roots=[(tmp_path / "elsewhere", "/")]) is None
    assert 'href="/base/files/' in log_link_html(job.log_path, roots=[(root, "/base/")])
    settle(panel, wait)


def test_panel_created_and_updated_from_a_background_thread(local_job, wait, sent):
    job = local_job("echo from-thread", name="bg")
    made: list = []
    thread = threading.Thread(target=lambda: made.append(LaunchPanel(job)))
    thread.start()
    thread.join()
    panel = made[0]
    settle(panel, wait)
    assert "from-thread" in panel.log_pane.value
    assert any(c is panel.log_pane.comm for _, c, _ in sent)  # updates went out through the comm


def test_close_stops_following(local_job, wait):
    job = local_job("sleep 30", name="closing")
    panel = LaunchPanel(job)
    assert panel._refresher.is_registered(panel)
    panel.close()
    assert not panel._refresher.is_registered(panel)
    job.cancel()


def test_flooding_job_stays_within_the_update_budget(local_job, wait, sent):
    lines = 200_000  # in 20 bursts of 10,000 lines over ~3 s, so the pane is live for many ticks
    job = local_job("for i in $(seq 0 19); do seq $((i*10000+1)) $((i*10000+10000)); sleep 0.15; done", name="flood")
    updates: list[float] = []
    started = time.monotonic()
    panel = LaunchPanel(job)

    def value_messages() -> int:  # the log pane's messages of new lines (custom messages, no state)
        return sum(1 for _, c, data in sent if c is panel.log_pane.comm and data.get("method") == "custom")

    with panel._lock:  # the ticker cannot send between these two lines
        start = len(sent)
        before = value_messages()
    settle(panel, wait)
    updates = [t for t, c, data in sent[start:] if c is panel.log_pane.comm and data.get("method") == "custom"]
    duration = time.monotonic() - started
    # At most ~10 updates in any one-second window (the ticker's budget, plus scheduling jitter).
    worst = max((sum(1 for t in updates if s <= t < s + 1.0) for s in updates), default=0)
    assert worst <= 12, f"{worst} log updates in one second"
    assert len(updates) <= 10 * duration + 3
    assert len(updates) >= 10  # it really was followed live
    assert value_messages() - before == len(updates)  # one comm message per update, none per line
    # The full log is complete; the pane shows the bounded tail ending with the last line.
    text = Path(job.log_path).read_text()
    assert sum(1 for ln in text.splitlines() if ln.split()[-1].isdigit()) >= lines
    assert text.rstrip().endswith(str(lines))
    assert panel.log_pane.value.count("\n") < panel.log_pane.tail.lines.maxlen + 1
    assert panel.log_pane.value.rstrip("</pre>").rstrip().endswith(str(lines))


def test_log_tail_length_follows_the_setting(local_job, wait):
    from skyexec_nb.engine.jobs.settings import get_settings

    get_settings().log_tail_lines = 5
    job = local_job("seq 1 50", name="short-tail")
    panel = LaunchPanel(job)
    settle(panel, wait)
    shown = html.unescape(panel.log_pane.value.split(">", 1)[1].rsplit("</pre>", 1)[0]).splitlines()
    assert [ln.split()[-1] for ln in shown] == ["46", "47", "48", "49", "50"]
    assert Path(job.log_path).read_text().count("\n") >= 50  # the full log is kept on disk
