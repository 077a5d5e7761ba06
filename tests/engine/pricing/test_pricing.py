"""Prices from a small hand-written SkyPilot catalog (HOME and SKY_RUNTIME_DIR isolated per test).

Look-ups that import ``sky`` run in a fresh interpreter (``run_fresh``): SkyPilot fixes its catalog
path at the first ``import sky`` of a process, and other tests in this process import sky too.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from catalog_fixture import run_fresh, write_catalog  # noqa: E402

from skyexec_nb.engine.pricing import rows as pricing  # noqa: E402
from skyexec_nb.engine.pricing import lookup  # noqa: E402
from skyexec_nb.engine.pricing.rows import PriceRow, PriceUnknown  # noqa: E402

# Each test starts processes that import sky (seconds each): part of the slow selection.
pytestmark = pytest.mark.slow

PRICES = """
import json, sys
from skyexec_nb.engine.pricing.lookup import price_results

out = [r.as_dict() for r in price_results({config!r})]
print(json.dumps({{"results": out, "sky": "sky" in sys.modules}}))
"""


def fresh_prices(config: dict) -> list[dict]:
    return run_fresh(PRICES.format(config=config))["results"]  # type: ignore[index]


@pytest.fixture
def catalog(isolated_home: Path) -> Path:
    assert os.environ["SKY_RUNTIME_DIR"] == str(isolated_home)
    return write_catalog(isolated_home)


# ----------------------------------------------------------------------------- pure (no sky)

def test_candidates_any_of_and_accelerator_dicts() -> None:
    config = {"resources": {"use_spot": True, "any_of": [
        {"accelerators": "A100:8", "infra": "aws/us-east-1"},
        {"accelerators": {"H100": 8, "V100": 1}, "use_spot": False}]}, "num_nodes": 2}
    cands = pricing.candidates(config)
    assert [c.accelerators for c in cands] == ["A100:8", "H100:8", "V100:1"]
    assert [c.index for c in cands] == [0, 1, 2]
    assert (cands[0].cloud, cands[0].region, cands[0].use_spot) == ("aws", "us-east-1", True)
    assert cands[1].cloud is None and cands[1].use_spot is False


def test_candidate_forms() -> None:
    assert pricing.candidates({"resources": {"accelerators": "A100"}})[0].accelerator == ("A100", 1)
    assert pricing.candidates({"resources": {"accelerators": ["A100:8", "H100:8"]}})[1].accelerators == "H100:8"
    assert pricing.candidates({"resources": {}})[0].accelerator is None
    with pytest.raises(ValueError, match="accelerators"):
        pricing.candidates({"resources": {"accelerators": 8}})


def test_price_key_is_per_fields() -> None:
    a = {"resources": {"accelerators": "A100:8", "use_spot": True}, "num_nodes": 2, "run": "x"}
    b = {"num_nodes": 2, "resources": {"use_spot": True, "accelerators": "A100:8"}, "run": "y"}
    assert pricing.price_key(a) == pricing.price_key(b)
    assert pricing.price_key(a) != pricing.price_key({**a, "num_nodes": 3})
    hash(pricing.price_key(a))


def test_price_row_scales_with_nodes() -> None:
    row = PriceRow.make(candidate=0, cloud="aws", region="us-east-1", instance_type="p4d.24xlarge",
                        accelerators="A100:8", num_nodes=3, use_spot=True, node_on_demand=10.0, node_spot=4.0)
    assert (row.hourly_on_demand, row.hourly_spot, row.hourly) == (30.0, 12.0, 12.0)
    d = row.as_dict()
    assert d["hourly"] == 12.0 and PriceRow.from_dict(d) == row


def test_estimate_cost() -> None:
    assert pricing.estimate_cost(36.0, 600) == 6.0
    assert pricing.estimate_cost(None, 600) is None
    assert pricing.estimate_cost(1.0, -5) == 0.0


def test_no_catalog_at_all_is_price_unknown_without_sky(isolated_home: Path) -> None:
    out = run_fresh(PRICES.format(config={"resources": {"accelerators": "A100:8"}}))
    assert out["sky"] is False  # type: ignore[index]
    (item,) = out["results"]  # type: ignore[index]
    assert item["price_unknown"] and "no catalog on this machine" in item["reason"]
    with pytest.raises(PriceUnknown, match="no catalog on this machine"):
        lookup.prices({"resources": {"accelerators": "A100:8"}})


def test_prices_refuses_other_types() -> None:
    with pytest.raises(TypeError):
        lookup.prices(42)


# ------------------------------------------------------------------------ real look-ups (sky)

def test_a100_8_on_demand_and_spot(catalog: Path) -> None:
    rows = fresh_prices({"resources": {"accelerators": "A100:8"}, "num_nodes": 1})
    by = {(r["cloud"], r["region"]): r for r in rows}
    assert set(by) == {("lambda", "us-east-1"), ("lambda", "us-west-1"), ("aws", "us-east-1"),
                       ("aws", "us-west-2"), ("aws", "eu-west-1")}
    aws = by[("aws", "us-east-1")]
    assert aws["instance_type"] == "p4d.24xlarge"
    assert aws["hourly_on_demand"] == pytest.approx(32.7726)
    assert aws["hourly_spot"] == pytest.approx(13.1)  # cheapest zone of the region
    assert by[("lambda", "us-east-1")]["hourly_spot"] is None  # Lambda has no spot
    assert rows[0]["cloud"] == "lambda"  # cheapest first


def test_spot_candidate_prices_spot_and_scales_with_nodes(catalog: Path) -> None:
    rows = fresh_prices({"resources": {"accelerators": "A100:8", "use_spot": True}, "num_nodes": 4})
    assert {r["cloud"] for r in rows} == {"aws"}  # no spot on Lambda
    top = rows[0]
    assert (top["region"], top["node_spot"], top["hourly_spot"]) == ("us-west-2", 12.5, 50.0)
    assert top["hourly"] == 50.0 and top["hourly_on_demand"] == pytest.approx(4 * 32.7726)
    assert all(r["num_nodes"] == 4 for r in rows)


def test_several_candidates(catalog: Path) -> None:
    rows = fresh_prices({"resources": {"any_of": [
        {"accelerators": "A100:8", "infra": "aws/us-west-2"},
        {"accelerators": {"H100": 8, "V100": 8}}]}, "num_nodes": 2})
    assert [(r["candidate"], r["instance_type"], r["hourly_on_demand"]) for r in rows] == [
        (0, "p4d.24xlarge", pytest.approx(65.5452)),
        (1, "gpu_8x_h100_sxm5", pytest.approx(47.84)),
        (1, "p5.48xlarge", pytest.approx(196.64)),
        (2, "p3.16xlarge", pytest.approx(48.96)),
    ]


def test_gpu_missing_from_catalog(catalog: Path) -> None:
    rows = fresh_prices({"resources": {"any_of": [{"accelerators": "B300:8"}, {"accelerators": "V100:1"}]}})
    unknown = [r for r in rows if r.get("price_unknown")]
    assert len(unknown) == 1 and unknown[0]["candidate"] == 0
    assert unknown[0]["reason"] == "B300:8 is not in the catalog on this machine (clouds: aws, lambda)"
    assert [r["instance_type"] for r in rows if not r.get("price_unknown")] == ["p3.2xlarge"]


def test_cloud_without_catalog_and_cpu_only(catalog: Path) -> None:
    rows = fresh_prices({"resources": {"any_of": [{"accelerators": "A100:8", "infra": "gcp"},
                                                   {"cpus": "8+", "infra": "aws"}]}})
    assert rows[0] == {"price_unknown": True, "reason": "no gcp catalog on this machine", "candidate": 0}
    assert rows[1]["instance_type"] == "m6i.2xlarge" and rows[1]["accelerators"] is None


def test_prices_raises_when_nothing_priced(catalog: Path) -> None:
    out = run_fresh("""
