"""Keep SkyPilot from fetching or refreshing a catalog while we price or plan (offline by design)."""
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
    """Within the block SkyPilot cannot fetch or refresh a catalog (it keeps the file it has)."""
    import requests
    from sky.catalog import common

    saved = common.__dict__.get("requests")
    common.requests = _NoDownload(requests)
    try:
        yield
    finally:
        common.requests = saved
