"""Run a group of node processes, each in its own process group, logging with SkyPilot's prefixes.

One selector loop reads every node's pipe (stdout and stderr merged), never a thread per node. A
single-node job's progress bars (lines redrawn with \\r) reach the log as they move; with several
nodes a line is written whole, so no node's line lands inside another's.

No orphans: the supervisor is a child subreaper (Linux), so a node's descendants that leave its
process group or session (``setsid``, double-fork daemons, ``nohup ... &``) stay descendants of
the supervisor. On cancel, on a failure and when the nodes have ended, every descendant gets
SIGTERM, then SIGKILL after the grace; exited orphans are reaped by pid. Without /proc and
prctl, the node process groups are killed as before.
"""
from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from skyexec_nb.engine.jobs.backend_api import RunContext
from skyexec_nb.engine.jobs.procs import (
    HAS_PROC, JOB_TOKEN_ENV, descendants, end_processes, group_alive, is_subreaper, marked, reap_children, signal_groups,
    signal_pids,
)

_READ = 256 * 1024
_DRAIN_AFTER_EXIT = 2.0  # seconds to wait for pipes held by background children
_REAP_EVERY = 1.0  # seconds between collections of exited adopted orphans


@dataclass
class NodeSpec:
    """One process to start: its rank, log prefix format (``{pid}`` is filled in) and env."""

    rank: int
    prefix: str
    env: dict[str, str]


@dataclass
class _Node:
    spec: NodeSpec
    proc: subprocess.Popen
    prefix: bytes
    partial: bytearray = field(default_factory=bytearray)
    open: bool = True
    #: Write a line's progress as it comes (up to its last ``\r``): single-node jobs only, where
    #: no other node's line can land in the middle of it.
    live_cr: bool = False
    mid_line: bool = False  # the log holds the start of this node's current line
    code: int | None = field(default=None)


def node_prefix(num_nodes: int, rank: int, task_name: str | None) -> str:
    """SkyPilot's streaming prefix of a run line (``{pid}`` left to fill in).

    Single node: ``(<task name or 'task'>, pid=N) ``; several nodes: ``(head, rank=0, pid=N) ``
    and ``(worker1, rank=1, pid=N, ip=127.0.0.1) `` (as sky/backends/task_codegen.py and
    sky/skylet/executor/slurm.py print them, without the colour codes).
    """
    if num_nodes == 1:
        return f"({task_name or 'task'}, pid={{pid}}) "
    if rank == 0:
        return "(head, rank=0, pid={pid}) "
    return f"(worker{rank}, rank={rank}, pid={{pid}}, ip=127.0.0.1) "


SETUP_PREFIX = "(setup pid={pid}) "


@dataclass
class NodeResult:
    """Exit codes per rank (negative for a signal) and the rank that failed first, if any."""

    codes: dict[int, int]
    first_failure: int | None


