"""Process helpers shared by the kernel side and the supervisor (POSIX signals and /proc, no psutil).

Linux extras (each degrades to nothing where /proc or prctl is missing): a process's start time
(so a recycled pid is not taken for the process it once was), the child-subreaper flag (escaped
descendants are reparented to the supervisor), descendants by walking /proc, processes carrying
a job's marker in their environment, and killing a set of processes TERM-then-KILL.
"""
from __future__ import annotations

import os
import signal
import time
from typing import Callable, Iterable

#: Environment marker every process of a job inherits (value: a random token per job).
JOB_TOKEN_ENV = "SKYEXEC_NB_JOB_TOKEN"
_PR_SET_CHILD_SUBREAPER = 36
HAS_PROC = os.path.isdir("/proc/self/task")


def _stat_fields(pid: int) -> list[bytes] | None:
    """Fields of /proc/<pid>/stat after the command name (state is [0], ppid [1], start [19])."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (/proc stat field 22), or None."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def stamp(pid: int | None = None) -> list[int | None]:
    """``[pid, start time]`` of a process (default: this one): what the registry records."""
    pid = os.getpid() if pid is None else pid
    return [pid, start_time(pid)]


def pid_alive(pid: int | None, start: int | None = None) -> bool:
    """True if ``pid`` exists, is not a zombie and (when ``start`` is given) started then."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = _stat_fields(pid)
    if fields is None:
        return not HAS_PROC  # vanished between the two looks (or no /proc: trust kill(0))
    if fields[0] == b"Z":
        return False
    return start is None or len(fields) <= 19 or int(fields[19]) == int(start)


def stamp_alive(value: object) -> bool:
    """True if a recorded ``[pid, start]`` stamp is a live process."""
    if not isinstance(value, (list, tuple)) or not value:
        return False
    return pid_alive(value[0], value[1] if len(value) > 1 else None)


_subreaper = False


def become_subreaper() -> bool:
    """Make this process a child subreaper (Linux): orphaned descendants become its children."""
    global _subreaper
    if not _subreaper:
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            _subreaper = libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
        except (OSError, AttributeError):
            _subreaper = False
    return _subreaper


def is_subreaper() -> bool:
    """True once :func:`become_subreaper` succeeded in this process."""
    return _subreaper


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (via /proc/<pid>/task/*/children, else a /proc scan)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                found += [int(x) for x in f.read().split()]
        except FileNotFoundError:
            return [p for p, parent in _parents().items() if parent == pid]
        except OSError:
            continue
    return found


def _parents() -> dict[int, int]:
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = _stat_fields(int(name))
            if fields:
                out[int(name)] = int(fields[1])
    return out


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (children first), zombies excluded."""
    out, todo, seen = [], [pid], {pid}
    while todo:
        for child in children(todo.pop()):
            if child not in seen:
                seen.add(child)
                todo.append(child)
                out.append(child)
    return [p for p in out if pid_alive(p)]


def marked(token: str) -> list[int]:
    """Processes of this user whose environment carries ``SKYEXEC_NB_JOB_TOKEN=<token>``."""
    if not token or not HAS_PROC:
        return []
    needle = f"{JOB_TOKEN_ENV}={token}".encode()
    me, found = os.getpid(), []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                env = f.read()
        except OSError:  # another user's process, or gone
            continue
        if needle in env.split(b"\0") and pid_alive(int(name)):
            found.append(int(name))
    return found


def reap_children(exclude: Iterable[int] = ()) -> int:
    """Collect exited children of this process, by pid (never ``waitpid(-1)``: a Popen's exit
    status must stay its own); ``exclude`` the Popen pids. Returns how many were reaped."""
    skip, reaped = set(exclude), 0
    for child in children(os.getpid()):
        if child in skip:
            continue
        fields = _stat_fields(child)
        if fields and fields[0] == b"Z":
            try:
                if os.waitpid(child, os.WNOHANG)[0]:
                    reaped += 1
            except ChildProcessError:
                pass
    return reaped


def signal_pids(pids: Iterable[int], sig: int) -> None:
    """Send ``sig`` to each pid, ignoring those that are gone."""
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def end_processes(find: Callable[[], Iterable[int]], grace: float, exclude: Iterable[int] = ()) -> None:
    """SIGTERM every process ``find()`` returns, SIGKILL what is left after ``grace`` seconds,
    until ``find()`` is empty (new ones found meanwhile get the same). Exited children of this
    process (adopted orphans) are reaped along the way; ``exclude``: Popen pids not to reap."""
    skip = set(exclude)
    termed: set[int] = set()
    kill_at = time.monotonic() + grace
    for _ in range(200):  # bounded: a process that forks faster than we kill is given up on
        reap_children(skip)
        pids = [p for p in find() if p != os.getpid()]
        if not pids:
            return
        fresh = [p for p in pids if p not in termed]
        signal_pids(fresh, signal.SIGTERM)
        termed.update(fresh)
        if time.monotonic() >= kill_at:
            signal_pids(pids, signal.SIGKILL)
        time.sleep(0.02)
    reap_children(skip)


def group_alive(pgid: int) -> bool:
    """True if process group ``pgid`` still has a member (zombies included)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_groups(pgids: Iterable[int], sig: int) -> None:
    """Send ``sig`` to every process group, ignoring groups that are gone."""
    for pgid in pgids:
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def kill_groups(pgids: Iterable[int], grace: float = 5.0) -> None:
    """SIGTERM every group, then SIGKILL what is left after ``grace`` seconds (blocking)."""
    pgids = [p for p in pgids if p and p > 1]
    signal_groups(pgids, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(group_alive(p) for p in pgids):
        time.sleep(0.02)
    signal_groups(pgids, signal.SIGKILL)


def kill_job_processes(pgids: Iterable[int], token: str | None, grace: float = 5.0) -> None:
    """From any process: end a job's node groups and every process carrying its marker."""
    kill_groups(pgids, grace=grace)
    if token:
        end_processes(lambda: marked(token), grace=min(grace, 1.0))
