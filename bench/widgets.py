"""What the widgets cost the kernel: picker construction, log-flood traffic and CPU, RSS growth.

1. Picker construction in a fresh process (imports included and not), and whether ``sky`` was
   imported (it must not be).
2. A local job printing as fast as it can for a few seconds while a LaunchPanel follows it:
   comm messages per second (all widgets, and the log pane alone, counted by a stand-in comm)
   and this process's CPU (the kernel's, i.e. ticker + widget serialisation); the log pane's
   bytes per second to the front end (JSON as sent; goal <= 64 KiB/s at <= 10 msgs/s) and the
   lines lost on disk (numbered lines: last number minus lines in the file; goal 0).
3. RSS growth of this process while a panel follows a 1,000,000-line job.

Measures only; asserts nothing. Usage: ``python bench/widgets.py [--runs N] [--lines N]``.
Runs in a temporary SKYEXEC_NB_HOME.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

PICKER = """
import sys, time
t0 = time.perf_counter()
from skyexec_nb.model.executor import SkyExecutor
from skyexec_nb.views.picker import ResourcePicker
t1 = time.perf_counter()
p = ResourcePicker(SkyExecutor(gpus="A100:8", env_vars={"HF_TOKEN": "x"}), command="python train.py", price_service=False)
t2 = time.perf_counter()
p2 = ResourcePicker(SkyExecutor(), command="echo", price_service=False)
t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, int(any(m == "sky" or m.startswith("sky.") for m in sys.modules)))
"""


def bench_picker(runs: int) -> None:
    rows = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", PICKER], capture_output=True, text=True, check=True).stdout
        rows.append([float(x) for x in out.split()])
    imp, first, second, sky = (statistics.median(col) for col in zip(*rows))
    print(f"picker: imports {imp * 1000:.0f} ms, first picker {first * 1000:.0f} ms, "
          f"next picker {second * 1000:.0f} ms (median of {runs} fresh processes); "
          f"sky imported: {'YES' if sky else 'no'}")


class CountingComm:
    """Stand-in comm: counts messages (and bytes) per comm."""

    kernel = "stand-in"
    total = 0
    total_bytes = 0

    def __init__(self, **kwargs) -> None:
        self.comm_id = kwargs.get("comm_id") or os.urandom(8).hex()
        self.count = 0
        self.bytes = self.stream_bytes = 0
        if kwargs.get("data"):  # the open message (the widget's whole state)
            self.bytes += len(json.dumps(kwargs["data"], default=str))

    def on_msg(self, callback) -> None:
        pass

    def send(self, data=None, metadata=None, buffers=None) -> None:
        self.count += 1
        CountingComm.total += 1
        CountingComm.total_bytes += len(repr(data))
        size = len(json.dumps(data, default=str)) + sum(len(b) for b in buffers or ())  # as sent (JSON)
        self.bytes += size
        if "_esm" not in ((data or {}).get("state") or {}):  # the front-end module goes once per widget
            self.stream_bytes += size

    def close(self, *args, **kwargs) -> None:
        pass


def follow(command: str, name: str, sample_rss: bool = False) -> dict:
    """Launch ``command`` locally, follow it with a LaunchPanel until drained; return figures."""
    import psutil

    from skyexec_nb.engine.jobs import launcher
    from skyexec_nb.model.executor import SkyExecutor
    from skyexec_nb.views.launch_panel import LaunchPanel

    proc = psutil.Process()
    CountingComm.total = CountingComm.total_bytes = 0
    rss0, cpu0, wall0 = proc.memory_info().rss, proc.cpu_times(), time.monotonic()
    job = launcher.launch(SkyExecutor(), command, backend="local", name=name)
    panel = LaunchPanel(job)
    peak = rss0
    while panel.status is None or not panel.status.is_terminal or panel._refresher.is_registered(panel):
        time.sleep(0.05)
        if sample_rss:
            peak = max(peak, proc.memory_info().rss)
    wall = time.monotonic() - wall0
    cpu1 = proc.cpu_times()
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    lines = numbered_lines = 0
    numbered: list[int] = []  # the numbers of "line N" lines (the flood's): the last one is how many it printed
    with open(job.log_path, "rb") as f:
        for raw in f:
            lines += 1
            words = raw.split()
            if b"line" in words and words.index(b"line") + 1 < len(words) and words[words.index(b"line") + 1].isdigit():
                numbered_lines += 1
                numbered = [int(words[words.index(b"line") + 1])]
    pane = panel.log_pane.comm
    result = dict(wall=wall, cpu=cpu, lines=lines, msgs=CountingComm.total, pane_msgs=pane.count,
                  pane_bytes=pane.bytes, pane_stream_bytes=pane.stream_bytes,
                  lost=(numbered[-1] - numbered_lines) if numbered else None,
                  bytes=CountingComm.total_bytes, rss_growth=(proc.memory_info().rss - rss0) / 2**20,
                  peak_growth=(peak - rss0) / 2**20, status=panel.status.value)
    panel.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes for the picker timing")
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines of the RSS job")
    parser.add_argument("--flood-seconds", type=float, default=5.0, help="length of the flood job")
    args = parser.parse_args()
    os.environ["SKYEXEC_NB_HOME"] = tempfile.mkdtemp(prefix="skx-bench-")
    bench_picker(args.runs)

    import comm

    comm.create_comm = lambda **kwargs: CountingComm(**kwargs)
    flood = (f"python3 -c \"import time,sys\nend=time.time()+{args.flood_seconds}\ni=0\n"
             f"while time.time()<end:\n    i+=1; sys.stdout.write(f'line {{i}} ' + 'x'*60 + chr(10))\"")
    r = follow(flood, "flood")
    print(f"flood: {r['lines']:,} lines in {r['wall']:.1f} s ({r['lines'] / r['wall']:,.0f} lines/s) -> "
          f"{r['msgs'] / r['wall']:.1f} comm msgs/s in all, {r['pane_msgs'] / r['wall']:.1f}/s to the log pane, "
          f"{r['bytes'] / r['wall'] / 1024:.0f} KiB/s; kernel CPU {100 * r['cpu'] / r['wall']:.1f}% of one core")
    print(f"log pane under the flood: {r['pane_stream_bytes'] / r['wall'] / 1024:.1f} KiB/s to the front end "
          f"({r['pane_bytes'] / r['wall'] / 1024:.1f} KiB/s with the one-time front-end module), "
          f"{r['pane_msgs'] / r['wall']:.1f} msgs/s; lines lost on disk: {r['lost']}")
    r = follow(f"seq 1 {args.lines}", "million", sample_rss=True)
    print(f"rss: {r['lines']:,}-line job followed in {r['wall']:.1f} s: RSS growth {r['rss_growth']:.1f} MB "
          f"(peak {r['peak_growth']:.1f} MB), {r['pane_msgs']} pane messages, kernel CPU {r['cpu']:.2f} s")
    from skyexec_nb.engine.jobs import launcher

    launcher.shutdown_for_tests()


if __name__ == "__main__":
    main()