def run_nodes(ctx: RunContext, script: Path, cwd: Path, specs: list[NodeSpec], grace: float) -> NodeResult:
    """Start one ``bash <script>`` per spec and stream their output to ``ctx.log`` until all end.

    On ``ctx.cancelled``, or once a node exits non-zero (as SkyPilot, the job has failed), every
    node's process group and every descendant gets SIGTERM, then SIGKILL after ``grace``. After
    the nodes exit, leftover processes are ended the same way (no orphans). Node pgids are
    recorded in the registry (``node_pgids``) as soon as the nodes start.
    """
    nodes = [_start(spec, script, cwd) for spec in specs]
    if len(nodes) == 1:
        nodes[0].live_cr = True
    pgids = [n.proc.pid for n in nodes]
    token = specs[0].env.get(JOB_TOKEN_ENV) if specs else None
    reaped_at = time.monotonic()
    ctx.update(node_pgids=sorted(set(ctx.registry.get(ctx.job_id)["node_pgids"]) | set(pgids)))
    selector = selectors.DefaultSelector()
    for node in nodes:
        selector.register(node.proc.stdout, selectors.EVENT_READ, node)
    kill_at: float | None = None
    exited_at: float | None = None
    first_failure: int | None = None
    try:
        while selector.get_map():
            now = time.monotonic()
            if first_failure is None:
                first_failure = next((n.spec.rank for n in nodes if n.proc.poll() not in (None, 0)), None)
            if (ctx.cancelled.is_set() or first_failure is not None) and kill_at is None:
                _signal_all(pgids, token, signal.SIGTERM)
                kill_at = now + grace
            if kill_at is not None and now >= kill_at:
                _signal_all(pgids, token, signal.SIGKILL)
                kill_at = now + 0.5  # again, for any started meanwhile
            if exited_at is None and all(n.proc.poll() is not None for n in nodes):
                exited_at = now
            if exited_at is not None and now - exited_at > _DRAIN_AFTER_EXIT:
                break  # background processes holding the pipes: ended below
            if now - reaped_at > _REAP_EVERY:
                reap_children(exclude=pgids)
                reaped_at = now
            out = bytearray()
            for key, _ in selector.select(timeout=0.05):
                _read(key.data, selector, out)
            if out:
                ctx.log.write_bytes(bytes(out))
    finally:
        for node in nodes:
            if node.open:
                selector.unregister(node.proc.stdout)
                node.proc.stdout.close()
        selector.close()
        for node in nodes:
            node.code = node.proc.wait()
        end_leftovers(pgids, token, grace)
    if first_failure is None:
        first_failure = next((n.spec.rank for n in nodes if n.code != 0), None)
    return NodeResult({n.spec.rank: n.code for n in nodes}, first_failure)


def _start(spec: NodeSpec, script: Path, cwd: Path) -> _Node:
    proc = subprocess.Popen(
        ["bash", str(script)], cwd=cwd, env=spec.env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
    )
    return _Node(spec, proc, spec.prefix.format(pid=proc.pid).encode())


def _read(node: _Node, selector: selectors.BaseSelector, out: bytearray) -> None:
    data = os.read(node.proc.stdout.fileno(), _READ)
    if not data:  # EOF: flush a last line without newline
        if node.partial or node.mid_line:
            out += (b"" if node.mid_line else node.prefix) + node.partial + b"\n"
            node.partial.clear()
            node.mid_line = False
        selector.unregister(node.proc.stdout)
        node.proc.stdout.close()
        node.open = False
        return
    last = data.rfind(b"\n")
    if last < 0:  # no line end: only the new bytes are searched, the partial line grows in place
        node.partial += data
        if node.live_cr and (node.mid_line or b"\r" in data):
            # a progress bar redrawn in place: the log shows it move, not only its end
            out += (b"" if node.mid_line else node.prefix) + node.partial
            node.partial.clear()
            node.mid_line = True
        return
    out += (b"" if node.mid_line else node.prefix) + node.partial
    node.partial.clear()
    node.mid_line = False
    out += data[:last].replace(b"\n", b"\n" + node.prefix) + b"\n"
    node.partial += data[last + 1:]


def _job_processes(token: str | None) -> list[int]:
    """This supervisor's descendants (a subreaper keeps escaped ones) and the job's marked ones."""
    found = set(descendants(os.getpid()))
    if token and not is_subreaper():  # escaped processes went to init: find them by marker
        found.update(marked(token))
    return sorted(found)


def _signal_all(pgids: list[int], token: str | None, sig: int) -> None:
    signal_groups(pgids, sig)
    if HAS_PROC:
        signal_pids(descendants(os.getpid()), sig)


def end_leftovers(pgids: list[int], token: str | None, grace: float) -> None:
    """End every process the job left behind: SIGTERM, SIGKILL after ``grace``, orphans reaped."""
    if HAS_PROC:
        signal_groups([p for p in pgids if group_alive(p)], signal.SIGTERM)
        end_processes(lambda: _job_processes(token), grace, exclude=pgids)
    alive = [p for p in pgids if group_alive(p)]
    if alive:
        signal_groups(alive, signal.SIGKILL)