import json
from skyexec_nb import prices
from skyexec_nb.engine.pricing.rows import PriceUnknown
try:
    prices({"resources": {"accelerators": "B300:8"}})
except PriceUnknown as e:
    print(json.dumps(str(e)))
""")
    assert out == "Price unknown: B300:8 is not in the catalog on this machine (clouds: aws, lambda)"


def test_unreadable_catalog_is_one_line_and_other_clouds_still_price(catalog: Path) -> None:
    (catalog / "aws" / "vms.csv").write_text("not,a,catalog\n\x00\x01,2\n")
    rows = fresh_prices({"resources": {"any_of": [{"accelerators": "A100:8", "infra": "aws"},
                                                   {"accelerators": "A100:8"}]}})
    unknown = rows[0]
    assert unknown["price_unknown"] and unknown["candidate"] == 0
    assert unknown["reason"].startswith("the aws catalog cannot be read (") and "\n" not in unknown["reason"]
    assert {r["cloud"] for r in rows[1:]} == {"lambda"}  # the readable catalog still answers


def test_launched_instance_is_priced_in_its_region(catalog: Path) -> None:
    config = {"num_nodes": 2, "resources": {"accelerators": "A100:8", "use_spot": True}}
    launched = {"cloud": "AWS", "region": "us-east-1", "instance_type": "p4d.24xlarge", "use_spot": True}
    rows = fresh_prices(pricing.launched_config(config, launched))
    assert [(r["cloud"], r["region"], r["instance_type"]) for r in rows] == [("aws", "us-east-1", "p4d.24xlarge")]
    assert rows[0]["hourly"] == pytest.approx(2 * 13.1)  # not us-west-2's cheaper 12.5: where it runs


def test_launched_config_forms() -> None:
    config = {"num_nodes": 3, "resources": {"accelerators": "A100:8", "use_spot": True}}
    assert pricing.launched_config(config, None) is None
    assert pricing.launched_config(config, {"cloud": "-", "region": "-"}) is None  # not placed yet
    managed = pricing.launched_config(config, {"cloud": "AWS", "region": "us-west-2", "accelerators": {"A100": 8}})
    assert managed == {"num_nodes": 3, "resources": {"infra": "aws/us-west-2", "accelerators": {"A100": 8},
                                                     "use_spot": True}}
    [cand] = pricing.candidates(managed)
    assert (cand.cloud, cand.region, cand.accelerator, cand.use_spot) == ("aws", "us-west-2", ("A100", 8), True)
    nodes = pricing.launched_config(config, {"cloud": "gcp", "num_nodes": 1, "use_spot": False})
    assert nodes["num_nodes"] == 1 and nodes["resources"] == {"infra": "gcp", "accelerators": "A100:8",
                                                               "use_spot": False}
