"""Metrics from logs: parse throughput, kernel CPU and bytes to the front end under 1,000 lines/s.

    python bench/metrics.py [SECONDS]

1. Parse: a 1,000,000-line log (SkyPilot's ``(train, pid=N)`` prefix on every line, a metric line
   ``step N loss=... lr=...`` every 10th, ordinary log lines between) through ``MetricReader``.
   Goal >= 500k lines/s.
2. Live: a local job prints 1,000 metric lines/s for SECONDS (default 15) while this process runs
   what the launch panel runs for its chart (``MetricChart.update`` from a 10/s ticker, messages
   serialized and handed to a comm stand-in). Kernel CPU = this process's CPU time / wall time.
   Goal <= 5 % of one core, <= 32 KiB/s sent.
Figures are for this machine as it is (CPU time is less noisy than wall time on a loaded one).
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path


def parse_throughput(lines: int = 1_000_000) -> None:
    from skyexec_nb.engine.metrics.reader import MetricReader

    out = []
    for i in range(lines):
        if i % 10 == 0:
            out.append(f"(train, pid=4242) step {i // 10} loss={1 / (1 + i):.5f} lr=3e-4 grad_norm=1.25")
        else:
            out.append(f"(train, pid=4242) 2024-05-01 12:00:{i % 60:02d} INFO loaded batch {i} of shard 7 in 0.0{i % 9}s")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.log"
        path.write_text("\n".join(out) + "\n")
        size = path.stat().st_size
        reader = MetricReader(path)
        wall, cpu = time.perf_counter(), time.process_time()
        while reader.poll():
            pass
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert len(reader.rows) == lines // 10 and reader.lines == lines
    print(f"parse: {lines:,} lines ({size / 2**20:.0f} MiB, {len(reader.rows):,} metric rows): "
          f"{lines / wall:,.0f} lines/s wall ({wall:.2f} s), {lines / cpu:,.0f} lines/s CPU ({cpu:.2f} s) "
          f"[goal >= 500,000: {'met' if lines / cpu >= 500_000 else 'NOT met'}]")


class _Comm:
    """A comm stand-in: serializes each message as the kernel would and counts its bytes."""

    kernel = "stand-in"

    def __init__(self, **kwargs) -> None:
        self.comm_id = kwargs.get("comm_id") or uuid.uuid4().hex
        self.bytes = 0

    def on_msg(self, callback) -> None:
        pass

    def send(self, data=None, metadata=None, buffers=None) -> None:
        self.bytes += len(json.dumps(data, separators=(",", ":")))

    def close(self, *args, **kwargs) -> None:
        pass


def live_cost(seconds: float = 15.0) -> None:
    import comm

    comms: list[_Comm] = []
    comm.create_comm = lambda **kw: comms.append(_Comm(**kw)) or comms[-1]
    home = tempfile.mkdtemp(prefix="skx-bench-")
    os.environ["SKYEXEC_NB_HOME"] = home
    from skyexec_nb.engine.api import launch
    from skyexec_nb.model.executor import SkyExecutor
    from skyexec_nb.views.metric_chart import MetricChart

    n = int(seconds * 1000)
    script = ("import time, math, sys\nt0 = time.time()\n"
              f"for i in range({n}):\n"
              "    print(f'step {i} loss={2 * math.exp(-i / 5000) + 0.1:.5f} acc={i / " + str(n) + ":.4f}')\n"
              "    if i % 100 == 99:\n"
              "        sys.stdout.flush(); time.sleep(max(0.0, t0 + (i + 1) / 1000 - time.time()))\n")
    script_path = Path(home) / "flood.py"
    script_path.write_text(script)
    job = launch(SkyExecutor(), f"python3 -u {script_path}", name="flood", backend="local")
    chart = MetricChart.for_job(job)
    while not job.log_path.exists() or job.log_path.stat().st_size == 0:
        time.sleep(0.05)
    wall, cpu = time.perf_counter(), time.process_time()
    while not job.done():
        chart.update()
        time.sleep(0.1)  # the ticker's period
    chart.update(final=True)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    sent = sum(c.bytes for c in comms)
    rows = len(job.metrics())
    assert rows >= n, f"the job printed {rows} metric lines, not {n}: {job.status} {job.tail(5)}"
    print(f"live: {rows:,} metric lines in {wall:.1f} s ({rows / wall:,.0f}/s); kernel CPU {100 * cpu / wall:.1f} % "
          f"of one core [goal <= 5 %: {'met' if cpu / wall <= 0.05 else 'NOT met'}]; "
          f"{sent / wall / 1024:.1f} KiB/s to the front end in {chart.sent_messages} messages "
          f"[goal <= 32 KiB/s: {'met' if sent / wall <= 32 * 1024 else 'NOT met'}]; "
          f"{chart.points_total:,} points drawn from bounded summaries")


if __name__ == "__main__":
    parse_throughput()
    live_cost(float(sys.argv[1]) if len(sys.argv) > 1 else 15.0)
