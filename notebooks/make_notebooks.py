"""Write the tutorial notebooks 01-05 from the cell texts below.

    python notebooks/make_notebooks.py           # (re)write notebooks/0*.ipynb
    python notebooks/make_notebooks.py --check   # exit 1 if a committed notebook is out of date

Edit the cells here, not in the .ipynb files: the notebooks are generated. They carry no
outputs except the expected stdout of the cells marked ``# NBVAL_CHECK_OUTPUT`` (deterministic
output, written below with its cell): nbval compares those, and only requires the other cells
to run without raising (``--nbval-lax``). ``notebooks/nbval_sanitize.cfg`` masks process ids.
Cell ids are stable so that diffs stay readable.
"""
from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
CHECK = "# NBVAL_CHECK_OUTPUT\n"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

Cell = tuple[str, ...]  # (kind, source), or ("checked", source, expected stdout)


def md(text: str) -> Cell:
    return ("markdown", textwrap.dedent(text).strip("\n"))


def code(text: str) -> Cell:
    return ("code", textwrap.dedent(text).strip("\n"))


def checked(text: str, expected: str) -> Cell:
    """A code cell whose stdout nbval compares with ``expected`` (stored as the cell's output)."""
    return ("checked", CHECK + textwrap.dedent(text).strip("\n"), textwrap.dedent(expected).lstrip("\n"))


# A scratch folder for files a tutorial writes (YAML, scripts), so running it leaves no litter.
SCRATCH = code(
    """
    import tempfile
    from pathlib import Path

    scratch = Path(tempfile.mkdtemp(prefix="skyexec-tutorial-"))  # files this tutorial writes go here
    """
)

QUICKSTART: list[Cell] = [
    md(
        """
        # 01 · Quickstart: launch a cell as a job and watch it

        `skyexec_nb` describes compute, launches work on it and follows it without leaving the
        notebook. This tutorial uses the **local** backend: jobs run as processes on this machine,
        with the same job handle, states and logs as on a SkyPilot cluster. No cloud account needed.

        Load the extension (it does not import SkyPilot, so it is instant):
        """
    ),
    code("%load_ext skyexec_nb\n%config SkyLaunchMagics.default_backend = \"local\"  # this tutorial runs on this machine"),
    md(
        """
        ## A first job

        The body of a `%%skylaunch` cell is the job's `run` script (bash), exactly as written.
        Without `--wait` the cell returns at once and shows a live launch panel: a status badge,
        elapsed time, Cancel/Refresh buttons and the tail of the log. `--out job` keeps the
        job handle in the variable `job`.
        """
    ),
    code(
        """
        %%skylaunch --name hello --out job
        echo "hello from skyexec_nb"
        for step in 1 2 3; do
          echo "step $step"
          sleep 0.2
        done
        """
    ),
    md(
        """
        While it runs, the notebook is free: other cells run. `job.wait()` blocks until the job
        ends and returns its final state.
        """
    ),
    checked(
        """
        status = job.wait(timeout=60)
        print(status)
        """,
        """
        SUCCEEDED
        """,
    ),
    md("The log, as SkyPilot shows it: each line starts with the job (or node) it came from."),
    checked(
        "print(job.logs(), end='')",
        """
        (hello, pid=4242) hello from skyexec_nb
        (hello, pid=4242) step 1
        (hello, pid=4242) step 2
        (hello, pid=4242) step 3
        """,
    ),
    md("`%skystatus JOB` prints one job's details (JOB is an id, a name, or `-1` for the last job):"),
    code("%skystatus -1"),
    md(
        """
        ## Blocking: `--wait`

        With `--wait` the log streams into the cell and the cell ends when the job ends; the
        finished job is the cell's value.
        """
    ),
    code(
        """
        %%skylaunch --wait --name countdown --out countdown
        for i in 3 2 1; do echo "$i..."; sleep 0.1; done
        echo "lift-off"
        """
    ),
    checked(
        "print(countdown.status, countdown.exit_codes)",
        """
        SUCCEEDED {0: 0}
        """,
    ),
    md(
        """
        ## A failing job

        A job that exits non-zero ends `FAILED`, with its exit code per node rank. The notebook
        itself does not raise: the job failed, not the cell.
        """
    ),
    code(
        """
        %%skylaunch --wait --name broken --out broken
        echo "about to fail"
        exit 3
        """
    ),
    checked(
        """
        print(broken.status, broken.exit_codes)
        print("failed:", broken.status.is_failure)
        """,
        """
        FAILED {0: 3}
        failed: True
        """,
    ),
    md(
        """
        ## Cancelling a job

        Click **Cancel** in the panel, call `job.cancel()`, or use `%skycancel JOB`.
        """
    ),
    code(
        """
        %%skylaunch --name sleeper --out sleeper
        echo "sleeping for ten minutes"
        sleep 600
        """
    ),
    md("`job.follow()` yields the log's lines as they are written; once the job is running, cancel it:"),
    checked(
        """
        for line in sleeper.follow():
            print(line.rstrip("\\n"))
            break
        """,
        """
        (sleeper, pid=4242) sleeping for ten minutes
        """,
    ),
    code("%skycancel sleeper"),
    checked(
        "print(sleeper.wait(timeout=60))",
        """
        CANCELLED
        """,
    ),
    md(
        """
        Next: `02_resource_picker.ipynb` describes the compute with a form, and
        `05_skypilot_clouds.ipynb` shows what changes on a real cloud.
        """
    ),
]

