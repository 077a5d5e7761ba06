"""What the price line says while catalogs are fetched: the rule of ``catalog._Fetches``, on a
real ``CatalogFetcher`` whose per-cloud states are set as its fetch threads would leave them
(HOME isolated: nothing on disk, nothing fetched)."""
from __future__ import annotations

from skyexec_nb.engine.pricing import catalog, fetch
from skyexec_nb.engine.pricing.rows import FETCH_FAILED, FETCHING


def _fetcher(**states: fetch.CloudState) -> fetch.CatalogFetcher:
    fetcher = fetch.CatalogFetcher()
    fetcher._state.update(states)  # as the threads leave them, without a host to fail against
    return fetcher


def test_the_accelerator_list_failing_first_is_not_the_answer_while_the_cloud_still_fetches():
    # The host is down: the accelerator list's fetch failed first; aws's is still under way (a CI
    # run on a loaded machine showed "could not fetch SkyPilot's accelerator list" here).
    fetcher = _fetcher(common=fetch.CloudState(error="offline?", failures=1),
                       aws=fetch.CloudState(fetching=True))
    note = catalog._Fetches(fetcher, ["aws"]).unknown(["aws"])
    assert note is not None and note.kind == FETCHING
    assert note.reason == "fetching prices… (SkyPilot's catalog for aws)"


def test_once_the_cloud_failed_too_it_names_the_cloud_with_one_reason():
    fetcher = _fetcher(common=fetch.CloudState(error="offline?", failures=1),
                       aws=fetch.CloudState(error="offline?", failures=1))
    note = catalog._Fetches(fetcher, ["aws"]).unknown(["aws"])
    assert note is not None and note.kind == FETCH_FAILED
    assert note.reason == "could not fetch SkyPilot's catalog for aws (offline?)"


def test_a_retry_of_a_failed_cloud_keeps_saying_why():
    fetcher = _fetcher(common=fetch.CloudState(error="offline?", failures=1),
                       aws=fetch.CloudState(fetching=True, error="HTTP 503 from host", failures=1))
    note = catalog._Fetches(fetcher, ["aws"]).unknown(["aws"])
    assert note is not None and note.kind == FETCHING
    assert note.reason == ("could not fetch SkyPilot's catalog for aws (HTTP 503 from host); "
                           "could not fetch SkyPilot's accelerator list (offline?)")
