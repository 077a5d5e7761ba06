"""Fetch and refresh SkyPilot's catalog files as SkyPilot 0.14 does, in background threads, with a timeout.

Mirrors ``sky.catalog.common.read_catalog``'s ``_update_catalog`` (pin-sensitive, SkyPilot 0.14.1):

- a file is fetched when it is missing, or when its cloud has a pull frequency
  (``sky.catalog.<cloud>_catalog._PULL_FREQUENCY_HOURS``, 7 h for AWS), the file is not modified by
  the user (its md5 matches ``.meta/<file>.md5``; no md5 file means user-provided: never refreshed)
  and it is older than that frequency;
- from ``constants.HOSTED_CATALOG_DIR_URL/<schema>/<file>``, falling back to
  ``constants.HOSTED_CATALOG_DIR_URL_S3_MIRROR`` on HTTP 429, with SkyPilot's User-Agent;
- under SkyPilot's file lock ``.meta/<file>.lock``; written to a temp file and renamed, then its
  md5 to ``.meta/<file>.md5``.

Differences, on purpose: every request has a connect/read timeout and a total deadline (SkyPilot's
has none); a download that is not a readable catalog is refused (the old file stays); a failed
fetch does not touch the old file (SkyPilot resets its mtime) but is retried with back-off (first
``backoff`` s, doubling, at most ``BACKOFF_MAX``), and only when a price is asked for again.
The old file keeps answering while a refresh runs (the new one replaces it atomically).

``SKYEXEC_NB_CATALOG_URL`` (read by the price worker at start, meant for tests) replaces both
catalog URL constants, e.g. ``http://127.0.0.1:8123/catalogs``.
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import importlib
import io
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterable, Optional
from urllib.parse import urlsplit

URL_ENV = "SKYEXEC_NB_CATALOG_URL"
COMMON = "common"
COMMON_FILES = ("common/accelerators.csv", "common/metadata.csv")  # accelerator names (SkyPilot reads them)
#: Fetched for a candidate without a cloud when ``sky check`` enabled none and no catalog is on disk.
FIRST_FETCH_CLOUDS = ("aws", "gcp", "azure", "lambda")
CONNECT_TIMEOUT = 5.0
BACKOFF_MAX = 3600.0
_REQUIRED_COLUMNS = {"vms.csv": ("InstanceType", "Price", "Region"),
                     "accelerators.csv": ("AcceleratorName", "Clouds"), "metadata.csv": ("GPU",)}


class FetchError(Exception):
    """A catalog file could not be fetched; ``reason`` is short (``offline?``, ``HTTP 503 from …``)."""

    def __init__(self, reason: str, offline: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.offline = reason, offline


def apply_url_override() -> None:
    """Point SkyPilot's catalog URL constants at ``$SKYEXEC_NB_CATALOG_URL`` (when set)."""
    url = os.environ.get(URL_ENV, "").strip().rstrip("/")
    if url:
        from sky.skylet import constants

        constants.HOSTED_CATALOG_DIR_URL = url
        constants.HOSTED_CATALOG_DIR_URL_S3_MIRROR = url


def catalog_path(filename: str) -> Path:
    """SkyPilot's path of a catalog file, e.g. ``aws/vms.csv`` (fixed at ``import sky``)."""
    from sky.catalog import common

    return Path(common.get_catalog_path(filename))


def _md5_path(filename: str) -> Path:
    return catalog_path(os.path.join(".meta", filename + ".md5"))


def files_of(cloud: str) -> tuple[str, ...]:
    return COMMON_FILES if cloud == COMMON else (f"{cloud}/vms.csv",)


def pull_frequency_hours(cloud: str) -> Optional[float]:
    """SkyPilot's refresh period of ``cloud``'s catalog (None: fetched only when missing)."""
    if cloud == COMMON:
        return None
    try:
        module = importlib.import_module(f"sky.catalog.{cloud}_catalog")
    except Exception:  # a cloud whose catalog module cannot import: treat as never refreshed
        return None
    value = getattr(module, "_PULL_FREQUENCY_HOURS", None)
    return None if value is None else float(value)


def user_modified(filename: str) -> bool:
    """SkyPilot's ``is_catalog_modified``: no md5 file, or the file's md5 differs from it."""
    md5 = _md5_path(filename)
    if not md5.is_file():
        return True
    digest = hashlib.md5(catalog_path(filename).read_bytes(), usedforsecurity=False).hexdigest()
    return digest != md5.read_text(encoding="utf-8")


