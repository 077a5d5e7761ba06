"""What a user sees of each view at a glance, in JupyterLab Light and Dark, 1,000 px and 700 px wide:
the picker (an invalid field, GPUs asked of the local backend), a launch panel, a sweep panel and
the jobs table.

Real JupyterLab, real kernel, real headless Chromium (see conftest.py); jobs run on the local
backend. For every theme x width: nothing is wider than its container (no horizontal scrollbar),
no label is cut off, the disabled reason and the stale marker are visible, the sweep table's
headers are the grid's values, and text has enough contrast with what is behind it. Screenshots
of each view go to test-artifacts/glance_<view>_<theme>_<width>.png.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SETUP = '%load_ext skyexec_nb\n%config SkyLaunchMagics.default_backend = "local"'
PICKER = """\
from skyexec_nb import ResourcePicker, SkyExecutor
ex = SkyExecutor(gpus="A100:8")
picker = ResourcePicker(ex, backend="local", command="python train.py --epochs 3")
picker.inputs["ports"].value = "80800"   # invalid: Launch says why, the preview is marked stale
picker.advanced.value = True
picker"""
LAUNCH = """\
%%skylaunch --name glance-job --out gj
echo "epoch 1 loss 0.9"
echo "done\""""
SWEEP = """\
%%skylaunch --sweep LR=1e-3,3e-4 --sweep BS=32,64 --name lr-scan --out grid
echo "LR=$LR BS=$BS"
if [ "$BS" = 64 ] && [ "$LR" = 3e-4 ]; then exit 2; fi"""
WAIT = "gj.wait(60); grid.wait(60); print('ready')"
JOBS = "%skyjobs"
CELLS = [SETUP, PICKER, LAUNCH, SWEEP, WAIT, JOBS]
VIEWS = {"picker": (1, ".skx-picker"), "launch": (2, ".skx-launch"), "sweep": (3, ".skx-sweep"),
         "jobs": (5, ".skx-jobs")}
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
WIDTHS = (1000, 700)

#: Elements wider than their box, per view root: [] when everything fits.
OVERFLOWS = """root => {
  const bad = [];
  const out = root.closest('.jp-OutputArea-output') || root.parentElement;
  const limit = out.getBoundingClientRect().right + 1;
  if (root.scrollWidth > root.clientWidth + 1) bad.push(`root scrollWidth ${root.scrollWidth} > ${root.clientWidth}`);
  if (out.scrollWidth > out.clientWidth + 1) bad.push(`output area scrollWidth ${out.scrollWidth} > ${out.clientWidth}`);
  for (const el of root.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > limit && getComputedStyle(el).display !== 'none')
      bad.push(`${el.tagName}.${[...el.classList].join('.')} ends at ${Math.round(r.right)} > ${Math.round(limit)}`);
  }
  return bad.slice(0, 5);
}"""

#: Labels and table cells whose text does not fit their box (cut off, ellipsis, spilling into the next cell).
CUT_LABELS = """root => [...root.querySelectorAll('.skx-form-label, .skx-form-label .widget-html-content, .skx-th, '
                                        + '.skx-grid-table > *, .skx-grid-table > * .widget-html-content')]
  .filter(el => el.offsetParent !== null && (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1))
  .map(el => el.textContent.trim().slice(0, 40))"""

#: Short items that must stay on one line (a state, a count, a time, a header), split over two.
SPLIT = """root => [...root.querySelectorAll('.skx-status-pill, .skx-sweep-count, .skx-jobs-started span, .skx-th b')]
  .filter(el => el.offsetParent !== null && el.getClientRects().length > 1).map(el => el.textContent.trim())"""

#: Text elements whose contrast with the colour behind them is below 4.5 (WCAG AA).
LOW_CONTRAST = """(root, selector) => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
                               return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const behind = el => { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor);
                           if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3); }
                         return [255, 255, 255]; };
  const bad = [];
  for (const el of root.querySelectorAll(selector)) {
    if (!el.offsetParent || !el.textContent.trim()) continue;
    const a = lum(rgb(getComputedStyle(el).color)), b = lum(behind(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) bad.push(`${el.textContent.trim().slice(0, 30)}: ${ratio.toFixed(2)}`);
  }
  return bad.slice(0, 5);
}"""
TEXT = (".skx-form-label, .skx-jobs-name, .skx-jobs-resources, .skx-th, .skx-sweep-cell, .skx-launch-reason span, "
        ".skx-yaml pre, .skx-jobs-summary, .skx-sweep-title b")


def set_theme(page, theme: str) -> None:
    page.evaluate("t => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})", theme)
    light = "true" if "Light" in theme else "false"
    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{light}'")
    page.wait_for_timeout(500)  # the theme's stylesheet applies after the attribute flips


