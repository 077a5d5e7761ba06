"""The single ticker thread: ticks registered views, drops finished or failing ones, then stops."""
from __future__ import annotations

from skyexec_nb.views.refresher import Refresher


class Counter:
    def __init__(self, ticks_left: int) -> None:
        self.ticks = 0
        self.left = ticks_left

    def tick(self) -> bool:
        self.ticks += 1
        self.left -= 1
        return self.left > 0


class Broken:
    def tick(self) -> bool:
        raise RuntimeError("boom")


def test_ticks_until_done_then_the_thread_exits(wait, capsys):
    r = Refresher(interval=0.01)
    a, b, broken = Counter(3), Counter(1000), Broken()
    r.register(a)
    r.register(a)  # idempotent
    r.register(b)
    r.register(broken)
    wait(lambda: a.ticks == 3 and not r.is_registered(a))
    assert not r.is_registered(broken)
    assert "boom" in capsys.readouterr().err
    r.unregister(b)
    wait(lambda: r._thread is None)
    ticks = b.ticks
    r.register(b)  # restarts on demand
    wait(lambda: b.ticks > ticks)
    r.unregister(b)