PICKER: list[Cell] = [
    md(
        """
        # 02 · The resource picker: describe compute with a form

        A `SkyExecutor` holds the resources of a job (cloud, GPUs, nodes, spot, ports, ...). Every
        field is validated when it is set. `ResourcePicker(executor)` is a form bound both ways to
        the executor: changing the form changes the executor, and setting the executor updates
        the form. (`executor.edit()` and `%skyexec NAME` show the same form.)
        """
    ),
    SCRATCH,
    code(
        """
        from skyexec_nb import FieldError, ResourcePicker, SkyExecutor, get_settings

        get_settings().default_backend = "local"  # this tutorial runs on this machine
        executor = SkyExecutor(gpus="A100", gpus_per_node=8, ports="8888")
        picker = ResourcePicker(executor)
        picker
        """
    ),
    md(
        """
        In JupyterLab you would now pick a GPU in the form and tick *spot*. The same from Python:
        setting a form field changes the executor, and setting the executor changes the form.
        """
    ),
    checked(
        """
        picker.inputs["gpus"].value = "H100"   # the form ...
        print("executor.gpus =", executor.gpus)
        executor.use_spot = True               # ... and the executor
        print("spot box ticked:", picker.inputs["use_spot"].value)
        """,
        """
        executor.gpus = H100
        spot box ticked: True
        """,
    ),
    md(
        """
        ## Validation errors

        An invalid value is refused with a message naming the field, what is allowed and what was
        found; the executor keeps its last valid value. In the form the same message appears under
        the field, and **Launch** is disabled until it is fixed.
        """
    ),
    checked(
        """
        picker.command.value = "python train.py"
        picker.inputs["ports"].value = "80800"
        print(picker.invalid_fields["ports"])
        print("executor.ports =", executor.ports, "| Launch disabled:", picker.launch_button.disabled)
        picker.inputs["ports"].value = "8888, 6006"
        print("executor.ports =", executor.ports, "| Launch disabled:", picker.launch_button.disabled)
        """,
        """
        Invalid ports: ports 1-65535 or ranges 'LOW-HIGH' (a list, or a comma-separated string). Found: '80800'
        executor.ports = [8888] | Launch disabled: True
        executor.ports = [8888, 6006] | Launch disabled: False
        """,
    ),
    md("Setting the executor from code is validated the same way:"),
    checked(
        """
        for field, value in [("num_nodes", 0), ("use_spot", "maybe")]:
            try:
                setattr(executor, field, value)
            except FieldError as err:
                print(err)
        """,
        """
        Invalid num_nodes: an integer >= 1. Found: 0
        Invalid use_spot: True or False. Found: 'maybe'
        """,
    ),
    md(
        """
        ## The YAML preview

        The form shows the SkyPilot task YAML live (SkyPilot is not imported for it). Secret-looking
        environment values (names with KEY, TOKEN, SECRET or PASSWORD) are masked in every display,
        and passed unchanged to the job:
        """
    ),
    checked(
        """
        executor.env_vars = {"WANDB_API_KEY": "abc123", "EPOCHS": "3"}
        picker.name.value = "train"
        print(picker.yaml.text)
        """,
        """
        name: train
        run: python train.py
        envs:
          WANDB_API_KEY: '********'
          EPOCHS: '3'
        num_nodes: 1
        resources:
          accelerators:
            H100: 8
          use_spot: true
          ports:
          - '8888'
          - '6006'

        """,
    ),
    md(
        """
        ## Save it for `sky launch`

        **Save as YAML** writes the real task (secrets included) for `sky launch -c mycluster
        train.yaml`. Loading it back gives the same executor.
        """
    ),
    checked(
        """
        picker.yaml.path.value = str(scratch / "train.yaml")
        saved = picker.yaml.save()
        again = SkyExecutor.from_yaml(saved.read_text())
        print(again.gpus, again.gpus_per_node, again.use_spot, again.ports, again.env_vars["WANDB_API_KEY"])
        print("same task:", again.to_config("train") == executor.to_config("train"))
        """,
        """
        H100 8 True [8888, 6006] abc123
        same task: True
        """,
    ),
    md(
        """
        And SkyPilot itself reads it as a task: `sky.Task.from_yaml`, the loader behind `sky launch`,
        run in a separate Python process so that this notebook never waits for `import sky`
        (seconds):
        """
    ),
    checked(
        """
        import subprocess
        import sys

        load_with_skypilot = '''
        import sys, sky
        task = sky.Task.from_yaml(sys.argv[1])
        (res,) = task.resources
        print(task.name, task.num_nodes, res.accelerators, res.use_spot, sorted(res.ports))
        print("secret passed unchanged:", task.envs["WANDB_API_KEY"] == "abc123")
        '''
        print(subprocess.run([sys.executable, "-c", load_with_skypilot, str(saved)],
                             capture_output=True, text=True, check=True).stdout, end="")
        """,
        """
        train 1 {'H100': 8} True ['6006', '8888']
        secret passed unchanged: True
        """,
    ),
    md(
        """
        ## Launching from the form

        Back to resources this machine has, a command, then **Launch**. Here the button is
        clicked from code (`launch_button.click()`, what a click in the browser does); the job's
        live panel appears under the form and the job is kept in `picker.job`.
        """
    ),
    code(
        """
        executor.gpus = None
        executor.use_spot = False
        executor.env_vars = {"GREETING": "hello from the picker"}
        picker.command.value = 'echo "$GREETING"'
        picker.name.value = "from-picker"
        picker.launch_button.click()
        picker_job = picker.job
        """
    ),
    checked(
        """
        print(picker_job.name, picker_job.wait(timeout=60))
        print(picker_job.logs().split(") ", 1)[1], end="")
        """,
        """
        from-picker SUCCEEDED
        hello from the picker
        """,
    ),
]

