"""One instance per process, made on first use: the settings, the monitor, the price service,
the views' ticker. Dependency-free, so every layer can use it."""
from __future__ import annotations

import threading
from typing import Callable, Generic, Optional, TypeVar

T = TypeVar("T")


class ProcessWide(Generic[T]):
    """A lazily made, thread-safe process-wide instance of ``factory()``.

    ``get()`` makes it on first use; ``take()`` forgets it (returning it, e.g. to stop it), so
    the next ``get()`` makes a fresh one; ``put()`` installs one (tests put stand-ins).
    """

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._value: Optional[T] = None
        self._lock = threading.Lock()

    def get(self) -> T:
        """The instance, made now if there is none."""
        with self._lock:
            if self._value is None:
                self._value = self._factory()
            return self._value

    def take(self) -> Optional[T]:
        """Forget the instance and return it (None if none was made)."""
        with self._lock:
            value, self._value = self._value, None
            return value

    def put(self, value: Optional[T]) -> Optional[T]:
        """Install ``value`` (None forgets); returns the previous instance."""
        with self._lock:
            previous, self._value = self._value, value
            return previous
