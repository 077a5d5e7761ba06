"""Fixtures for spend control: the test catalog (tests/catalog_fixture.py) and the price worker.

Prices come from the price worker process (it imports sky: seconds). One catalog directory per test
module, so one worker serves a module's tests; the worker is stopped when the module ends.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Iterator

import pytest
from catalog_fixture import write_catalog

from skyexec_nb.engine.budget import prices
from skyexec_nb.engine.jobs.registry import get_registry
from skyexec_nb.engine.jobs.settings import get_settings


@pytest.fixture(scope="module")
def catalog_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A runtime dir holding the small test catalog (aws, lambda), shared by the module's tests."""
    root = tmp_path_factory.mktemp("catalog_runtime")
    write_catalog(root)
    return root


@pytest.fixture(scope="module", autouse=True)
def stop_price_worker() -> Iterator[None]:
    """No worker outlives its module (the next module starts its own)."""
    yield
    prices.close()


@pytest.fixture
def catalog(catalog_root: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch,
            request: pytest.FixtureRequest) -> Path:
    """Point SkyPilot's catalog, as the price worker sees it, at the test catalog.

    SkyPilot fixes its catalog path at this process's first ``import sky``; the SDK stand-in imports
    sky here, so for those tests sky is imported first under this test's own home (no catalog), as
    in every other test: later tests of this process never find the test catalog in-process.
    """
    if "standin" in request.fixturenames:
        importlib.import_module("sky.catalog.common")
    monkeypatch.setenv("SKY_RUNTIME_DIR", str(catalog_root))
    return catalog_root


@pytest.fixture
def budget() -> Any:
    """Set the daily budget: ``budget(10)``; cleared after the test (settings are reset anyway)."""
    def set_budget(per_day: float | None) -> None:
        get_settings().budget = {} if per_day is None else {"per_day": per_day}
    yield set_budget
    get_settings().budget = {}


@pytest.fixture
def record_job() -> Any:
    """``record_job(**fields)``: write a job's row as a launch would (no process started); its id."""
    from skyexec_nb.engine.jobs.status import JobStatus

    def record(**fields: Any) -> int:
        cluster = fields.pop("cluster", None)
        fields.setdefault("name", "job")
        fields.setdefault("backend", "local")
        fields.setdefault("status", JobStatus.SUCCEEDED)
        fields.setdefault("created", fields.get("started") or 0.0)
        fields.setdefault("launch_options", {})
        fields.setdefault("config", {"name": fields["name"], "run": "true", "num_nodes": 1})
        return get_registry().insert(lambda job_id: {"cluster": cluster or f"skx-{job_id}"}, **fields)
    return record
