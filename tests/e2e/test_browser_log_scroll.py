"""The launch panel's log pane in a real browser: it follows the log, and leaves a reader alone.

Issue 4: the log pane "follows the log file as it grows, auto-scrolls unless the user scrolled
up". A local job (``%%skylaunch``) prints a numbered line every ~50 ms for ~30 s, and the page
is read as rendered (the ``.skx-log`` element is the scroll container):

1. while the job runs, the pane sits at the bottom and the newest visible line keeps increasing;
2. after the user scrolls to the top, new lines keep arriving but the view stays where the user
   put it (same first visible line, not yanked to the bottom, not drifting);
3. after the user scrolls back to the bottom, the pane follows again.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"  # the conftest's page fixture creates it

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LINES = 600  # one every ~50 ms: ~30 s of output (enough for a slow start on a loaded machine)
JOB_CELL = f"""\
%%skylaunch --name log-scroll --out scroll_job
for i in $(seq 1 {LINES}); do printf 'line %04d\\n' "$i"; sleep 0.05; done"""

#: The pane's scroll geometry and its first/last visible lines, read from the rendered page.
#: Lines are one-per-row (short lines, no wrapping), so a line's row is its index times the
#: text's line height; a row counts as visible when its middle is inside the pane's box.
READ_PANE = """(pane) => {
  const pre = pane.querySelector('pre.skx-log-text');
  const lines = pre ? pre.textContent.split('\\n').filter(l => l.length) : [];
  const box = pane.getBoundingClientRect();
  const text = pre ? pre.getBoundingClientRect() : box;
  const h = lines.length ? text.height / lines.length : 0;
  const visible = [];
  lines.forEach((line, i) => {
    const mid = text.top + (i + 0.5) * h;
    if (mid > box.top && mid < box.bottom) visible.push(line);
  });
  // In a column-reverse box Chromium's scroll origin is the bottom (scrollTop 0 there, negative
  // above); in normal flow the bottom is scrollHeight - clientHeight.
  const reverse = getComputedStyle(pane).flexDirection === 'column-reverse';
  const fromBottom = reverse ? -pane.scrollTop : pane.scrollHeight - pane.clientHeight - pane.scrollTop;
  return {atBottom: Math.abs(fromBottom) <= 2, reverse, scrollTop: pane.scrollTop, scrollHeight: pane.scrollHeight, clientHeight: pane.clientHeight,
          lines: lines.length, first: visible[0] || null, last: visible[visible.length - 1] || null,
          newest: lines[lines.length - 1] || null};
}"""


def _num(line: str | None) -> int:
    match = re.search(r"line (\d+)", line or "")
    assert match, f"not a numbered line: {line!r}"
    return int(match.group(1))


def _at_bottom(state: dict) -> bool:
    """True when the pane shows its end (within 2 px), whatever the arrangement's scroll origin."""
    return state["atBottom"]


