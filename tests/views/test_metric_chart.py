"""The metric chart's data: what it sends the front end (only new points, bounded under a flood),
what the user picks (metrics, x, colour key), the sweep's table, and the static SVG record that
survives ``nbconvert --to html``. Real local jobs and real log files; messages recorded at the comm."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from skyexec_nb.engine.metrics.reader import forget_reader
from skyexec_nb.views import metric_chart
from skyexec_nb.views.chart_data import Decimator, thin
from skyexec_nb.views.metric_chart import MetricChart

LOSS_JOB = 'for i in $(seq 1 40); do echo "step $i loss=$(awk "BEGIN{print 2/$i}") acc=0.$i"; done'


def messages(sent: list, chart: MetricChart) -> list[dict]:
    """Custom messages the chart sent (``{"t": "a"|"reset", ...}``), oldest first."""
    out = []
    for _, comm, data in sent:
        if comm is chart.comm and (data or {}).get("method") == "custom":
            out.append(data["content"])
    return out


def drawn(msgs: list[dict], sid: str = "0") -> dict[str, list[tuple[float, float]]]:
    """What the front end holds after ``msgs``: {metric: [(x, y)]}."""
    data: dict[str, list] = {}
    for m in msgs:
        if m["t"] == "reset":
            data = {}
        for metric, (xs, ys) in m["d"].get(sid, {}).items():
            data.setdefault(metric, []).extend(zip(xs, ys))
    return data


def fake_job(path: Path, job_id: int = 1, extra: dict | None = None, done: bool = True) -> SimpleNamespace:
    return SimpleNamespace(id=job_id, name=f"job{job_id}", log_path=path, extra=extra or {}, done=lambda: done)


@pytest.fixture(autouse=True)
def no_throttle(monkeypatch):
    """Updates are never held back by the 4-per-second limit (tests call update() directly)."""
    monkeypatch.setattr(metric_chart, "MIN_INTERVAL", 0.0)


def test_a_running_jobs_curves_arrive_in_full_with_step_as_x(local_job, wait, sent):
    job = local_job(LOSS_JOB, name="curves")
    chart = MetricChart.for_job(job)
    assert chart.layout.display == "none"  # nothing to draw yet: hidden
    job.wait(60)
    wait(lambda: chart.update(final=True) is False)
    assert chart.metrics == ["loss", "acc"] and chart.shown == ["loss", "acc"]
    assert chart.x_used == "step" and "step" in chart.x_options and chart.layout.display is None
    got = drawn(messages(sent, chart))
    assert [x for x, _ in got["loss"]] == list(range(1, 41))
    assert got["loss"][0] == (1, 2) and got["loss"][-1] == (40, 0.05)
    assert chart.note.startswith("80 points · x: step")
    # job.metrics() gives the same series as plain rows (and as a DataFrame).
    from skyexec_nb.engine.metrics.series import job_metrics
    rows = job_metrics(job)
    assert len(rows) == 40 and rows[-1] == {"step": 40.0, "loss": 0.05, "acc": 0.4, "line": 40.0}
    frame = job_metrics(job, "loss", as_frame=True)
    assert list(frame.columns) == ["step", "loss", "line"] and len(frame) == 40


def test_only_new_points_are_sent_and_a_flood_stays_bounded(tmp_path, sent):
    path = tmp_path / "run.log"
    path.write_text("")
    chart = MetricChart([(fake_job(path, done=False), "flood", {})])
    step = 0
    for _ in range(10):  # 10 bursts of 10,000 lines (100k points), one update each
        with open(path, "a") as f:
            f.write("".join(f"step {step + i} loss={1 / (step + i + 1):.6f}\n" for i in range(10_000)))
        step += 10_000
        chart.update()
    msgs = messages(sent, chart)
    appends = [m for m in msgs if m["t"] == "a"]
    assert appends and all(sum(len(xs) for xs, _ in m["d"]["0"].values()) <= metric_chart.POINTS_PER_MESSAGE
                           for m in appends)
    assert sum(len(json.dumps(m)) for m in msgs) < 200_000  # 100k points cost kilobytes, not megabytes
    assert chart.points_total == 100_000
    got = drawn(msgs)["loss"]
    assert got[-1] == (99_999, 1e-05)  # the newest point always arrives
    assert [x for x, _ in got] == sorted(x for x, _ in got)  # in order, nothing twice
    # A late front end gets a bounded reset from the summary, covering the whole series.
    chart._on_front_end_message(chart, {"t": "hello"}, [])
    reset = messages(sent, chart)[-1]
    xs, ys = reset["d"]["0"]["loss"]
    assert reset["t"] == "reset" and len(xs) <= metric_chart.RESET_POINTS
    assert xs[0] == 0 and xs[-1] == 99_999 and max(ys) == 1.0  # first, last and the peak survive
    # job.metrics() keeps the full series.
    from skyexec_nb.engine.metrics.series import job_metrics
    assert len(job_metrics(fake_job(path))) == 100_000
    forget_reader(path)


def test_updates_are_throttled_to_a_few_per_second(tmp_path, sent, monkeypatch):
    monkeypatch.setattr(metric_chart, "MIN_INTERVAL", 3600.0)
    path = tmp_path / "run.log"
    path.write_text("step 1 loss=1\n")
    chart = MetricChart([(fake_job(path, done=False), "j", {})])
    chart._last = 0.0
    for i in range(2, 50):
        with open(path, "a") as f:
            f.write(f"step {i} loss={1 / i}\n")
        chart.update()
    assert len([m for m in messages(sent, chart) if m["t"] == "a"]) <= 1
    chart.update(final=True)  # the job ended: what is left goes at once
    assert [x for x, _ in drawn(messages(sent, chart))["loss"]] == list(range(1, 50))


def test_non_finite_values_non_numbers_and_single_points_never_break_it(tmp_path, sent):
    path = tmp_path / "run.log"
    path.write_text("step 1 loss=nan acc=abc\nstep 2 loss=inf\nstep 3 loss=0.5 once=7\nstep 4 loss=-inf\n"
                    "step x loss=\n{'loss': }\nstep 5 loss=0.25\n")
    chart = MetricChart([(fake_job(path), "j", {})])
    chart.update(final=True)
    got = drawn(messages(sent, chart))
    assert got["loss"] == [(3, 0.5), (5, 0.25)] and got["once"] == [(3, 7)]
    assert "3 NaN/inf values not drawn" in chart.note
    assert "<polyline" in chart.record_html() and "<circle" in chart.record_html()  # a one-point metric: a dot


def test_picking_metrics_and_x_resends_what_is_drawn(tmp_path, sent):
    path = tmp_path / "run.log"
    path.write_text("".join(f"epoch {i // 10} step {i} loss={1 / (i + 1)} acc={i / 100}\n" for i in range(100)))
    chart = MetricChart([(fake_job(path), "j", {})])
    chart.update(final=True)
    assert chart.x_used == "step" and chart.x_options[:2] == ["step", "epoch"]
    chart.shown = ["acc"]  # the front end's toggle
    last = messages(sent, chart)[-1]
    assert last["t"] == "reset" and list(last["d"]["0"]) == ["acc"]
    chart.x_key = "epoch"  # the front end's x picker
    last = messages(sent, chart)[-1]
    assert last["t"] == "reset" and last["x"] == "epoch" and max(last["d"]["0"]["acc"][0]) == 9
    assert "x: epoch" in chart.note


def test_launch_options_choose_metrics_and_x(tmp_path, sent):
    path = tmp_path / "run.log"
    path.write_text("".join(f"it {i} step={i * 2} loss={1 / (i + 1)} lr=0.1 gpu_mem=3\n" for i in range(10)))
    job = fake_job(path, extra={"metrics": {"keys": ["loss", "lr"], "x": "step"}})
    chart = MetricChart.for_job(job)
    chart.update(final=True)
    assert chart.metrics == ["loss", "lr"] and chart.x_used == "step"
    assert [x for x, _ in drawn(messages(sent, chart))["loss"]] == list(range(0, 20, 2))


def test_sweep_curves_coloured_by_a_grid_key_and_a_table_of_final_and_best(local_job, sent, tmp_path):
    sources = []
    for i, (lr, bs) in enumerate([(0.1, 8), (0.1, 16), (0.01, 8), (0.01, 16)]):
        path = tmp_path / f"{i}.log"
        path.write_text("".join(f"step {s} loss={lr * 10 / s + bs / 100:.4f}\n" for s in range(1, 21)))
        sources.append((fake_job(path, job_id=i + 1), f"LR={lr} BS={bs}", {"LR": lr, "BS": bs}))
    chart = MetricChart(sources, mode="sweep")
    chart.update(final=True)
    assert chart.shown == ["loss"] and chart.color_keys == ["LR", "BS"] and chart.color_key == "LR"
    assert [s["values"] for s in chart.series][0] == {"LR": "0.1", "BS": "8"}
    msgs = messages(sent, chart)
    assert [len(drawn(msgs, sid)["loss"]) for sid in "0123"] == [20] * 4  # one curve per member
    table = chart.table
    assert table["columns"] == ["LR", "BS", "job", "points", "final loss", "best loss"] and table["lower"] is True
    best = {tuple(r[:2]): r[5] for r in table["rows"]}
    assert best[(0.01, 8)] == min(best.values())  # loss: lower is better
    record = chart.record_html()
    assert record.index("<td") and "colour: LR" in record and record.count("<polyline") == 4
    first_row = re.search(r"<tr><td[^>]*>([^<]*)</td><td[^>]*>([^<]*)</td>", record)
    assert first_row.groups() == ("0.01", "8")  # the record's table is sorted by best loss


def test_the_record_is_a_static_svg_that_survives_nbconvert_to_html(tmp_path, sent):
    import nbformat
    from nbconvert import HTMLExporter

    path = tmp_path / "run.log"
    path.write_text("".join(f"step {i} loss={1 / i:.4f}\n" for i in range(1, 30)))
    chart = MetricChart([(fake_job(path), "j", {})])
    chart.update(final=True)
    record = chart.record_html()
    assert "<script" not in record and "<svg" in record and "var(--jp-ui-font-color" in record
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("job")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": record, "text/plain": "chart"})]
    nb.cells.append(cell)
    body, _ = HTMLExporter().from_notebook_node(nb)
    polyline = re.search(r'<polyline[^>]* points="([^"]+)"', body)  # nbconvert orders attributes
    assert polyline and len(polyline.group(1).split()) == 29
    assert "loss: last 0.0345, best 0.0345 (29 points)" in chart.record_text()


def test_decimator_and_thin_keep_extremes_and_stay_bounded():
    dec = Decimator(size=50)
    ys = [math.sin(i / 1000) + (9.0 if i == 54_321 else 0.0) for i in range(100_000)]
    for i, y in enumerate(ys):
        dec.add(float(i), y)
    pts = dec.points()
    assert len(pts) <= 4 * 50 and pts[0][0] == 0 and pts[-1][0] == 99_999
    assert (54_321, max(ys)) in pts and min(y for _, y in pts) == min(ys)  # the one spike survives
    assert [x for x, _ in pts] == sorted(x for x, _ in pts)
    assert len(thin([(float(i), float(i % 7)) for i in range(10_000)], 100)) <= 100


def test_launch_panel_shows_the_chart_and_its_record(local_job, wait):
    from skyexec_nb.views.launch_panel import LaunchPanel

    job = local_job(LOSS_JOB, name="panel-curves")
    panel = LaunchPanel(job)
    wait(lambda: panel.status is not None and panel.status.is_terminal and not panel._refresher.is_registered(panel),
         timeout=60)
    assert panel.chart in panel.children and panel.chart.metrics == ["loss", "acc"]
    text, body, _ = panel.record_parts()
    assert "Metrics (x: step)" in text and "loss: last 0.05" in text
    assert body.count("<svg") == 2 and "<script" not in body
    panel.close()
