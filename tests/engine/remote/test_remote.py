"""Remote Python cells and functions on the local backend (real processes, real files)."""
from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
import pytest

from skyexec_nb.engine.remote import python_jobs as remote_mod
from skyexec_nb.engine.jobs.launcher import jobs
from skyexec_nb.engine.remote.payload import PayloadError
from skyexec_nb.engine.remote.python_jobs import RemoteError, ResultError, launch_python, on_result, remote, result
from skyexec_nb.engine.jobs.settings import get_settings
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.model.executor import SkyExecutor
from local_helpers import wait_for

TIMEOUT = 30


def notebook_defined(source: str, **globals_):
    """Define ``source`` as a notebook cell does: in a ``__main__`` namespace (travels by value)."""
    namespace = {"__name__": "__main__", **globals_}
    exec(source, namespace)  # noqa: S102
    return namespace


@pytest.fixture
def ex() -> SkyExecutor:
    return SkyExecutor()


def test_cell_pushes_dataframe_and_function_and_pulls_result(ex):
    fns = notebook_defined("def scale(s, k):\n    return s * k\n")
    df = pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 1.5, 2.5]})
    body = "total = scale(df['a'], 10).sum()\nframe = df.assign(c=df.a + df.b)\nprint('total', total)\n"
    job = launch_python(ex, body, push={"df": df, "scale": fns["scale"]}, pull=["total", "frame"], name="cell")
    values = job.result(TIMEOUT)
    assert job.status is JobStatus.SUCCEEDED
    assert values["total"] == 60
    pd.testing.assert_frame_equal(values["frame"], df.assign(c=df.a + df.b))
    assert "total 60" in job.logs()
    assert job.extra["remote"]["pull"] == ["total", "frame"]


def test_body_runs_byte_for_byte_as_main(ex):
    body = ("# -*- coding: utf-8 -*-\ntext = 'é $HOME `x` \\\\n \"q\"'\n"
            "where = __name__\nprint(len(text))\n")
    values = result(launch_python(ex, body, pull=["text", "where"]), TIMEOUT)
    assert values == {"text": 'é $HOME `x` \\n "q"', "where": "__main__"}


def test_remote_exception_fails_job_and_is_raised_with_remote_traceback(ex):
    job = launch_python(ex, "x = 1\ndef inner():\n    raise ValueError('bad value 42')\ninner()\n")
    with pytest.raises(RemoteError) as info:
        job.result(TIMEOUT)
    message = str(info.value)
    assert message.startswith("ValueError: bad value 42")
    assert 'File "<cell>", line 3, in inner' in message and "raise ValueError('bad value 42')" in message
    assert isinstance(info.value.exception, ValueError)
    assert job.status is JobStatus.FAILED
    assert 'File "<cell>", line 4, in <module>' in job.logs()  # the panel shows the log


def test_pull_of_a_name_never_set_is_a_clear_error(ex):
    job = launch_python(ex, "x = 1\nif x > 1:\n    y = 2\n", pull=["x", "y"])
    seen = threading.Event()
    on_result(job, lambda values: seen.set())
    with pytest.raises(ResultError, match=r"--pull y: the cell never set 'y'"):
        result(job, TIMEOUT)
    assert job.status is JobStatus.FAILED and not seen.is_set()
    assert "the cell never set 'y'" in job.logs()
    wait_for(lambda: "never set 'y'" in (job.error or ""))  # on_result records it for the panel


def test_multi_node_cell_runs_everywhere_and_head_sends_back(ex):
    job = launch_python(ex.copy(num_nodes=2), "import os\nrank = int(os.environ['SKYPILOT_NODE_RANK'])\n"
                        "print('rank', rank)\n", pull=["rank"])
    assert result(job, TIMEOUT) == {"rank": 0}
    assert "rank 0" in job.logs() and "rank 1" in job.logs()


def test_on_result_delivers_values(ex):
    got: dict = {}
    done = threading.Event()
    job = launch_python(ex, "answer = 6 * 7\n", pull=["answer"])
    on_result(job, lambda values: (got.update(values), done.set()))
    assert done.wait(TIMEOUT) and got == {"answer": 42}


def test_decorated_function_called_and_mapped(ex):
    ns = notebook_defined("@remote(ex, name='square')\ndef square(x, offset=0):\n    return x * x + offset\n",
                          remote=remote, ex=ex)
    square = ns["square"]
    job = square(7, offset=1)
    assert job.name == "square" and result(job, TIMEOUT) == 50
    mapped = square.map(range(4), max_parallel=2)
    assert [result(j, TIMEOUT) for j in mapped] == [0, 1, 4, 9]
    assert len({j.extra["sweep"]["id"] for j in mapped}) == 1


def test_decorated_function_exception_is_raised(ex):
    ns = notebook_defined("@remote(ex)\ndef boom():\n    raise KeyError('missing')\n", remote=remote, ex=ex)
    with pytest.raises(RemoteError, match=r"KeyError: 'missing'") as info:
        result(ns["boom"](), TIMEOUT)
    assert "in boom" in info.value.remote_traceback


def test_remote_needs_an_executor():
    with pytest.raises(TypeError, match="needs an executor"):
        remote(lambda: 1)


def test_unserializable_variable_is_refused_before_launch(ex):
    with pytest.raises(PayloadError) as info:
        launch_python(ex, "print(lock)\n", push={"lock": threading.Lock()})
    message = str(info.value)
    assert message.startswith("--push lock: cannot be serialized") and "file_mounts" in message
    assert "\n" not in message
    assert jobs() == [] and not list(remote_mod.bundle_root().glob("*"))