MULTINODE: list[Cell] = [
    md(
        """
        # 03 · Multi-node jobs: ranks, SKYPILOT_* variables and a torchrun command line

        With `num_nodes=2` the run script runs once per node. Each node gets SkyPilot's variables:
        `SKYPILOT_NODE_RANK`, `SKYPILOT_NUM_NODES`, `SKYPILOT_NODE_IPS` (one IP a line, the head
        first) and `SKYPILOT_NUM_GPUS_PER_NODE`. The local backend runs each node as a process on
        this machine, with the same variables.
        """
    ),
    code("%load_ext skyexec_nb\n%config SkyLaunchMagics.default_backend = \"local\"  # this tutorial runs on this machine"),
    code(
        """
        %%skylaunch --nodes 2 --wait --name ranks --out ranks
        echo "node $SKYPILOT_NODE_RANK of $SKYPILOT_NUM_NODES, head $(echo "$SKYPILOT_NODE_IPS" | head -n1)"
        """
    ),
    md(
        """
        Each rank's exit code is recorded. Each log line starts with the node it came from (as
        SkyPilot prints it), and the nodes' lines interleave: strip the prefix and sort them.
        """
    ),
    code(
        """
        def messages(job, starting=""):
            \"\"\"The job's log lines without their '(node, rank=..., pid=...) ' prefix, sorted.\"\"\"
            lines = (line.split(") ", 1)[-1] for line in job.logs().splitlines())
            return sorted(line for line in lines if line.startswith(starting))
        """
    ),
    checked(
        """
        print(ranks.status, ranks.exit_codes)
        print("\\n".join(messages(ranks, "node ")))
        """,
        """
        SUCCEEDED {0: 0, 1: 0}
        node 0 of 2, head 127.0.0.1
        node 1 of 2, head 127.0.0.1
        """,
    ),
    md(
        """
        ## Macros: what a launcher substitutes

        A SkyExecutor knows how many nodes and processes per node a job has, and the names of
        the shell variables that hold the rendezvous values on each node:
        """
    ),
    SCRATCH,
    checked(
        """
        import dataclasses

        from skyexec_nb import SkyExecutor

        executor = SkyExecutor(num_nodes=2, torchrun_nproc_per_node=2)
        print("nnodes:", executor.nnodes(), "nproc_per_node:", executor.nproc_per_node())
        for name, value in dataclasses.asdict(executor.macro_values()).items():
            print(f"{name} = {value}")
        """,
        """
        nnodes: 2 nproc_per_node: 2
        head_node_ip_var = head_node_ip
        nproc_per_node_var = SKYPILOT_NUM_GPUS_PER_NODE
        num_nodes_var = num_nodes
        node_rank_var = SKYPILOT_NODE_RANK
        het_group_host_var = het_group_host
        """,
    ),
    md(
        """
        ## A torchrun command line

        Built from `nnodes()` and `nproc_per_node()`, with the node rank and head address read
        from the macros' variables on each node. When PyTorch is installed the job runs a real
        `torchrun` (gloo backend, on the CPU) and all-reduces the ranks; without it, a few lines of
        plain Python play torchrun's part (one worker process per local rank, torchrun's
        variables).
        """
    ),
    code(
        """
        import importlib.util
        import socket
        import sys
        import textwrap

        have_torch = importlib.util.find_spec("torch") is not None
        macros = executor.macro_values()
        with socket.socket() as s:  # a free port for the rendezvous on this machine
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]

        train = scratch / "train.py"
        train.write_text(textwrap.dedent('''
            import os, sys
            rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
            sys.stdout.write(f"worker rank={rank} world_size={world} node={os.environ['GROUP_RANK']}"
                             f" local_rank={os.environ['LOCAL_RANK']}\\\\n")
            sys.stdout.flush()
            try:
                import torch
                import torch.distributed as dist
            except ImportError:
                sys.exit(0)
            dist.init_process_group("gloo")
            total = torch.tensor([rank])
            dist.all_reduce(total)
            if rank == 0:
                print(f"all_reduce(sum of ranks) = {int(total)}", flush=True)
            dist.destroy_process_group()
        '''))

        fake_torchrun = scratch / "fake_torchrun.py"
        fake_torchrun.write_text(textwrap.dedent('''
            # Plays torchrun's part without PyTorch: one process per local rank, torchrun's variables.
            import argparse, os, subprocess, sys
            p = argparse.ArgumentParser()
            for flag in ("--nnodes", "--nproc_per_node", "--node_rank", "--master_port"):
                p.add_argument(flag, type=int)
            p.add_argument("--master_addr")
            p.add_argument("script")
            a = p.parse_args()
            procs = []
            for local in range(a.nproc_per_node):
                env = dict(os.environ, RANK=str(a.node_rank * a.nproc_per_node + local), LOCAL_RANK=str(local),
                           WORLD_SIZE=str(a.nnodes * a.nproc_per_node), GROUP_RANK=str(a.node_rank),
                           MASTER_ADDR=a.master_addr, MASTER_PORT=str(a.master_port))
                procs.append(subprocess.Popen([sys.executable, a.script], env=env))
            sys.exit(max(p.wait() for p in procs))
        '''))

        torchrun = f"{sys.executable} -m torch.distributed.run" if have_torch else f"{sys.executable} {fake_torchrun}"
        cmd = (
            f"{torchrun} --nnodes={executor.nnodes()} --nproc_per_node={executor.nproc_per_node()}"
            f" --node_rank=${macros.node_rank_var} --master_addr=${macros.head_node_ip_var}"
            f" --master_port={port} {train}"
        )
        print(cmd)
        """
    ),
    md(
        """
        `$head_node_ip` (and `$num_nodes`) come from `$SKYPILOT_NODE_IPS`: `RUN_PREAMBLE` is the
        two shell lines that define them, put before a run script that uses the macros.
        """
    ),
    code(
        """
        from skyexec_nb import launch
        from skyexec_nb.model.macros import RUN_PREAMBLE

        print(RUN_PREAMBLE)
        dist_job = launch(executor, RUN_PREAMBLE + cmd, name="torchrun-style")
        print(dist_job.wait(timeout=120))
        print(dist_job.logs(), end="")
        """
    ),
    md("Four workers (2 nodes x 2 processes per node), ranks 0 to 3:"),
    checked(
        """
        print(dist_job.status, dist_job.exit_codes)
        print("\\n".join(messages(dist_job, "worker ")))
        """,
        """
        SUCCEEDED {0: 0, 1: 0}
        worker rank=0 world_size=4 node=0 local_rank=0
        worker rank=1 world_size=4 node=0 local_rank=1
        worker rank=2 world_size=4 node=1 local_rank=0
        worker rank=3 world_size=4 node=1 local_rank=1
        """,
    ),
]

