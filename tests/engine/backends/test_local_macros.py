"""A NeMo-Run style torchrun command (macros in an argument list) runs on a 2-node local job."""
from __future__ import annotations

from skyexec_nb.engine.api import launch
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.model.executor import SkyExecutor


def test_macro_arguments_expand_on_every_node() -> None:
    ex = SkyExecutor(num_nodes=2)
    m = ex.macro_values()
    cmd = ["echo", "nnodes", f"${m.num_nodes_var}", f"rank=${m.node_rank_var}",
           f"--rdzv-endpoint=${m.head_node_ip_var}:29500", "$(echo not-run)"]
    job = launch(ex, cmd, backend="local", name="macros")
    assert job.wait(120) is JobStatus.SUCCEEDED  # generous: a loaded 2-core CI machine
    lines = sorted(line.split(") ", 1)[1] for line in job.logs().splitlines() if "nnodes" in line)
    assert lines == [f"nnodes 2 rank={r} --rdzv-endpoint=127.0.0.1:29500 $(echo not-run)" for r in (0, 1)]
