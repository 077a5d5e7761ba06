"""The stand-in's shared world: requests, clusters and managed jobs kept as JSON files.

Everything lives in ``$SKY_STANDIN_DIR`` so every process (the kernel, a job's supervisor, a
``down`` helper) sees the same state. Time drives the script: a job's states follow a timeline
measured in steps of ``$SKY_STANDIN_STEP`` seconds (default 0.2) from the moment it was created,
so no daemon is needed. ``$SKY_STANDIN_SCENARIO`` picks the script at submission time.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

from sky import exceptions

SCENARIOS = ("ok", "fail", "setup_fail", "long", "slow", "preempt", "no_cloud", "no_resource")
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "FAILED_SETUP", "FAILED_PRECHECKS", "FAILED_NO_RESOURCE",
                      "FAILED_CONTROLLER", "FAILED_DRIVER", "CANCELLED"})
#: Scenario -> (exception class name in sky.exceptions, message) raised by launch requests.
LAUNCH_ERRORS = {
    "no_cloud": ("NoCloudAccessError", "\x1b[31mCloud access is not set up. Run: \x1b[1msky check\x1b[0m"),
    "no_resource": ("ResourcesUnavailableError",
                    "Failed to provision all possible launchable resources.\nRelax the task's resource requirements."),
}
#: Request name -> function computing its result from the request record (may raise).
RESULTS: dict[str, Callable[[dict], Any]] = {}


def root() -> Path:
    path = Path(os.environ.get("SKY_STANDIN_DIR") or Path(tempfile.gettempdir(), "sky_standin"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def step() -> float:
    return float(os.environ.get("SKY_STANDIN_STEP", "0.2"))


def scenario() -> str:
    name = os.environ.get("SKY_STANDIN_SCENARIO", "ok")
    if name not in SCENARIOS:
        raise ValueError(f"SKY_STANDIN_SCENARIO: one of {SCENARIOS}. Found: {name!r}")
    return name


@contextlib.contextmanager
def locked() -> Iterator[None]:
    """Serialise read-modify-write cycles across processes."""
    with open(root() / "lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load(kind: str, key: Any) -> dict | None:
    path = root() / kind / f"{key}.json"
    return json.loads(path.read_text()) if path.exists() else None


def save(kind: str, key: Any, data: dict) -> None:
    folder = root() / kind
    folder.mkdir(exist_ok=True)
    tmp = folder / f".{key}.{uuid.uuid4().hex}"
    tmp.write_text(json.dumps(data))
    os.replace(tmp, folder / f"{key}.json")


def all_of(kind: str) -> list[dict]:
    folder = root() / kind
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.exists() else []


def next_id(kind: str) -> int:
    with locked():
        path = root() / f"{kind}.counter"
        value = int(path.read_text()) + 1 if path.exists() else 1
        path.write_text(str(value))
        return value


def raise_error(cls_name: str, message: str) -> None:
    raise getattr(exceptions, cls_name)(message)


API_SERVER_URL = "http://127.0.0.1:46580"


def set_api_down(down: bool) -> None:
    """Make every later request fail as when SkyPilot's API server is unreachable (or not)."""
    flag = root() / "api_down"
    flag.touch() if down else flag.unlink(missing_ok=True)


def check_api_up() -> None:
    """Raise the real ``ApiServerConnectionError`` while the server is "down"."""
    if (root() / "api_down").exists():
        raise exceptions.ApiServerConnectionError(API_SERVER_URL)
    if (root() / "auth_required").exists():
        raise exceptions.ApiServerAuthenticationError(API_SERVER_URL)


#: Who the stand-in's API server says is logged in (``api_info().user``; the owner of what it launches).
CURRENT_USER = ("standin", "standin")  # (name, user hash)


def set_auth_required(required: bool) -> None:
    """Make the API server answer 401, as a team server does before ``sky api login`` (or not)."""
    flag = root() / "auth_required"
    flag.touch() if required else flag.unlink(missing_ok=True)


def auth_required() -> bool:
    return (root() / "auth_required").exists()


def refusal(record: dict | None, action: str) -> tuple[str, str] | None:
    """The real ``PermissionDeniedError`` a team server (RBAC) gives when this user may not act on
    another user's ``protected`` cluster or managed job; None when allowed."""
    if record is None or not record.get("protected") or record.get("user_hash", CURRENT_USER[1]) == CURRENT_USER[1]:
        return None
    return ("PermissionDeniedError", f"User {CURRENT_USER[0]!r} does not have permission to {action} "
                                     f"owned by {record.get('user_name')!r}.")


# --- requests ---------------------------------------------------------------------------------
def new_request(name: str, *, cluster: str | None = None, steps: float = 0.0,
                error: tuple[str, str] | None = None, log: list[str] | None = None, **args: Any) -> str:
    """Record a request finishing ``steps`` steps from now; return its id at once."""
    check_api_up()
    rid = str(uuid.uuid4())
    now = time.time()
    save("requests", rid, {"request_id": rid, "name": name, "cluster": cluster, "created": now,
                           "ready_at": now + steps * step(), "error": error, "log": log or [],
                           "cancelled": False, "args": args})
    return rid