JOBS: list[Cell] = [
    md(
        """
        # 04 · Jobs outlive the kernel: the jobs table, logs, and a new kernel

        Every job is recorded (SQLite under `~/.skyexec_nb`, or `$SKYEXEC_NB_HOME`) before it
        starts, and runs under its own supervisor process. Restart the kernel, open another
        notebook or start a new kernel: the jobs are still there, still running, their logs
        still growing.
        """
    ),
    code("%load_ext skyexec_nb\n%config SkyLaunchMagics.default_backend = \"local\"  # this tutorial runs on this machine"),
    code(
        """
        %%skylaunch --name tick --out tick
        for i in $(seq 1 5); do echo "tick $i"; sleep 0.2; done
        """
    ),
    code(
        """
        %%skylaunch --name long-runner --out long_runner
        echo "started; working for a while"
        sleep 600
        """
    ),
    md("`%skyjobs` shows every recorded job, newest first, live, with per-row actions:"),
    code("%skyjobs"),
    md("`%skylogs JOB` prints a job's log (`--tail N` for its last lines, `--follow` to keep going):"),
    code("tick.wait(timeout=60)"),
    checked(
        "%skylogs tick --tail 2",
        """
        (tick, pid=4242) tick 4
        (tick, pid=4242) tick 5
        """,
    ),
    md(
        """
        ## Finding jobs again from a new kernel

        A second kernel (as after a restart, or in another notebook) sees the same jobs. Here
        `jupyter_client` starts one and asks it for the two jobs; `long-runner` is still running.
        """
    ),
    code(
        """
        import subprocess

        from jupyter_client.manager import start_new_kernel

        ask = f'''
        import skyexec_nb
        for j in skyexec_nb.jobs():
            if j.id in ({tick.id}, {long_runner.id}):
                print(j.name, j.status)
        '''
        km, kc = start_new_kernel(kernel_name="python3", stderr=subprocess.DEVNULL)  # no start-up chatter
        try:
            printed = []
            reply = kc.execute_interactive(
                ask, timeout=120,
                output_hook=lambda msg: printed.append(msg["content"].get("text", "")),
            )
            assert reply["content"]["status"] == "ok", reply["content"]
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
        print("".join(printed), end="")
        """
    ),
    md("The second kernel is gone; the long job is not. Cancel it by name:"),
    code("%skycancel long-runner"),
    checked(
        """
        import skyexec_nb

        print(long_runner.wait(timeout=60))
        print([(j.name, str(j.status)) for j in skyexec_nb.jobs() if j.id in (tick.id, long_runner.id)])
        """,
        """
        CANCELLED
        [('tick', 'SUCCEEDED'), ('long-runner', 'CANCELLED')]
        """,
    ),
    md(
        """
        `skyexec_nb.jobs()` (newest last) and `skyexec_nb.get_job(id)` work the same from any
        kernel; `job.on_change(callback)` reports state changes as they happen.
        """
    ),
]