def test_payload_over_the_limit_is_refused_before_launch(ex):
    get_settings().max_payload_mb = 1
    with pytest.raises(PayloadError, match=r"^--push blob: too large, .*max_payload_mb=1; .*file_mounts"):
        launch_python(ex, "print(len(blob))\n", push={"small": 1, "blob": b"x" * (2 * 1024 * 1024)})
    assert jobs() == [] and not list(remote_mod.bundle_root().glob("*"))


def test_bad_pull_name_is_refused(ex):
    with pytest.raises(PayloadError, match=r"Invalid --pull: Python variable names. Found: '1x'"):
        launch_python(ex, "x = 1\n", pull=["1x"])
    assert jobs() == []


def test_result_of_a_shell_job_is_refused(ex):
    from skyexec_nb.engine.jobs.launcher import launch

    job = launch(ex, "true", backend="local")
    with pytest.raises(ResultError, match="not a remote Python job"):
        result(job)


def test_cancelled_job_has_no_result(ex):
    job = launch_python(ex, "import time\ntime.sleep(30)\n")
    job.cancel()
    with pytest.raises(ResultError, match="was cancelled"):
        result(job, TIMEOUT)


def test_prune_frees_inputs_at_once_and_the_bundle_after_keep_days(ex):
    import os
    import time

    from skyexec_nb.engine.remote.payload import KEEP_DAYS, make_bundle, prune_bundles

    done = launch_python(ex, "y = len(blob)\n", push={"blob": b"x" * 1000}, pull=["y"])
    assert done.result(TIMEOUT) == {"y": 1000}
    running = launch_python(ex, "import time\ntime.sleep(30)\n", push={"z": 1})
    wait_for(lambda: running.status is JobStatus.RUNNING)
    old_orphan, new_orphan = make_bundle("x = 1\n", {"a": 1}), make_bundle("x = 1\n", {"a": 1})
    os.utime(old_orphan, (time.time() - 2 * 86400,) * 2)
    done_dir, running_dir = (Path(j.extra["remote"]["bundle"]) for j in (done, running))

    assert prune_bundles() == 1  # the old orphan only
    assert not old_orphan.exists() and (new_orphan / "push.pkl").exists()
    assert not (done_dir / "push.pkl").exists() and done.result() == {"y": 1000}  # inputs freed, result kept
    assert (running_dir / "push.pkl").exists()

    assert prune_bundles(now=time.time() + (KEEP_DAYS + 1) * 86400) == 2  # the ended job's, the new orphan
    assert not done_dir.exists() and running_dir.exists()
    with pytest.raises(ResultError, match="left no result"):
        done.result()
    running.cancel()


def test_every_remote_launch_prunes_first(ex):
    first = launch_python(ex, "y = 1\n", push={"big": b"x" * 1000}, pull=["y"])
    first.result(TIMEOUT)
    pushed = Path(first.extra["remote"]["bundle"]) / "push.pkl"
    assert pushed.exists()
    launch_python(ex, "pass\n").wait(TIMEOUT)
    assert not pushed.exists()


@pytest.mark.parametrize("body, bound", [
    ("a = 1\nb += 2\nc: int = 3\nfor d in []: pass\nwith open('x') as e: pass\n", set("abcde")),
    ("import os.path as p, sys\nfrom x import y as z\ndef f(): pass\nclass K: pass\n", {"p", "sys", "z", "f", "K"}),
    ("try:\n    pass\nexcept Exception as err:\n    pass\n[w := 1]\n(q for q in [])\n", {"err", "w", "q"}),
    ("def f():\n    global g\n    g = 1\n", {"f", "g"}),
    ("exec('x = 1')\n", None),
    ("globals()['x'] = 1\n", None),
    ("from os import *\n", None),
    ("def broken(:\n", None),
])
def test_bound_names(body, bound):
    from skyexec_nb.engine.remote.payload import bound_names

    found = bound_names(body)
    assert found == bound if bound is None else bound <= found


def test_pull_of_a_name_the_cell_never_sets_is_refused_before_launch(ex):
    with pytest.raises(PayloadError, match=r"^--pull y: the cell never sets 'y' \(no assignment"):
        launch_python(ex, "x = 1\nprint(y)\n", pull=["x", "y"])
    job = launch_python(ex, "x.append(1)\n", push={"x": []}, pull=["x"])  # a pushed name may come back
    assert job.result(TIMEOUT) == {"x": [1]}
    assert jobs() == [job]


def test_pull_with_managed_jobs_is_refused_before_launch(ex):
    with pytest.raises(PayloadError, match=r"^--pull y: managed jobs \(--backend jobs\) cannot send"):
        launch_python(ex, "y = 1\n", pull=["y"], backend="jobs")
    assert jobs() == []


def test_remote_decorator_max_parallel_bounds_map(ex):
    from skyexec_nb.engine.jobs.slots import MAX_PARALLEL_ENV

    ns = notebook_defined("@remote(ex, max_parallel=2)\ndef double(x):\n    return 2 * x\n", remote=remote, ex=ex)
    mapped = ns["double"].map([1, 2, 3])
    assert {j.config["envs"][MAX_PARALLEL_ENV] for j in mapped} == {"2"}
    assert [result(j, TIMEOUT) for j in mapped] == [2, 4, 6]
    with pytest.raises(ValueError, match=r"Invalid max_parallel: an integer in 1\.\.10000 \(or None: unbounded\)\. Found: 0"):
        remote(ex, max_parallel=0)(lambda: 1)


def test_auto_backend_resolves_before_the_run_command_is_made(ex):
    job = launch_python(ex, "y = 2\n", pull=["y"], backend="auto")  # no cloud enabled here: local
    assert job.backend == "local" and "$SKYEXEC_NB_MOUNTS" in job.config["run"]
    assert job.result(TIMEOUT) == {"y": 2}