def find_request(prefix: str) -> dict:
    check_api_up()
    exact = load("requests", prefix) if len(str(prefix)) == 36 else None  # a whole id: one file
    if exact is not None:
        return exact
    found = [r for r in all_of("requests") if r["request_id"].startswith(str(prefix))]
    if not found:
        raise RuntimeError(f"Failed to get request {prefix}: 404 Request {prefix!r} not found")
    return found[0]


def request_status(req: dict) -> str:
    if req["cancelled"]:
        return "CANCELLED"
    if time.time() < req["ready_at"]:
        return "RUNNING"
    return "FAILED" if req["error"] else "SUCCEEDED"


def set_hold(name: str, held: bool) -> None:
    """Keep every ``get`` of a request named ``name`` (``"queue"``, ``"jobs.queue"``, ...) waiting
    until released (or not): a client caught mid-way, deterministically, in any process."""
    flag = root() / f"hold-{name}"
    flag.touch() if held else flag.unlink(missing_ok=True)


def wait_request(request_id: str) -> dict:
    while True:
        req = find_request(request_id)
        if request_status(req) != "RUNNING" and not (root() / f"hold-{req['name']}").exists():
            return req
        time.sleep(min(step() / 4, 0.05))


# --- scripted jobs ----------------------------------------------------------------------------
def cluster_timeline(name: str) -> list[list]:
    """[at_step, status, log lines] entries of a job on a cluster."""
    setup = [[0, "INIT", []], [0.5, "PENDING", []], [1, "SETTING_UP", ["(setup pid=1001) setting up"]]]
    if name == "setup_fail":
        return setup + [[2, "FAILED_SETUP", ["(setup pid=1001) ERROR: setup failed",
                                             "✗ Job finished (status: FAILED_SETUP)."]]]
    run = [2, "RUNNING", [f"(task, pid=1002) standin line {i}" for i in (1, 2, 3)]]
    final = "FAILED" if name == "fail" else "SUCCEEDED"
    last = ["(task, pid=1002) RuntimeError: boom"] if final == "FAILED" else []
    return setup + [run, [1000 if name == "long" else 4, final,
                          last + [f"{'✗' if last else '✓'} Job finished (status: {final})."]]]


def managed_timeline(name: str) -> list[list]:
    """[at_step, status, log lines, recovery_count] entries of a managed job."""
    start = [[0, "PENDING", [], 0], [1, "STARTING", ["Launching the job's cluster."], 0],
             [3, "RUNNING", ["(task, pid=2001) managed line 1", "(task, pid=2001) managed line 2"], 0]]
    if name == "fail":
        return start + [[5, "FAILED", ["(task, pid=2001) RuntimeError: boom"], 0]]
    if name == "preempt":
        return start + [[5, "RECOVERING", ["The job's cluster was preempted. Recovering."], 0],
                        [8, "RUNNING", ["(task, pid=2002) managed line 3 after recovery"], 1],
                        [11, "SUCCEEDED", ["✓ Managed job finished: 1 (status: SUCCEEDED)."], 1]]
    return start + [[1000 if name == "long" else 6, "SUCCEEDED",
                     ["✓ Managed job finished: 1 (status: SUCCEEDED)."], 0]]


def job_state(job: dict, now: float | None = None) -> tuple[str, list[str], int]:
    """(status, log lines so far, recovery count) of a scripted job at ``now``."""
    now = time.time() if now is None else now
    cancel_at = job.get("cancel_at")
    status, lines, recovery = "INIT", [], 0
    for at, entry_status, entry_lines, *more in job["timeline"]:
        at = job["start"] + at * step()
        if at > now or (cancel_at is not None and at > cancel_at):
            break
        status, lines, recovery = entry_status, lines + entry_lines, (more[0] if more else recovery)
    if cancel_at is not None and now >= cancel_at and status not in TERMINAL:
        for offset, cancel_status in job["cancel_states"]:
            if now >= cancel_at + offset * step():
                status = cancel_status
    return status, lines, recovery


def follow(state: Callable[[], tuple[str, list[str], int]], follow_: bool) -> Iterator[str | None]:
    """Yield new log lines as the script advances; None once the log is complete."""
    sent = 0
    while True:
        check_api_up()  # a server that goes away ends the stream with its error, as a dropped HTTP stream does
        status, lines, _ = state()
        for line in lines[sent:]:
            yield line + "\n"
        sent = len(lines)
        if not follow_ or status in TERMINAL:
            yield None
            return
        time.sleep(step() / 4)


def print_or_iterate(lines: Iterator[str | None], output_stream: Any, preload_content: bool,
                     final: Callable[[], int]) -> Any:
    """``tail_logs``' two modes: an iterator, or print everything and return an exit code."""
    if output_stream is not None and not preload_content:
        raise ValueError("output_stream cannot be specified when preload_content is False")
    if not preload_content:
        return lines
    for line in lines:
        if line is not None:
            print(line, end="", flush=True, file=output_stream)
    return final()