CLOUDS: list[Cell] = [
    md(
        """
        # 05 · On a real cloud: the `skypilot` backend

        Everything so far ran on the local backend. On a cloud the same executor and magics go
        through SkyPilot (`--backend skypilot`, or `%config SkyLaunchMagics.default_backend =
        "skypilot"`). What changes: a cluster is provisioned (spot or on-demand), ports are
        opened, the cluster stops or goes away when idle, and you tear it down when done.

        Cells that need a cloud account check for one first and are **skipped with a message**
        when none is enabled. With a cloud enabled (`sky check`) they run for real, on a small
        CPU spot instance that tears itself down, and cost a few cents.
        """
    ),
    code("%load_ext skyexec_nb"),
    code(
        """
        from skyexec_nb import SkyExecutor

        gpu_box = SkyExecutor(
            gpus="A100", gpus_per_node=8, use_spot=True, ports="8888, 6006",
            idle_minutes_to_autostop=30, autodown=True, cluster_name="skx-finetune",
        )
        """
    ),
    md(
        """
        ## `--dryrun` and `--yaml`: see the plan, launch nothing

        `--dryrun` shows the launch plan and the task; `--yaml` prints the task only. Neither
        launches anything or needs a cloud account.
        """
    ),
    code(
        """
        %%skylaunch --executor gpu_box --backend skypilot --name finetune --dryrun
        python train.py --epochs 3
        """
    ),
    md(
        """
        Spot, ports and autostop/autodown all land in the SkyPilot task (the same text as
        `--yaml`; `sky launch` accepts it):
        """
    ),
    checked(
        """
        print(gpu_box.to_yaml("finetune", cmd="python train.py --epochs 3"))
        """,
        """
        name: finetune
        run: python train.py --epochs 3
        num_nodes: 1
        resources:
          accelerators:
            A100: 8
          use_spot: true
          ports:
          - '8888'
          - '6006'
          autostop:
            idle_minutes: 30
            down: true

        """,
    ),
    md(
        """
        ## Which clouds does `sky check` report?

        `sky check` tests each cloud's credentials and records the enabled ones in SkyPilot's
        state (`~/.sky/state.db`). Reading that record is cheap and starts nothing: no API
        server, no network.
        """
    ),
    code(
        """
        import json
        import os
        import sqlite3
        from contextlib import closing
        from pathlib import Path


        def enabled_clouds() -> list[str]:
            \"\"\"Clouds the last `sky check` enabled for compute ([] if it never ran here).\"\"\"
            db = Path(os.environ.get("SKY_RUNTIME_DIR") or Path.home()) / ".sky" / "state.db"
            if not db.exists():
                return []
            try:
                with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2)) as conn:
                    rows = conn.execute(
                        "SELECT value FROM config WHERE key LIKE 'enabled_clouds_%compute%'"
                    ).fetchall()
            except sqlite3.Error:
                return []
            return sorted({cloud for (value,) in rows for cloud in json.loads(value)})


        clouds = enabled_clouds()
        if clouds:
            print("Enabled clouds:", ", ".join(clouds))
        else:
            print("No cloud is enabled here: the cells below that need one print a message and skip.\\n"
                  "To enable one: set up its credentials, then run `sky check`.")
        """
    ),
    md(
        """
        ## Launch for real

        A small CPU spot instance with a port open, which stops after 5 idle minutes and then tears
        itself down (`autodown`). The panel shows PROVISIONING, then the job's states and log.
        Spot instances can be preempted: the `jobs` backend (SkyPilot managed jobs) recovers
        from that automatically.
        """
    ),
    code(
        """
        from skyexec_nb import launch

        small_box = SkyExecutor(
            cpus="2+", use_spot=True, ports="8888", idle_minutes_to_autostop=5, autodown=True,
            cluster_name="skx-tutorial",
        )
        if not clouds:
            print("Skipped (no cloud enabled): would launch 'hello-cloud' on a spot", small_box.cpus,
                  "CPU instance, cluster", small_box.cluster_name)
        else:
            cloud_job = launch(small_box, 'echo "hello from $(hostname)"', name="hello-cloud", backend="skypilot")
            display(cloud_job)
            print(cloud_job.wait(timeout=1800))
        """
    ),
    md(
        """
        ## Tear down

        Autostop/autodown are the safety net; tear the cluster down as soon as you are done with
        `%skydown CLUSTER` (no question asked; it prints what it did) or `job.down()`.
        """
    ),
    code(
        """
        if not clouds:
            print("Skipped (no cloud enabled): would run %skydown", small_box.cluster_name)
        else:
            get_ipython().run_line_magic("skydown", small_box.cluster_name)
        """
    ),
]

