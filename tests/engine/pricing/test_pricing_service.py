"""PriceService: debounced, cached, off the caller's thread; real look-ups in its worker process."""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from catalog_fixture import run_fresh, write_catalog  # noqa: E402

from skyexec_nb.engine.pricing.rows import PriceRow, PriceUnknown  # noqa: E402
from skyexec_nb.engine.pricing.service import PriceService  # noqa: E402

# Each test starts processes that import sky (seconds each): part of the slow selection.
pytestmark = pytest.mark.slow


class Recorder:
    def __init__(self) -> None:
        self.answers: list = []
        self.threads: list[str] = []
        self.event = threading.Event()

    def __call__(self, answer: object) -> None:
        self.answers.append(answer)
        self.threads.append(threading.current_thread().name)
        self.event.set()

    def wait(self, timeout: float = 5.0) -> object:
        assert self.event.wait(timeout), "no callback"
        self.event.clear()
        return self.answers[-1]


def cfg(n: int = 1, acc: str = "A100:8") -> dict:
    return {"resources": {"accelerators": acc}, "num_nodes": n}


def test_debounce_answers_only_the_latest_of_a_burst() -> None:
    seen: list[int] = []
    svc = PriceService(debounce=0.1, compute=lambda c: (seen.append(c["num_nodes"]), [])[1])
    rec = Recorder()
    t0 = time.monotonic()
    for n in range(1, 11):
        svc.request(cfg(n), rec)
    assert time.monotonic() - t0 < 0.05  # the caller never waits
    rec.wait()
    time.sleep(0.3)
    svc.close()
    assert seen == [10] and len(rec.answers) == 1 and svc.computations == 1
    assert rec.threads == ["skyexec-prices"]


def test_cache_per_fields() -> None:
    svc = PriceService(debounce=0.05, compute=lambda c: [PriceUnknown("x", 0)])
    rec = Recorder()
    svc.request(cfg(2), rec)
    first = rec.wait()
    svc.request({**cfg(2), "run": "another command"}, rec)  # same price fields: cached
    assert rec.wait() is first and svc.computations == 1
    assert svc.cached(cfg(2)) is first
    svc.request(cfg(3), rec)
    rec.wait()
    assert svc.computations == 2 and len(rec.answers) == 3
    svc.clear_cache()
    svc.request(cfg(2), rec)
    rec.wait()
    assert svc.computations == 3
    svc.close()


def test_transient_failures_are_not_cached_and_callbacks_may_fail() -> None:
    calls = []

    def compute(c: dict) -> object:
        calls.append(1)
        return PriceUnknown("took too long", transient=True)

    svc = PriceService(debounce=0.01, compute=compute)
    svc.request(cfg(), lambda a: 1 / 0)  # a failing callback does not stop the service
    rec = Recorder()
    time.sleep(0.1)
    svc.request(cfg(), rec)
    assert isinstance(rec.wait(), PriceUnknown)
    svc.close()
    assert len(calls) == 2


def test_bad_field_is_one_line_price_unknown() -> None:
    svc = PriceService(debounce=0.01, mode="thread")
    rec = Recorder()
    svc.request({"resources": {"accelerators": "A100:8"}, "num_nodes": 0}, rec)
    answer = rec.wait()
    svc.close()
    assert isinstance(answer, PriceUnknown) and "num_nodes" in answer.reason


def test_no_catalog_answers_at_once_without_a_worker(isolated_home: Path) -> None:
    svc = PriceService(debounce=0.01, fetch=False)  # catalogs fetched: see test_catalog_fetch.py
    rec = Recorder()
    svc.request(cfg(), rec)
    answer = rec.wait(timeout=2)
    assert isinstance(answer, PriceUnknown) and "no catalog on this machine" in answer.reason
    assert svc._worker is not None and not svc._worker.running
    svc.close()


def test_worker_process_prices_from_the_test_catalog(isolated_home: Path) -> None:
    write_catalog(isolated_home)
    rec = Recorder()
    with PriceService(debounce=0.05, timeout=90, prewarm=True) as svc:
        svc.request(cfg(2), rec)
        rows = rec.wait(timeout=90)
        assert isinstance(rows, list) and all(isinstance(r, PriceRow) for r in rows)
        assert (rows[0].cloud, rows[0].instance_type, rows[0].hourly) == ("lambda", "gpu_8x_a100", 28.64)
        svc.request(cfg(1, "B300:8"), rec)
        missing = rec.wait(timeout=30)
        assert isinstance(missing, PriceUnknown) and "B300:8 is not in the catalog" in missing.reason
        assert svc.computations == 2
    assert "sky" not in sys.modules or True  # other tests may import sky; see the fresh test below


def test_caller_thread_never_imports_sky(isolated_home: Path) -> None:
    """Thread mode: sky is imported, but only by the service's thread; subprocess mode: never here."""
    write_catalog(isolated_home)
    out = run_fresh("""
import json, sys, threading, time
importers = []
class Hook:
    def find_spec(self, name, path=None, target=None):
        if name == "sky":
            importers.append(threading.current_thread().name)
        return None
sys.meta_path.insert(0, Hook())
from skyexec_nb.engine.pricing.service import PriceService
got = {}
for mode in ("subprocess", "thread"):
    ev = threading.Event()
    svc = PriceService(mode=mode, debounce=0.05, timeout=90)
    t = time.perf_counter()
    svc.request({"resources": {"accelerators": "A100:8"}}, lambda a: ev.set())
    request_s = time.perf_counter() - t
    ev.wait(90)
    got[mode] = {"request_s": request_s, "importers": list(importers), "answered": ev.is_set()}
    svc.close()
print(json.dumps(got))
""")
    assert out["subprocess"]["importers"] == [] and out["subprocess"]["answered"]  # type: ignore[index]
    assert out["thread"]["importers"] == ["skyexec-prices"] and out["thread"]["answered"]  # type: ignore[index]
    assert out["subprocess"]["request_s"] < 0.05 and out["thread"]["request_s"] < 0.05  # type: ignore[index]


def test_worker_timeout_is_transient_price_unknown(isolated_home: Path) -> None:
    write_catalog(isolated_home)
    rec = Recorder()
    with PriceService(debounce=0.01, timeout=0.2) as svc:  # far less than `import sky`
        svc.request(cfg(), rec)
        answer = rec.wait(timeout=10)
        assert isinstance(answer, PriceUnknown) and answer.transient and "longer than 0.2 s" in answer.reason
        assert not svc._worker.running  # type: ignore[union-attr]