def _wait(read, ok, what: str, timeout: float = 5.0, nudge=None, pause: float = 0.05) -> dict:
    """Poll the pane until ``ok(state)``, calling ``nudge()`` between looks; fail with ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        state = read()
        if ok(state):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout}s: {state}")
        if nudge is not None:
            nudge()
        time.sleep(pause)


def _wheel_until(page, pane, read, delta: int, ok, what: str, timeout: float = 10.0) -> dict:
    """Turn the mouse wheel over the pane, as a user does, until ``ok(state)``.

    Chromium moves a limited distance per wheel event, and the log keeps growing meanwhile, so
    one big event may not get there: keep turning (the pointer re-placed over the pane each time).
    """

    def turn() -> None:
        box = pane.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.wheel(0, delta)

    return _wait(read, ok, what, timeout, nudge=turn, pause=0.15)


def _settled(read, timeout: float = 5.0) -> dict:
    """The pane once a (possibly smooth) wheel scroll has come to rest: same visible lines twice."""
    deadline = time.monotonic() + timeout
    last = read()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = read()
        if (now["first"], now["last"]) == (last["first"], last["last"]):
            return now
        last = now
    raise AssertionError(f"the pane kept moving after the wheel: {last}")


def test_log_pane_follows_and_leaves_a_scrolled_reader_alone(notebook) -> None:
    from playwright.sync_api import expect

    page = notebook.page
    name = notebook.write("browser_log_scroll.ipynb", ["%load_ext skyexec_nb", JOB_CELL])
    notebook.open(name)
    notebook.run_all()

    panel = notebook.cell_output(1).locator(".skx-launch")
    pane = panel.locator(".skx-log")
    expect(panel.locator(".skx-status")).to_contain_text("RUNNING", timeout=60_000)
    # Wait until the pane overflows (more lines than fit), so scrolling means something.
    page.wait_for_function(
        "(el) => el.scrollHeight > el.clientHeight + 100", arg=pane.element_handle(), timeout=30_000
    )
    pane.scroll_into_view_if_needed()
    read = lambda: pane.evaluate(READ_PANE)  # noqa: E731

    # (1) Following: at the bottom, and the last visible line keeps increasing.
    samples = []
    for _ in range(6):
        samples.append(read())
        time.sleep(0.3)
    print("follow:", [(s["scrollTop"], s["scrollHeight"], s["clientHeight"], s["last"]) for s in samples])
    for s in samples:
        assert _at_bottom(s), f"the pane is not at the bottom while following: {s}"
        assert s["last"] == s["newest"], f"the newest line is not the last visible one: {s}"
    shown = [_num(s["last"]) for s in samples]
    assert shown == sorted(shown) and shown[-1] > shown[0] + 10, f"the view does not follow: {shown}"
    pane.screenshot(path=str(ARTIFACTS / "log_scroll_following.png"))

    # (2) The user scrolls to the top (mouse wheel over the pane, as a user does).
    _wheel_until(page, pane, read, -5_000, lambda s: _num(s["first"]) == 1, "the wheel did not reach the top")
    time.sleep(0.2)  # let a smooth-scroll animation finish
    before = read()
    assert _num(before["first"]) == 1, f"the wheel did not reach the top: {before}"
    held = []
    for _ in range(6):
        time.sleep(0.25)
        held.append(read())
    print("scrolled up:", before, [(s["scrollTop"], s["first"], s["last"], s["newest"]) for s in held])
    assert _num(held[-1]["newest"]) >= _num(before["newest"]) + 10, f"no new lines arrived meanwhile: {held[-1]}"
    for s in held:
        assert s["first"] == before["first"] and s["last"] == before["last"], (
            f"the view moved while the user was reading: {before['first']}..{before['last']} "
            f"became {s['first']}..{s['last']} (newest {s['newest']}, scrollTop {s['scrollTop']})"
        )
        assert not _at_bottom(s), f"the view was yanked to the bottom: {s}"
    pane.screenshot(path=str(ARTIFACTS / "log_scroll_reading.png"))

    # (2b) The top edge may be a special case: a reader in the middle of the log stays put too.
    page.mouse.wheel(0, 300)
    middle = _settled(read)
    assert _num(middle["first"]) > 1 and not _at_bottom(middle), f"the wheel did not move down: {middle}"
    held = []
    for _ in range(4):
        time.sleep(0.25)
        held.append(read())
    print("middle:", middle, [(s["scrollTop"], s["first"], s["last"], s["newest"]) for s in held])
    assert _num(held[-1]["newest"]) > _num(middle["newest"]), f"no new lines arrived meanwhile: {held[-1]}"
    for s in held:
        assert (s["first"], s["last"]) == (middle["first"], middle["last"]), (
            f"the view moved while the user was reading: {middle['first']}..{middle['last']} "
            f"became {s['first']}..{s['last']} (newest {s['newest']}, scrollTop {s['scrollTop']})"
        )
    pane.screenshot(path=str(ARTIFACTS / "log_scroll_reading_middle.png"))

    # (3) Back to the bottom: it follows again.
    _wheel_until(page, pane, read, 5_000, lambda s: _at_bottom(s) and s["last"] == s["newest"],
                 "the wheel did not reach the bottom")
    again = []
    for _ in range(5):
        time.sleep(0.3)
        again.append(read())
    print("back at bottom:", [(s["scrollTop"], s["last"], s["newest"]) for s in again])
    running = [s for s in again if _num(s["newest"]) < LINES]
    assert running, "the job ended before the follow-again check; make the job longer"
    for s in again:
        assert _at_bottom(s) and s["last"] == s["newest"], f"the pane stopped following: {s}"
    shown = [_num(s["last"]) for s in again]
    assert shown[-1] > shown[0], f"the view does not follow again: {shown}"
    pane.screenshot(path=str(ARTIFACTS / "log_scroll_following_again.png"))

    expect(panel.locator(".skx-status")).to_contain_text("SUCCEEDED", timeout=30_000)
    final = read()
    assert final["newest"].endswith(f"line {LINES:04d}") and _at_bottom(final), final
