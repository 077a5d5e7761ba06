"""ProcessWide: one instance per process, made once even when many threads ask at once."""
from __future__ import annotations

import threading

from skyexec_nb.process_wide import ProcessWide


def test_made_once_across_threads_then_forgotten_and_replaced() -> None:
    made: list[object] = []
    barrier = threading.Barrier(8)

    def factory() -> object:
        made.append(object())
        return made[-1]

    wide: ProcessWide[object] = ProcessWide(factory)
    got: list[object] = []

    def ask() -> None:
        barrier.wait()
        got.append(wide.get())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and all(g is made[0] for g in got)
    assert wide.take() is made[0] and wide.take() is None
    assert wide.get() is made[1]  # a fresh one after take()
    stand_in = object()
    assert wide.put(stand_in) is made[1] and wide.get() is stand_in and len(made) == 2
