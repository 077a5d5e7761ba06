"""Benchmark: time until a price is shown, and the longest main-thread stall while prices are computed.

Writes the small test catalog to a temp dir (HOME and SKY_RUNTIME_DIR isolated), then for each mode
of ``PriceService`` runs a fresh interpreter that requests prices while a ticker thread (standing in
for the kernel's main thread) sleeps 1 ms at a time and records how late it wakes up.
Phases: ``cold`` (first look-up: starts the worker / imports sky), ``new fields`` (catalog cached),
``cached`` (same fields again).

Then, for a first-time user (empty catalog dir, subprocess mode), with a local stand-in of SkyPilot's
catalog host (``CatalogHost``, ``SKYEXEC_NB_CATALOG_URL``): time to "fetching prices…", to the first
price (worker start + fetch), of the same fields again (cached) and of new fields; and with the host
down, the same asks (the first one ends on the "could not fetch … (offline?)" line). Prints figures; no asserts.

    python bench/price.py
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

CHILD = r"""
import json, sys, threading, time
from skyexec_nb.engine.pricing.service import PriceService

class Ticker(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True); self.worst = 0.0; self.stop = False
    def reset(self): self.worst = 0.0
    def run(self):
        while not self.stop:
            t = time.perf_counter(); time.sleep(0.001)
            self.worst = max(self.worst, time.perf_counter() - t - 0.001)

mode = sys.argv[1]
ticker = Ticker(); ticker.start(); time.sleep(0.2); ticker.reset()
svc = PriceService(mode=mode, debounce=0.0, timeout=120)
out = {}
for phase, acc, n in (("cold", "A100:8", 1), ("new fields", "H100:8", 2), ("cached", "H100:8", 2)):
    ev = threading.Event(); ticker.reset()
    t0 = time.perf_counter()
    svc.request({"resources": {"accelerators": acc}, "num_nodes": n}, lambda a: ev.set())
    ev.wait(120)
    out[phase] = {"shown_s": time.perf_counter() - t0, "stall_ms": ticker.worst * 1000}
ticker.reset(); time.sleep(0.5)
out["idle"] = {"shown_s": 0.0, "stall_ms": ticker.worst * 1000}
out["sky_imported_here"] = "sky" in sys.modules
out["worker_import_s"] = svc._worker.import_s if svc._worker else None
svc.close(); ticker.stop = True
print(json.dumps(out))
"""


FETCH_CHILD = r"""
import json, sys, threading, time
from skyexec_nb.engine.pricing.service import PriceService
from skyexec_nb.views.price_line import describe

class Ticker(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True); self.worst = 0.0; self.stop = False
    def run(self):
        while not self.stop:
            t = time.perf_counter(); time.sleep(0.001)
            self.worst = max(self.worst, time.perf_counter() - t - 0.001)

ticker = Ticker(); ticker.start(); time.sleep(0.2); ticker.worst = 0.0
svc = PriceService(debounce=0.0, timeout=120, fetch_timeout=float(sys.argv[1]))
out = {}
for phase, n in (("first", 1), ("cached", 1), ("new", 2)):
    seen = []; done = threading.Event(); t0 = time.perf_counter()
    def cb(answer):
        seen.append((time.perf_counter() - t0, describe(answer)))
        if not seen[-1][1].startswith("fetching"):
            done.set()
    svc.request({"resources": {"accelerators": "A100:8", "infra": "aws"}, "num_nodes": n}, cb)
    done.wait(180)
    out[phase] = {"fetching_s": next((s for s, t in seen if t.startswith("fetching")), None),
                  "answer_s": seen[-1][0] if seen else None, "text": seen[-1][1] if seen else ""}
out["stall_ms"] = ticker.worst * 1000
svc.close(); ticker.stop = True
print(json.dumps(out))
"""


def run_fetch(env: dict[str, str], fetch_timeout: float = 10.0) -> dict:
    proc = subprocess.run([sys.executable, "-c", FETCH_CHILD, str(fetch_timeout)], capture_output=True, text=True,
                          env=env, timeout=400)
    if proc.returncode:
        raise SystemExit(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fetch_figures() -> None:
    from catalog_fixture import CatalogHost, catalog_files

    print("\nfirst-time user (no catalog on disk), subprocess mode, local catalog host:")
    print(f"{'case':<22} {'ask':<6} {'fetching shown (s)':>19} {'answer (s)':>11}  answer")
    for case in ("host up", "host down"):
        with tempfile.TemporaryDirectory() as home, CatalogHost(catalog_files()) as host:
            if case == "host down":
                host.close()
            env = {**os.environ, "HOME": home, "SKY_RUNTIME_DIR": home, "SKYEXEC_NB_CATALOG_URL": host.url}
            figures = run_fetch(env)
            for ask in ("first", "cached", "new"):
                f = figures[ask]
                fetching = "-" if f["fetching_s"] is None else f"{f['fetching_s']:.3f}"
                print(f"{case:<22} {ask:<6} {fetching:>19} {f['answer_s']:>11.3f}  {f['text'][:70]}")
            print(f"{case:<22} max main-thread stall: {figures['stall_ms']:.1f} ms")


def run_mode(mode: str, env: dict[str, str]) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, env=env, timeout=300)
    if proc.returncode:
        raise SystemExit(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    from catalog_fixture import write_catalog

    with tempfile.TemporaryDirectory() as home:
        write_catalog(Path(home))
        env = {**os.environ, "HOME": home, "SKY_RUNTIME_DIR": home}
        print(f"python {sys.version.split()[0]}, switch interval {sys.getswitchinterval() * 1000:.0f} ms")
        print(f"{'mode':<11} {'phase':<11} {'price shown (s)':>16} {'max main-thread stall (ms)':>27}")
        for mode in ("subprocess", "thread"):
            figures = run_mode(mode, env)
            for phase in ("cold", "new fields", "cached", "idle"):
                f = figures[phase]
                print(f"{mode:<11} {phase:<11} {f['shown_s']:>16.3f} {f['stall_ms']:>27.1f}")
            print(f"{mode:<11} sky imported in this process: {figures['sky_imported_here']}; "
                  f"worker's import sky: {figures['worker_import_s']} s")
    fetch_figures()


if __name__ == "__main__":
    main()
