"""Keep SkyPilot's own look-ups from fetching or touching a catalog while we price or plan.

Fetching is done beforehand, in the background, by :mod:`~skyexec_nb.engine.pricing.fetch` (with a
timeout); SkyPilot's fetcher has none and, on failure, resets the old file's mtime.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator


class _NoDownload:
    """Stands in for ``requests`` inside ``sky.catalog.common``: every fetch fails at once."""

    def __init__(self, real: Any) -> None:
        self.exceptions = real.exceptions

    def get(self, *args: Any, **kwargs: Any) -> Any:
        raise self.exceptions.ConnectionError("skyexec_nb: catalog downloads are off while pricing")


@contextlib.contextmanager
def no_catalog_download() -> Iterator[None]:
    """Within the block SkyPilot neither fetches nor refreshes a catalog, nor touches its mtime.

    Pin-sensitive (SkyPilot 0.14): ``sky.catalog.common.requests`` (fails at once, for a missing
    file) and ``sky.catalog.common.is_catalog_modified`` (True: an existing file is treated as the
    user's own, which SkyPilot never refreshes).
    """
    import requests
    from sky.catalog import common

    saved = common.__dict__.get("requests"), common.is_catalog_modified
    common.requests = _NoDownload(requests)
    common.is_catalog_modified = lambda filename: True
    try:
        yield
    finally:
        common.requests, common.is_catalog_modified = saved
