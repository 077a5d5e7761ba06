"""SkyPilot's optimizer plan, offline, against the test catalog (run in a fresh interpreter)."""
from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from catalog_fixture import run_fresh, write_catalog  # noqa: E402

from skyexec_nb.engine.pricing.planning import PlanResult  # noqa: E402
from skyexec_nb.engine.pricing.service import PriceService  # noqa: E402

# Each test starts processes that import sky (seconds each): part of the slow selection.
pytestmark = pytest.mark.slow

PLAN = """
import json
from skyexec_nb.engine.pricing.planning import optimizer_plan

print(json.dumps([optimizer_plan(c, enabled_clouds=e).as_dict() for c, e in {cases!r}]))
"""
A100 = {"resources": {"accelerators": "A100:8"}, "num_nodes": 2}


def test_plan_with_enabled_clouds(isolated_home: Path) -> None:
    write_catalog(isolated_home)
    cases = [(A100, ["aws", "lambda"]),
             ({"resources": {"accelerators": "A100:8", "use_spot": True}}, ["aws", "lambda"]),
             ({"resources": {"accelerators": "B300:8"}}, ["aws"]),
             ({"resources": {"accelerators": "A100:8", "infra": "gcp"}}, ["aws"])]
    plan, spot, missing, disabled = map(PlanResult.from_dict, run_fresh(PLAN.format(cases=cases)))  # type: ignore[arg-type]
    assert plan.ok and plan.hourly == 28.64 and plan.enabled_clouds == ("aws", "lambda")
    assert plan.chosen == {"cloud": "lambda", "region": "us-east-1", "zone": None,
                           "instance_type": "gpu_8x_a100", "accelerators": "A100:8", "use_spot": False}
    assert "Considered resources (2 nodes)" in plan.table and "p4d.24xlarge" in plan.table
    assert "Nothing was launched" in plan.message and plan.text.endswith(plan.message)
    assert spot.ok and spot.chosen["instance_type"] == "p4d.24xlarge" and spot.hourly == 12.5  # type: ignore[index]
    assert not missing.ok and "B300" in missing.message and "\n" not in missing.message
    assert not disabled.ok and "gcp which is not enabled" in disabled.message


def test_no_cloud_enabled_says_what_sky_check_reported(isolated_home: Path) -> None:
    write_catalog(isolated_home)
    (plan,) = run_fresh(PLAN.format(cases=[(A100, None)]))  # type: ignore[misc]
    assert plan["ok"] is False
    assert plan["message"].startswith("No cloud is enabled")
    assert "`sky check` has no cached result" in plan["message"] and "Nothing was launched" in plan["message"]


def test_no_catalog_and_bad_field_never_raise(isolated_home: Path) -> None:
    no_catalog, bad = run_fresh(PLAN.format(cases=[(A100, ["aws"]), ({"num_nodes": -1}, ["aws"])]))  # type: ignore[misc]
    assert not no_catalog["ok"] and "no catalog on this machine" in no_catalog["message"]
    assert not bad["ok"] and "num_nodes" in bad["message"]


def test_plan_through_the_price_worker(isolated_home: Path) -> None:
    write_catalog(isolated_home)
    got: list = []
    done = threading.Event()
    with PriceService(timeout=90) as svc:
        svc.plan(A100, lambda r: (got.append(r), done.set()))
        assert done.wait(90)
    (result,) = got
    assert isinstance(result, PlanResult) and not result.ok and result.message.startswith("No cloud is enabled")