def need(filename: str, freq_hours: Optional[float], now: Optional[float] = None) -> str:
    """``'missing'``, ``'stale'`` or ``''`` (SkyPilot's ``_need_update``)."""
    path = catalog_path(filename)
    if not path.exists():
        return "missing"
    if freq_hours is None or user_modified(filename):
        return ""
    return "stale" if path.stat().st_mtime + freq_hours * 3600 < (now or time.time()) else ""


def catalog_date(cloud: str) -> Optional[str]:
    """The local date of ``cloud``'s catalog: its last fetch (md5 file), else the file's own mtime."""
    for path in (_md5_path(f"{cloud}/vms.csv"), catalog_path(f"{cloud}/vms.csv")):
        try:
            return datetime.date.fromtimestamp(path.stat().st_mtime).isoformat()
        except OSError:
            continue
    return None


def _get(url: str, read_timeout: float, deadline: float) -> tuple[int, str]:
    import requests

    headers = {"User-Agent": "SkyPilot/0.7"}  # SkyPilot's own
    with requests.get(url, headers=headers, stream=True,
                      timeout=(min(CONNECT_TIMEOUT, read_timeout), read_timeout)) as r:
        if r.status_code >= 400:
            return r.status_code, ""
        chunks = []
        for chunk in r.iter_content(1 << 16):
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise requests.exceptions.Timeout(f"download took longer than the deadline: {url}")
        data = b"".join(chunks)
        return r.status_code, data.decode(r.encoding or "utf-8", errors="replace")


def download(filename: str, read_timeout: float, total_timeout: float) -> str:
    """The text of one catalog file from SkyPilot's catalog host. Raises FetchError."""
    import requests
    from sky.skylet import constants

    url = f"{constants.HOSTED_CATALOG_DIR_URL}/{constants.CATALOG_SCHEMA_VERSION}/{filename}"
    fallback = f"{constants.HOSTED_CATALOG_DIR_URL_S3_MIRROR}/{constants.CATALOG_SCHEMA_VERSION}/{filename}"
    deadline = time.monotonic() + total_timeout
    try:
        status, text = _get(url, read_timeout, deadline)
        if status == 429:  # SkyPilot: GitHub rate limit, use the S3 mirror
            url = fallback
            status, text = _get(url, read_timeout, deadline)
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise FetchError("offline?", offline=True) from exc
    except requests.exceptions.RequestException as exc:
        raise FetchError(f"{type(exc).__name__} from {urlsplit(url).netloc}") from exc
    if status >= 400:
        raise FetchError(f"HTTP {status} from {urlsplit(url).netloc}")
    return text


def validate(filename: str, text: str) -> None:
    """Refuse a download that pandas cannot read or that lacks the catalog's columns."""
    import pandas as pd

    try:
        df = pd.read_csv(io.StringIO(text))
    except Exception as exc:
        raise FetchError(f"not a valid catalog: {' '.join(str(exc).split())[:120]}") from exc
    missing = [c for c in _REQUIRED_COLUMNS.get(os.path.basename(filename), ()) if c not in df.columns]
    if missing or df.empty:
        raise FetchError(f"not a valid catalog: {'no rows' if not missing else 'no ' + ', '.join(missing)}")


def install(filename: str, text: str) -> None:
    """SkyPilot's atomic write of a fetched file and of its md5 (the caller holds the file lock)."""
    path, md5 = catalog_path(filename), _md5_path(filename)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, encoding="utf-8") as f:
        f.write(text)
        tmp = f.name
    os.rename(tmp, path)
    md5.write_text(hashlib.md5(text.encode(), usedforsecurity=False).hexdigest(), encoding="utf-8")


def fetch_file(filename: str, freq_hours: Optional[float], read_timeout: float, total_timeout: float) -> bool:
    """Fetch ``filename`` if SkyPilot would; True when a new file was installed. Raises FetchError."""
    import filelock

    if not need(filename, freq_hours):
        return False
    lock_path = catalog_path(os.path.join(".meta", filename + ".lock"))
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with filelock.FileLock(str(lock_path), timeout=total_timeout):
            if not need(filename, freq_hours):  # another process fetched it meanwhile
                return False
            text = download(filename, read_timeout, total_timeout)
            validate(filename, text)
            install(filename, text)
    except filelock.Timeout as exc:
        raise FetchError("another process holds SkyPilot's catalog lock") from exc
    return True