NOTEBOOKS: dict[str, list[Cell]] = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_resource_picker.ipynb": PICKER,
    "03_multinode.ipynb": MULTINODE,
    "04_jobs_and_restart.ipynb": JOBS,
    "05_skypilot_clouds.ipynb": CLOUDS,
}


def build(name: str, cells: list[Cell]) -> nbformat.NotebookNode:
    """The notebook ``name`` (outputs-free, kernelspec python3, stable cell ids)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    prefix = name.split("_", 1)[0]
    count = 0
    for index, (kind, source, *expected) in enumerate(cells):
        if kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(source)
        else:
            cell = nbformat.v4.new_code_cell(source)
            count += 1
        if kind == "checked":  # nbval compares only the cells that have a stored execution
            cell.execution_count = count
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=expected[0])]
        cell["id"] = f"skx{prefix}-{index:02d}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def render(name: str, cells: list[Cell]) -> str:
    return nbformat.writes(build(name, cells)) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a notebook differs from its source")
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write to (default: notebooks/)")
    args = parser.parse_args(argv)
    stale = []
    for name, cells in NOTEBOOKS.items():
        path = args.out / name
        text = render(name, cells)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
            print(f"wrote {path}")
    if stale:
        print(f"out of date (run python notebooks/make_notebooks.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
