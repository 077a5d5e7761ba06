"""The log pane in a real browser: selectable while it grows, colours, progress bars, node ranks,
copy and download; screenshots at two widths in JupyterLab Light and Dark.

Two local jobs (``%%skylaunch``): one prints coloured lines, a numbered line every ~60 ms and,
in the middle, a progress bar redrawn with ``\\r``; one runs on two nodes. Everything asserted
is read from the page as rendered; screenshots go to test-artifacts/log_pane_*.png.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SETUP = '%load_ext skyexec_nb\n%config SkyLaunchMagics.default_backend = "local"'

#: Numbered lines until the test creates the gate file, then a progress bar, then a few more lines.
LIVE_CELL = r"""%%skylaunch --name log-pane --out live
printf '\033[31mred alert\033[0m and plain text\n'
printf '\033[1;92mbright bold green\033[0m \033[38;5;208morange 256\033[0m \033[38;2;120;80;200mtruecolor\033[0m\n'
i=0
while [ ! -e GATE ] && [ $i -lt 1500 ]; do i=$((i + 1)); printf 'tick %04d <b>not bold</b>\n' "$i"; sleep 0.08; done
for p in $(seq 0 5 100); do printf '\rdownloading %3d%%' "$p"; sleep 0.02; done
printf '\n'
for j in $(seq 1 20); do printf 'after %04d\n' "$j"; sleep 0.05; done
echo all done"""

#: A quiet job whose log file the test itself writes a progress bar to, piece by piece, as
#: SkyPilot's log streaming does (it flushes at every ``\r``; the local backend holds a line
#: until its newline, so the bar above arrives in one piece).
BAR_CELL = r"""%%skylaunch --name bar --out bar
while [ ! -e GATE ]; do sleep 0.1; done"""

NODES_CELL = r"""%%skylaunch --nodes 2 --name two-nodes --out two_nodes
for i in 1 2 3; do echo "step $i on node $SKYPILOT_NODE_RANK"; done
[ "$SKYPILOT_NODE_RANK" = 1 ] && printf '\033[33mwarning from the worker\033[0m\n'
true"""

CELLS = [SETUP, LIVE_CELL, BAR_CELL, NODES_CELL]
LIVE, BAR, NODES = 1, 2, 3

#: The pane's lines as rendered: visible line texts, the newest line, and the scroll position.
READ_LINES = """(pane) => {
  const lines = [...pane.querySelectorAll('pre.skx-log-text > .skx-line')].filter(l => !l.hidden);
  return {texts: lines.map(l => l.textContent.replace(/\\n$/, '')), count: lines.length};
}"""

SELECT_STATE = """() => {
  const sel = getSelection();
  return {text: sel.toString(), connected: sel.rangeCount > 0 && sel.getRangeAt(0).startContainer.isConnected};
}"""


def _newest_tick(pane) -> int:
    texts = pane.evaluate(READ_LINES)["texts"]
    ticks = [int(m.group(1)) for t in texts if (m := re.match(r"tick (\d+)", t))]
    return max(ticks, default=0)


def _set_theme(page, theme: str) -> None:
    page.evaluate("(t) => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})", theme)
    light = "true" if theme == "JupyterLab Light" else "false"
    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{light}'", timeout=30_000)
    time.sleep(0.5)  # let the theme's CSS variables apply


def _screenshots(page, panel, label: str) -> None:
    """The panel at 1,000 px and 700 px page widths, in Light and Dark."""
    for theme, short in (("JupyterLab Light", "light"), ("JupyterLab Dark", "dark")):
        _set_theme(page, theme)
        for width in (1000, 700):
            page.set_viewport_size({"width": width, "height": 1000})
            time.sleep(0.4)  # let the layout settle
            panel.scroll_into_view_if_needed()
            panel.screenshot(path=str(ARTIFACTS / f"log_pane_{label}_{width}_{short}.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})
    _set_theme(page, "JupyterLab Light")


def test_log_pane_selection_colours_progress_ranks_copy_and_download(notebook, tmp_path) -> None:
    from playwright.sync_api import expect

    page = notebook.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=notebook.lab.url)
    gate = tmp_path / "gate"
    name = notebook.write("browser_log_pane.ipynb", [c.replace("GATE", str(gate)) for c in CELLS])
    notebook.open(name)
    notebook.run_all()

    live = notebook.cell_output(LIVE).locator(".skx-launch")
    pane = live.locator(".skx-log")
    expect(live.locator(".skx-status")).to_contain_text("RUNNING", timeout=60_000)
    expect(pane).to_contain_text("tick 0005", timeout=30_000)
    read = lambda: pane.evaluate(READ_LINES)  # noqa: E731

    # ANSI colours: the red words are in a span whose colour differs from the text around it;
    # the markup-looking text is shown as text.
    red = pane.locator(".skx-line", has_text="red alert").first
    colours = red.evaluate("""(line) => {
      const span = [...line.querySelectorAll('span')].find(s => s.textContent === 'red alert');
      return {red: span && getComputedStyle(span).color, plain: getComputedStyle(line.closest('pre')).color};
    }""")
    assert colours["red"] and colours["red"] != colours["plain"], colours
    styled = pane.evaluate("""(pane) => Object.fromEntries([...pane.querySelectorAll('.skx-line span')]
      .map(s => [s.textContent, {weight: getComputedStyle(s).fontWeight, color: getComputedStyle(s).color}]))""")
    assert int(styled["bright bold green"]["weight"]) >= 600, styled
    assert styled["bright bold green"]["color"] not in (colours["plain"], colours["red"]), styled
    assert styled["truecolor"]["color"] == "rgb(120, 80, 200)", styled
    assert styled["orange 256"]["color"] == "rgb(255, 135, 0)", styled
    expect(pane).to_contain_text("tick 0001 <b>not bold</b>")
    assert pane.locator("b").count() == 0

    # Selection: the reader scrolls up and selects the first line with the mouse; for >= 2 s of
    # updates (new lines keep arriving) the selection stays what they selected.
    box = pane.bounding_box()
    for _ in range(40):
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.wheel(0, -4000)
        time.sleep(0.1)
        if red.evaluate("(l) => { const b = l.getBoundingClientRect(), p = l.closest('.skx-log').getBoundingClientRect();"
                        " return b.top >= p.top && b.bottom <= p.bottom; }"):
            break
    line_box = red.bounding_box()
    y = line_box["y"] + line_box["height"] / 2
    page.mouse.move(line_box["x"] + 2, y)
    page.mouse.down()
    page.mouse.move(line_box["x"] + 2 + 60, y, steps=5)
    page.mouse.move(line_box["x"] + 400, y, steps=5)
    page.mouse.up()
    chosen = page.evaluate(SELECT_STATE)
    assert "red alert" in chosen["text"], chosen
    first_tick = _newest_tick(pane)
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        now = page.evaluate(SELECT_STATE)
        assert now == chosen, f"the selection changed while the log grew: {chosen} became {now}"
        time.sleep(0.1)
    assert _newest_tick(pane) >= first_tick + 10, "no new lines arrived while the selection was checked"
    assert page.evaluate(SELECT_STATE) == chosen
    pane.screenshot(path=str(ARTIFACTS / "log_pane_selection.png"))
    page.evaluate("() => getSelection().removeAllRanges()")

    # Progress bars: one line that updates in place. First a bar written to the log while the
    # pane watches (one piece per update), then the job's own bar (one piece): never two lines.
    bar = notebook.cell_output(BAR).locator(".skx-launch")
    bar_pane = bar.locator(".skx-log")
    expect(bar.locator(".skx-status")).to_contain_text("RUNNING", timeout=60_000)
    bar_log = Path(eval(notebook.kernel_eval("str(bar.log_path)")))

    with bar_log.open("a") as f:  # each piece is written once the pane shows the previous one
        f.write("epoch 1\n")
        for pct in range(0, 101, 20):
            f.write(f"\rtraining {pct:3d}%|{'#' * (pct // 10):10s}|")
            f.flush()
            expect(bar_pane).to_contain_text(f"training {pct:3d}%", timeout=30_000)
            texts = bar_pane.evaluate(READ_LINES)["texts"]
            assert texts == ["epoch 1", f"training {pct:3d}%|{'#' * (pct // 10):10s}|"], texts
        f.write("\nepoch 2\n")
    expect(bar_pane).to_contain_text("epoch 2")
    assert bar_pane.evaluate(READ_LINES)["texts"][-3:] == ["epoch 1", "training 100%|##########|", "epoch 2"]
    bar_pane.screenshot(path=str(ARTIFACTS / "log_pane_progress.png"))

    gate.touch()
    expect(pane).to_contain_text("after 0002", timeout=30_000)
    bars = [t for t in read()["texts"] if "downloading" in t]
    assert bars == ["downloading 100%"], bars

    # Copy: the lines shown go to the clipboard.
    expect(pane).to_contain_text("all done", timeout=30_000)
    live.locator(".skx-log-copy").click()
    expect(live.locator(".skx-log-note")).to_contain_text("Copied")
    clip = page.evaluate("() => navigator.clipboard.readText()")
    assert clip.splitlines() == read()["texts"] and "\x1b" not in clip, clip[-300:]  # what is shown, plain
    assert clip.endswith("after 0020\nall done\n") and "tick 0005 <b>not bold</b>" in clip

    # Download: the full log file, streamed through the kernel.
    with page.expect_download(timeout=60_000) as info:
        live.locator(".skx-log-download").click()
    downloaded = Path(info.value.path()).read_text()
    first = downloaded.splitlines()[0]  # the file as written: SkyPilot's prefix and colour codes
    assert first.endswith(") \x1b[31mred alert\x1b[0m and plain text") and "tick 0001" in downloaded
    assert info.value.suggested_filename.endswith(".log")

    # Ranks: short prefixes, and the selector shows one node's lines only.
    nodes = notebook.cell_output(NODES).locator(".skx-launch")
    npane = nodes.locator(".skx-log")
    expect(nodes.locator(".skx-status")).to_contain_text("SUCCEEDED", timeout=60_000)
    expect(npane).to_contain_text("[1] step 3 on node 1")
    expect(npane).to_contain_text("[0] step 3 on node 0")
    assert "rank=" not in npane.inner_text()
    select = nodes.locator("select.skx-log-rank-filter")
    expect(select).to_be_visible()
    select.select_option("1")
    texts = npane.evaluate(READ_LINES)["texts"]
    assert texts and all(t.startswith("[1] ") for t in texts), texts
    assert "[1] warning from the worker" in texts
    select.select_option("0")
    texts = npane.evaluate(READ_LINES)["texts"]
    assert texts and all(t.startswith("[0] ") for t in texts), texts
    select.select_option("")
    assert len(npane.evaluate(READ_LINES)["texts"]) == 7

    expect(live.locator(".skx-status")).to_contain_text("SUCCEEDED", timeout=60_000)
    expect(pane).to_contain_text("all done", timeout=30_000)
    _screenshots(page, live, "live")
    _screenshots(page, nodes, "nodes")
