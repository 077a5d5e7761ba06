"""No catalog on this machine and SkyPilot's catalog host unreachable (tests/conftest.py points it at
a dead port): a price is one line, and a cost limit is refused at launch rather than ignored."""
from __future__ import annotations

import pytest

from skyexec_nb import SkyExecutor
from skyexec_nb.engine.api import PriceUnavailable, hourly_price, launch
from skyexec_nb.engine.jobs.registry import get_registry
from skyexec_nb.model.errors import FieldError


def test_no_catalog_is_one_line_and_a_cost_limit_is_refused(isolated_home, budget) -> None:
    ex = SkyExecutor(cloud="aws", gpus="V100:1")
    with pytest.raises(PriceUnavailable) as missing:
        hourly_price(ex, "skypilot", timeout=120)
    reason = str(missing.value)
    assert reason == "could not fetch SkyPilot's catalog for aws (offline?)" and missing.value.transient
    with pytest.raises(FieldError) as refused:
        launch(ex, "true", backend="local", max_cost=50)
    assert str(refused.value) == ("Invalid max_cost: a limit on a job whose hourly price is known (no catalog "
                                  f"price: {reason}). Found: 50")
    assert get_registry().rows() == []

    budget(100)  # a budget cannot check an unpriced launch: it goes ahead, with a warning line
    with pytest.warns(UserWarning, match=r"^The budget cannot check this launch: no price \(could not fetch"):
        job = launch(ex, "true", backend="local", timeout="1h")
    assert job.wait(120).value == "SUCCEEDED"
    assert job.row()["launch_options"]["limits"] == {"timeout": 3600.0, "price_note": reason}
