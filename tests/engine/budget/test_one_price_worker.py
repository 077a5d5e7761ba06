"""The picker's prices and the launch-time price ask one price worker process (one ``import sky``
per kernel), and a changed catalog directory starts a fresh one."""
from __future__ import annotations

import threading
from pathlib import Path

import psutil
import pytest
from catalog_fixture import write_catalog

from skyexec_nb.engine.budget import prices
from skyexec_nb.engine.pricing.rows import PriceRow
from skyexec_nb.engine.pricing import service as price_service
from skyexec_nb.engine.pricing.service import shared_price_service
from skyexec_nb.engine.pricing.worker import shared_worker
from skyexec_nb.model.executor import SkyExecutor

pytestmark = pytest.mark.slow  # the worker imports sky (seconds)
BOUND = 120  # seconds: a cold worker's import sky on a loaded 2-core machine, with room to spare


def all_price_workers() -> set[int]:
    """This process's children running the price worker (any test's)."""
    found = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if "skyexec_nb.engine.pricing.catalog" in " ".join(child.cmdline()):
                found.add(child.pid)
        except psutil.Error:  # ended meanwhile
            pass
    return found


@pytest.fixture
def price_workers(service_closed):
    """Price workers this test started: ``price_workers()`` (others of this process are not counted)."""
    prices.close()  # the test starts with no shared worker
    before = all_price_workers()
    return lambda: sorted(all_price_workers() - before)


def picker_price(executor: SkyExecutor) -> object:
    answered, box = threading.Event(), []
    shared_price_service().request(executor, lambda answer: (box.append(answer), answered.set()))
    assert answered.wait(BOUND), "the price service did not answer"
    return box[-1]


@pytest.fixture
def service_closed():
    """The process-wide price service and its worker are stopped after the test."""
    yield
    service = price_service._shared.take()
    if service is not None:
        service.close()
    prices.close()


def test_picker_and_launch_share_one_worker(catalog: Path, price_workers) -> None:
    executor = SkyExecutor(cloud="aws", gpus="V100:1", num_nodes=2)
    answer = picker_price(executor)
    assert isinstance(answer, list) and any(isinstance(r, PriceRow) for r in answer)
    worker_pid = shared_worker()._proc.pid
    assert price_workers() == [worker_pid]
    hourly, note = prices.hourly_price(executor, "skypilot")
    assert hourly > 0 and note.startswith("aws ")
    assert price_workers() == [worker_pid]  # the launch asked the worker the picker started


def test_a_moved_catalog_starts_a_fresh_worker_and_leaves_one(catalog: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch, price_workers) -> None:
    executor = SkyExecutor(cloud="aws", gpus="V100:1")
    prices.hourly_price(executor, "skypilot")
    first = shared_worker()._proc.pid
    moved = tmp_path / "moved"
    write_catalog(moved)
    monkeypatch.setenv("SKY_RUNTIME_DIR", str(moved))
    answer = picker_price(executor)
    assert isinstance(answer, list) and any(isinstance(r, PriceRow) for r in answer)
    assert price_workers() == [shared_worker()._proc.pid] and shared_worker()._proc.pid != first
    assert not psutil.pid_exists(first) or psutil.Process(first).status() == psutil.STATUS_ZOMBIE
