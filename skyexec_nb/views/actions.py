"""Run a job action (cancel, tear down) off the kernel's thread; report errors in words; confirm in place."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable


def run_action(label: str, action: Callable[[], Any], done: Callable[[str], None]) -> threading.Thread:
    """Start ``action()`` in a daemon thread, then call ``done(error_text)`` ('' on success).

    A blocking ``job.down()`` (minutes on SkyPilot) must never block the kernel, so buttons use this.
    """

    def run() -> None:
        error = ""
        try:
            action()
        except Exception as exc:  # shown to the user, never lost
            error = f"{label} failed: {exc}"
        done(error)

    thread = threading.Thread(target=run, name=f"skyexec-nb-{label.lower().replace(' ', '-')}", daemon=True)
    thread.start()
    return thread


#: Seconds a "Confirm …?" button waits for its second click before it turns back.
CONFIRM_SECONDS = 8.0
#: A second click sooner than this after the question is the rest of a double click, not an answer.
DOUBLE_CLICK_SECONDS = 0.5


class ConfirmStep:
    """Ask once more, in place, before a button's action (cancel or tear down a cloud job).

    The first click turns ``button`` into ``question`` (red) and shows a "No" button (``no``, CSS
    ``skx-confirm-no``); a second click runs ``run``; "No", a disabled button or ``timeout``
    seconds turn it back. When ``needed()`` is False the first click runs ``run`` at once.
    A double click only asks: a second click within ``DOUBLE_CLICK_SECONDS`` of the question
    (both clicks queued in the kernel) is ignored.
    """

    def __init__(self, button: Any, question: str, run: Callable[[], Any], *, needed: Callable[[], bool],
                 timeout: float = CONFIRM_SECONDS) -> None:
        import ipywidgets as widgets

        self.button, self.question, self.run, self.needed, self.timeout = button, question, run, needed, timeout
        self.label, self.style = button.description, button.button_style
        self.no = widgets.Button(description="No", tooltip="Keep it running", layout=widgets.Layout(width="auto",
                                                                                               display="none"))
        self.no.add_class("skx-confirm-no")
        self.asking = False
        self._asked_at = 0.0
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        button.on_click(lambda _: self.click())
        self.no.on_click(lambda _: self.reset())

    def click(self) -> None:
        """First click asks (when needed); the second runs the action."""
        with self._lock:
            if self.button.disabled:
                return
            if self.asking and time.monotonic() - self._asked_at < DOUBLE_CLICK_SECONDS:
                return
            if self.needed() and not self.asking:
                self.asking, self._asked_at = True, time.monotonic()
                self.button.description, self.button.button_style = self.question, "danger"
                self.button.add_class("skx-confirming")
                self.no.layout.display = ""
                self._timer = threading.Timer(self.timeout, self.reset)
                self._timer.daemon = True
                self._timer.start()
                return
        self.reset()
        self.run()

    def reset(self) -> None:
        """Back to the plain button (nothing runs)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if not self.asking:
                return
            self.asking = False
            self.button.description, self.button.button_style = self.label, self.style
            self.button.remove_class("skx-confirming")
            self.no.layout.display = "none"
