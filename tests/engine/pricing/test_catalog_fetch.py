"""The price worker fetches and refreshes SkyPilot's catalogs from a local stand-in of SkyPilot's
catalog host (``CatalogHost``: http.server on 127.0.0.1; ``SKYEXEC_NB_CATALOG_URL`` points SkyPilot's
catalog URL constants at it inside the worker). The service is driven as the picker drives it:
through a ``PriceLine``, whose text is what the user reads. No test reaches the internet.
"""
from __future__ import annotations

import datetime
import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from catalog_fixture import CatalogHost, catalog_dir, catalog_files  # noqa: E402
from local_helpers import wait_for  # noqa: E402

from skyexec_nb.engine.pricing.service import PriceService  # noqa: E402
from skyexec_nb.views.price_line import PriceLine  # noqa: E402

# Each test starts a price worker that imports sky (seconds).
pytestmark = pytest.mark.slow

TODAY = datetime.date.today().isoformat()
BOUND = 90  # seconds: a cold worker imports sky (several seconds on a loaded 2-core machine)
A100 = {"resources": {"accelerators": "A100:8"}, "num_nodes": 1}
AWS_A100 = {"resources": {"accelerators": "A100:8", "infra": "aws"}, "num_nodes": 1}


class Line:
    """A PriceLine on a real PriceService, recording every text it showed."""

    def __init__(self, **service_kw: object) -> None:
        self.service = PriceService(debounce=0.01, fetch_timeout=2.0, fetch_total=20.0, **service_kw)
        self.widget = PriceLine(self.service)
        self.seen: list[str] = []
        self.widget.observe(lambda change: self.seen.append(self.widget.text), "value")

    def ask(self, config: dict) -> None:
        self.seen.clear()
        self.widget.request(config)

    @property
    def text(self) -> str:
        return self.widget.text

    def close(self) -> None:
        self.service.close()


@pytest.fixture
def wait():
    return wait_for


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch):
    with CatalogHost(catalog_files()) as h:
        monkeypatch.setenv("SKYEXEC_NB_CATALOG_URL", h.url)
        yield h


@pytest.fixture
def line():
    made: list[Line] = []

    def make(**kw: object) -> Line:
        made.append(Line(**kw))
        return made[-1]

    yield make
    for one in made:
        one.close()


def test_first_fetch_says_fetching_at_once_then_prices_with_the_catalog_date(host, line, wait, isolated_home):
    host.open.clear()  # the host holds its answers: the fetch is under way as long as we like
    prices = line()
    prices.ask(A100)
    wait(lambda: prices.text.startswith("fetching prices…"), timeout=10)  # before the worker even started
    wait(lambda: host.hits["aws/vms.csv"] == 1, timeout=BOUND)  # the worker is fetching, in the background
    assert prices.text.startswith("fetching prices…")
    host.open.set()
    wait(lambda: prices.text.startswith("≈ $"), timeout=BOUND)
    assert prices.text == (f"≈ $14.32/hr: gpu_8x_a100 × 1 on lambda us-east-1 (cheapest of 5 offers; "
                           f"catalog from {TODAY})")
    root = catalog_dir(isolated_home)
    assert (root / "aws" / "vms.csv").read_bytes() == host.files["aws/vms.csv"]
    assert (root / ".meta" / "aws" / "vms.csv.md5").is_file()  # SkyPilot's md5: refreshed on its schedule
    assert (root / "common" / "accelerators.csv").is_file()
    # A first-time user with no `sky check` gets the big clouds; those the host lacks stay quiet.
    assert {"aws/vms.csv", "lambda/vms.csv", "gcp/vms.csv", "azure/vms.csv"} <= set(host.hits)
    hits = dict(host.hits)
    prices.ask({**A100, "num_nodes": 2})  # fresh catalogs: nothing fetched again
    wait(lambda: prices.text.startswith("≈ $28.64/hr"), timeout=BOUND)
    assert dict(host.hits) == hits and not any(t.startswith("fetching") for t in prices.seen)


def _age(root: Path, filename: str, hours: float) -> None:
    old = time.time() - hours * 3600
    os.utime(root / filename, (old, old))
    os.utime(root / ".meta" / (filename + ".md5"), (old, old))