def check_views(page, roots: dict, where: str, prefix: str, text: str = TEXT, split: bool = True) -> list[str]:
    """Screenshot each view root (test-artifacts/<prefix>_<view>_<where>.png) and list what a user
    would see wrong: wider than its container, labels cut off, items split over two lines, low contrast."""
    problems = []
    for name, root in roots.items():
        root.scroll_into_view_if_needed()
        root.screenshot(path=str(ARTIFACTS / f"{prefix}_{name}_{where.replace(' ', '_').replace('px', '')}.png"))
        if bad := root.evaluate(OVERFLOWS):
            problems.append(f"{where} {name}: wider than its container: {bad}")
        if cut := root.evaluate(CUT_LABELS):
            problems.append(f"{where} {name}: labels cut off: {cut}")
        if split and (parts := root.evaluate(SPLIT)):
            problems.append(f"{where} {name}: split over two lines: {parts}")
        if low := root.evaluate(LOW_CONTRAST, text):
            problems.append(f"{where} {name}: low contrast: {low}")
    return problems


def test_views_at_a_glance_in_both_themes_and_widths(notebook) -> None:
    from playwright.sync_api import expect

    page = notebook.page
    notebook.open(notebook.write("glance.ipynb", CELLS))
    notebook.collapse_side_panels()
    notebook.run_all()
    expect(notebook.cell_output(4)).to_contain_text("ready")
    roots = {name: notebook.cell_output(cell).locator(css).first for name, (cell, css) in VIEWS.items()}
    sweep = roots["sweep"]
    expect(sweep.locator(".skx-sweep-cell-failed")).to_have_count(1)
    expect(roots["jobs"].locator(".skx-jobs-group")).not_to_have_count(0)
    gpu_free = shutil.which("nvidia-smi") is None
    problems = []
    for theme_key, theme in THEMES.items():
        set_theme(page, theme)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 2600})  # tall: whole views on screen
            page.wait_for_timeout(400)  # JupyterLab re-lays out the notebook on resize
            where = f"{theme_key} {width}px"
            problems += check_views(page, roots, where, "glance")

            picker = roots["picker"]
            reason = picker.locator(".skx-launch-reason")
            expect(reason).to_be_visible()
            expect(reason).to_contain_text("Launch is disabled: fix Ports first")
            launch_box = picker.locator(".skx-launch-button").bounding_box()
            reason_box = reason.bounding_box()
            assert abs(reason_box["y"] - launch_box["y"]) < 40 or reason_box["y"] < launch_box["y"] + 60, where  # next to it
            expect(picker.locator(".skx-launch-button")).to_be_disabled()
            expect(picker.locator(".skx-yaml-stale")).to_be_visible()
            expect(picker.locator(".skx-yaml-stale")).to_contain_text("Out of date")
            expect(picker.locator(".skx-price-local")).to_contain_text("Runs here, on this machine")
            expect(picker.locator(".skx-price")).to_be_hidden()
            if gpu_free:
                expect(picker.locator(".skx-gpu-warning")).to_contain_text("no NVIDIA GPU")
            labels = picker.locator(".skx-form-label:visible")
            xs = {round(labels.nth(i).bounding_box()["x"]) for i in range(labels.count())}
            assert len(xs) == 1, f"{where}: labels start at several x positions: {xs}"
            spot = picker.locator(".skx-field-use-spot input[type=checkbox]").bounding_box()
            field_x = picker.locator(".skx-field-cloud").bounding_box()["x"]
            assert spot["x"] >= field_x - 2, f"{where}: the spot checkbox is in the label column"
            fields = [picker.locator(f".skx-field-{f}").bounding_box()["x"] for f in ("cloud", "region", "cpus")]
            assert max(fields) - min(fields) <= 2, f"{where}: main and Advanced fields start at {fields}"

            assert [h.strip() for h in sweep.locator(".skx-sweep-rowhead").all_inner_texts()] == ["1e-3", "3e-4"]
            assert [h.strip() for h in sweep.locator(".skx-sweep-colhead").all_inner_texts()] == ["32", "64"]
            expect(sweep.locator(".skx-sweep-title")).to_contain_text("lr-scan")
            expect(sweep.locator(".skx-sweep-cell-failed")).to_contain_text("exit 2")
    assert not problems, "\n".join(problems)

    # A cell opens its job's panel; the jobs table filters by name.
    sweep.locator(".skx-sweep-cell-failed").click()
    expect(sweep.locator(".skx-launch .skx-launch-title")).to_contain_text("lr-scan_LR-3e-4_BS-64")
    jobs = roots["jobs"]
    jobs.locator(".skx-jobs-filter-name input").fill("glance")
    expect(jobs.locator(".skx-jobs-name.skx-jobs-row")).to_have_count(1)
    expect(jobs.locator(".skx-jobs-name.skx-jobs-row")).to_contain_text("glance-job")
    jobs.screenshot(path=str(ARTIFACTS / "glance_jobs_filtered.png"))
