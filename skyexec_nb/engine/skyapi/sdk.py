"""Waiting on SkyPilot requests and streaming their logs, for the cloud backends.

``sdk()`` returns the ``sky`` module (seconds to import: call it only on code paths that talk to
SkyPilot), or the module named by the environment variable ``SKYEXEC_NB_SKY_SDK`` (tests point it
at the stand-in ``sky_standin``). Nothing here imports ``sky`` at import time.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterable, TypeVar

from skyexec_nb.model.sky_module import SDK_ENV, one_line_error, sdk, strip_ansi  # noqa: F401

T = TypeVar("T")


class RequestAborted(Exception):
    """The wait for a SkyPilot request was given up because the job was cancelled."""


class _Sink:
    """A minimal text stream (``write``/``flush``) that hands what SkyPilot prints to a callback."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write

    def write(self, text: str) -> int:
        if text:
            self._write(strip_ansi(text))
        return len(text)

    def flush(self) -> None:
        """Nothing buffered."""


def request_state(request_id: str) -> str | None:
    """A request's state (PENDING, RUNNING, SUCCEEDED, ...) via ``sky.api_status``; None if unknown."""
    try:
        found = sdk().api_status([request_id])
    except Exception:  # noqa: BLE001 - a probe only; the request's own wait reports errors
        return None
    return str(found[0].status) if found else None


def await_request(
    request_id: str,
    *,
    cancelled: threading.Event,
    output: Callable[[str], None] | None = None,
    poll: float = 0.5,
    on_state: Callable[[str], None] | None = None,
) -> Any:
    """Wait for a SkyPilot request without ever blocking cancellation.

    The request's own log (e.g. provisioning progress) is streamed to ``output`` by a helper
    thread (``sky.stream_and_get``); this thread polls ``cancelled`` and the request's state
    (``sky.api_status``, reported to ``on_state`` when it changes) every ``poll`` seconds.
    ``cancelled`` is checked every 50 ms.

    Returns:
        The request's result (what ``sky.get`` returns).

    Raises:
        RequestAborted: ``cancelled`` was set first; the request was cancelled (``sky.api_cancel``).
        Exception: the request's own error (a ``sky.exceptions`` class), re-raised.
    """
    sky = sdk()
    box: dict[str, Any] = {}

    def wait() -> None:
        try:
            if output is None:
                box["value"] = sky.get(request_id)
            else:
                box["value"] = sky.stream_and_get(request_id, output_stream=_Sink(output))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            box["error"] = exc

    done = threading.Event()
    thread = threading.Thread(target=lambda: (wait(), done.set()), name=f"sky-request-{request_id[:8]}",
                              daemon=True)
    thread.start()
    last, next_probe = None, time.monotonic()
    while not done.wait(0.05):
        if cancelled.is_set():
            try:
                sky.get(sky.api_cancel(request_id, silent=True))
            except Exception:  # noqa: BLE001 - finished meanwhile, or the server is gone
                pass
            done.wait(5)
            raise RequestAborted(f"request {request_id} cancelled")
        if on_state is not None and time.monotonic() >= next_probe:
            next_probe = time.monotonic() + poll
            state = request_state(request_id)
            if state is not None and state != last:
                last = state
                on_state(state)
    if "error" in box:
        raise box["error"]
    return box.get("value")


def call(request_id: str, cancelled: threading.Event | None = None) -> Any:
    """``sky.get`` of a short request (status, queue, cancel); gives way to ``cancelled`` if given."""
    if cancelled is None:
        return sdk().get(request_id)
    return await_request(request_id, cancelled=cancelled)


def pump_lines(lines: Iterable[str | None], write: Callable[[str], None], name: str) -> threading.Thread:
    """Copy a ``tail_logs(..., preload_content=False)`` iterator to ``write`` in a daemon thread.

    ``None`` items (the end marker, or control messages) are skipped; the thread ends with the
    iterator. A stream error is written as one line.
    """

    def run() -> None:
        try:
            for chunk in lines:
                if chunk:
                    write(strip_ansi(chunk))
        except Exception as exc:  # noqa: BLE001 - the state poller decides the job's fate
            write(f"[skyexec_nb] log stream ended: {one_line_error(exc)}\n")

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


class NoAnswer(TimeoutError):
    """:func:`call_within`'s work did not finish in time (not a TimeoutError the work raised)."""


def call_within(work: Callable[[], T], timeout: float, name: str = "skyexec-sky-call") -> T:
    """``work()`` in a daemon thread, waited for at most ``timeout`` s: its value, or what it raised.

    An SDK call can block on an API server that does not answer; the caller gets control back.

    Raises:
        NoAnswer: (a TimeoutError) no answer within ``timeout`` s (the thread finishes on its own).
    """
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise NoAnswer(f"no answer within {timeout:.0f}s")
    if "error" in box:
        raise box["error"]
    return box["value"]
