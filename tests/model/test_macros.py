"""NeMo-Run's macros in a run script: references expand on the node, nothing else does.

NeMo-Run 0.11.1's SkypilotExecutor hands out ``macro_values()`` (head_node_ip_var='head_node_ip',
num_nodes_var='num_nodes', node_rank_var='SKYPILOT_NODE_RANK',
nproc_per_node_var='SKYPILOT_NUM_GPUS_PER_NODE'); its run script defines ``num_nodes`` and
``head_node_ip`` from ``$SKYPILOT_NODE_IPS`` and then runs ``" ".join(cmd)``, so a torchrun
command built with those macros sees the values. These tests run the script we write in a real
bash, with SkyPilot's variables set as on a 2-node cluster.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from skyexec_nb.model.executor import SkyExecutor

NODE_ENV = {"SKYPILOT_NODE_IPS": "10.0.0.1\n10.0.0.2\n", "SKYPILOT_NODE_RANK": "1",
            "SKYPILOT_NUM_GPUS_PER_NODE": "8", "PATH": os.environ["PATH"]}


def _argv(run: str, tmp_path: Path) -> list[str]:
    """The arguments the run script's command receives (its command is ``printf '%s\\n'``)."""
    script = tmp_path / "run.sh"
    script.write_text(run)
    out = subprocess.run(["bash", str(script)], env=NODE_ENV, capture_output=True, text=True, cwd=tmp_path,
                         check=True)
    return out.stdout.splitlines()


def test_torchrun_style_macros_expand_on_the_node(tmp_path: Path) -> None:
    ex = SkyExecutor(num_nodes=2, gpus="A100:8")
    m = ex.macro_values()
    cmd = ["printf", "%s\n", "--nnodes", f"${m.num_nodes_var}", f"--nproc-per-node=${m.nproc_per_node_var}",
           f"--node-rank=${{{m.node_rank_var}}}", f"--rdzv-endpoint=${m.head_node_ip_var}:29500", "train.py"]
    run = ex.to_config("ddp", cmd=cmd)["run"]
    assert _argv(run, tmp_path) == ["--nnodes", "2", "--nproc-per-node=8", "--node-rank=1",
                                    "--rdzv-endpoint=10.0.0.1:29500", "train.py"]


@pytest.mark.parametrize("arg", ["$(touch pwned)", "`touch pwned`", "a b; touch pwned", "$HOME", "it's",
                                 "$num_nodesX", "${HOME}", "*"])
def test_everything_else_stays_literal(arg: str, tmp_path: Path) -> None:
    run = SkyExecutor().to_config("t", cmd=["printf", "%s\n", arg])["run"]
    assert _argv(run, tmp_path) == [arg]
    assert not (tmp_path / "pwned").exists()


def test_a_value_with_spaces_does_not_split(tmp_path: Path) -> None:
    run = SkyExecutor().to_config("t", cmd=["printf", "%s\n", "$head_node_ip"])["run"]
    script = tmp_path / "run.sh"
    script.write_text(run)
    env = {**NODE_ENV, "SKYPILOT_NODE_IPS": "host with space\nother\n"}
    out = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["host with space"]


def test_a_script_string_gets_the_definitions_only_when_it_uses_them(tmp_path: Path) -> None:
    uses = SkyExecutor().to_config("t", cmd='printf "%s\\n" "$num_nodes" "${head_node_ip}"\n')["run"]
    assert _argv(uses, tmp_path) == ["2", "10.0.0.1"]
    plain = "echo $SKYPILOT_NODE_RANK\n"
    assert SkyExecutor().to_config("t", cmd=plain)["run"] == plain  # byte for byte when unused