@dataclasses.dataclass
class CloudState:
    """What the fetcher knows of one cloud's catalog."""

    fetching: bool = False
    error: str = ""  # the last failure's short reason ('' after a success)
    failures: int = 0
    retry_at: float = 0.0  # monotonic time before which a failed fetch is not tried again


class CatalogFetcher:
    """Background fetches of catalog files, one thread per cloud, with back-off after a failure."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._state: dict[str, CloudState] = {}
        self._refreshed: set[str] = set()  # files replaced since the last ``take_refreshed``

    def pending(self, cloud: str) -> str:
        """``'missing'``, ``'stale'`` or ``''`` for ``cloud``'s files (``common``: missing only)."""
        freq = pull_frequency_hours(cloud)
        kinds = [need(f, freq) for f in files_of(cloud)]
        return "missing" if "missing" in kinds else ("stale" if "stale" in kinds else "")

    def start(self, clouds: Iterable[str], *, read_timeout: float, total_timeout: float,
              backoff: float) -> list[str]:
        """Start fetching the clouds (plus ``common``) whose files SkyPilot would fetch now.

        A cloud already fetching, or failed less than its back-off ago, is left alone.
        Returns the clouds fetching after the call.
        """
        now = time.monotonic()
        for cloud in dict.fromkeys([COMMON, *clouds]):
            with self._cond:
                state = self._state.setdefault(cloud, CloudState())
                if state.fetching or now < state.retry_at:
                    continue
            if not self.pending(cloud):
                continue
            with self._cond:
                state.fetching = True
            threading.Thread(target=self._fetch, args=(cloud, read_timeout, total_timeout, backoff),
                             name=f"skyexec-catalog-{cloud}", daemon=True).start()
        return self.fetching()

    def _fetch(self, cloud: str, read_timeout: float, total_timeout: float, backoff: float) -> None:
        error, replaced = "", []
        freq = pull_frequency_hours(cloud)
        for filename in files_of(cloud):
            try:
                if fetch_file(filename, freq, read_timeout, total_timeout):
                    replaced.append(filename)
            except FetchError as exc:
                error = exc.reason
            except Exception as exc:  # never let a thread die silently: say why in one line
                error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:120]}"
        with self._cond:
            state = self._state[cloud]
            state.fetching = False
            self._refreshed.update(replaced)
            if error:
                state.failures += 1
                state.error = error
                state.retry_at = time.monotonic() + min(backoff * 2 ** (state.failures - 1), BACKOFF_MAX)
            else:
                state.failures, state.error, state.retry_at = 0, "", 0.0
            self._cond.notify_all()

    def fetching(self) -> list[str]:
        with self._cond:
            return sorted(c for c, s in self._state.items() if s.fetching)

    def error(self, cloud: str) -> str:
        """The last failure's reason for ``cloud`` (or ``common``), '' if none."""
        with self._cond:
            state = self._state.get(cloud)
            return state.error if state else ""

    def attempts_failed(self, cloud: str) -> int:
        with self._cond:
            state = self._state.get(cloud)
            return state.failures if state else 0

    def wait(self, timeout: float) -> list[str]:
        """Wait until no fetch runs (at most ``timeout`` s); return those still running."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while any(s.fetching for s in self._state.values()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
        return self.fetching()

    def take_refreshed(self) -> set[str]:
        """Files replaced since the last call (their loaded copies must be forgotten)."""
        with self._cond:
            out, self._refreshed = self._refreshed, set()
            return out


def forget_loaded(filenames: Iterable[str]) -> None:
    """Make SkyPilot re-read ``filenames`` on next use (pin-sensitive: ``LazyDataFrame._df``,
    ``aws_catalog._user_df``, ``annotations.clear_request_level_cache``)."""
    import sys

    from sky.catalog import common
    from sky.utils import annotations

    paths = {str(catalog_path(f)) for f in filenames}
    clouds = {f.split("/")[0] for f in filenames}
    if not paths:
        return
    for name, module in list(sys.modules.items()):
        if module is None or not (name.startswith("sky.catalog.") or name == "sky.utils.accelerator_registry"):
            continue
        for value in list(vars(module).values()):
            if isinstance(value, common.LazyDataFrame) and str(getattr(value, "_filename", "")) in paths:
                value._df = None
        if name.endswith("_catalog") and name.rsplit(".", 1)[-1][:-len("_catalog")] in clouds \
                and getattr(module, "_user_df", None) is not None:
            module._user_df = None
    annotations.clear_request_level_cache()