def test_stale_catalog_is_refreshed_while_the_old_one_answers(host, line, wait, isolated_home):
    prices = line()
    prices.ask(AWS_A100)
    wait(lambda: prices.text.startswith("≈ $13.10/hr") or prices.text.startswith("≈ $32.77/hr"), timeout=BOUND)
    assert prices.text.startswith("≈ $32.77/hr: p4d.24xlarge × 1 on aws us-east-1")
    root = catalog_dir(isolated_home)
    _age(root, "aws/vms.csv", 3 * 24)  # older than SkyPilot's 7 h for AWS: stale
    stale_day = datetime.date.fromtimestamp(time.time() - 3 * 24 * 3600).isoformat()
    host.files["aws/vms.csv"] = host.files["aws/vms.csv"].replace(b"32.7726", b"30.0")
    host.open.clear()
    prices.service.clear_cache()
    prices.ask(AWS_A100)
    # The old catalog answers at once, with its date, while the new one is fetched.
    wait(lambda: "refreshing SkyPilot's catalog for aws" in prices.text, timeout=BOUND)
    assert prices.text.startswith("≈ $32.77/hr") and f"catalog from {stale_day}" in prices.text
    host.open.set()
    wait(lambda: prices.text.startswith("≈ $30.00/hr"), timeout=BOUND)  # same callback, new prices
    assert prices.text.endswith(f"catalog from {TODAY})") and host.hits["aws/vms.csv"] == 2


def test_host_down_is_one_line_and_a_second_ask_stays_quiet(host, line, wait):
    host.close()  # nothing listens on the port any more
    prices = line()
    prices.ask(AWS_A100)
    wait(lambda: prices.text.startswith("price unknown"), timeout=BOUND)
    assert prices.text == "price unknown: could not fetch SkyPilot's catalog for aws (offline?)"
    prices.ask({**AWS_A100, "num_nodes": 3})
    wait(lambda: prices.text.startswith("price unknown"), timeout=BOUND)
    assert prices.seen == ["price: looking up…", prices.text]  # no "fetching prices…" flicker


def test_failed_fetch_is_retried_after_back_off_not_before(host, line, wait):
    host.status = 503
    prices = line(fetch_backoff=1.0)
    prices.ask(AWS_A100)
    wait(lambda: prices.text.startswith("price unknown"), timeout=BOUND)
    port = host.url.split(":")[2].split("/")[0]
    assert prices.text == ("price unknown: could not fetch SkyPilot's catalog for aws "
                           f"(HTTP 503 from 127.0.0.1:{port})")
    for n in range(2, 6):  # a burst of asks within the back-off: no new request to the host
        prices.ask({**AWS_A100, "num_nodes": n})
        wait(lambda: prices.text.startswith("price unknown"), timeout=BOUND)
    assert host.hits["aws/vms.csv"] == 1
    host.status = None  # the host is back; after the back-off the next ask fetches again

    def priced() -> bool:
        if prices.text.startswith("price unknown"):  # answered, still failing: ask again
            prices.ask(AWS_A100)
        return prices.text.startswith("≈ $")

    wait(priced, timeout=BOUND, interval=0.2)
    assert prices.text.startswith("≈ $32.77/hr") and host.hits["aws/vms.csv"] == 2


def test_slow_host_past_the_timeout_is_offline_never_a_hang(host, line, wait, isolated_home):
    host.open.clear()  # never answers (until the test ends)
    prices = line()
    prices.ask(AWS_A100)
    wait(lambda: prices.text.startswith("price unknown"), timeout=BOUND)
    assert prices.text == "price unknown: could not fetch SkyPilot's catalog for aws (offline?)"
    assert not (catalog_dir(isolated_home) / "aws" / "vms.csv").exists()


def test_corrupt_csv_is_refused_and_the_old_catalog_keeps_answering(host, line, wait, isolated_home):
    prices = line()
    prices.ask(AWS_A100)
    wait(lambda: prices.text.startswith("≈ $32.77/hr"), timeout=BOUND)
    root = catalog_dir(isolated_home)
    good = (root / "aws" / "vms.csv").read_bytes()
    _age(root, "aws/vms.csv", 8)
    host.files["aws/vms.csv"] = b"<html>rate limited</html>\n\x00\x01,2,3\n"
    prices.service.clear_cache()
    prices.ask(AWS_A100)
    wait(lambda: host.hits["aws/vms.csv"] == 2 and not prices.service._watches, timeout=BOUND)
    wait(lambda: prices.text.startswith("≈ $32.77/hr"), timeout=BOUND)
    assert (root / "aws" / "vms.csv").read_bytes() == good  # the download was not installed
    prices.ask({"resources": {"accelerators": "A100:8", "infra": "gcp"}})  # missing and not on the host
    wait(lambda: prices.text.startswith("price unknown"), timeout=BOUND)
    assert prices.text.startswith("price unknown: could not fetch SkyPilot's catalog for gcp (HTTP 404 from")
    host.files["lambda/vms.csv"] = b"InstanceType,Price\n"  # a header and no rows
    prices.ask({"resources": {"accelerators": "A100:8", "infra": "lambda"}})
    wait(lambda: prices.text.startswith("price unknown"), timeout=BOUND)
    assert prices.text == ("price unknown: could not fetch SkyPilot's catalog for lambda "
                           "(not a valid catalog: no Region)")
