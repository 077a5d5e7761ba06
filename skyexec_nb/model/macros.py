"""Names a launcher substitutes into commands (NeMo-Run's ``ExecutorMacros``)."""
from __future__ import annotations

from dataclasses import dataclass

RUN_PREAMBLE = (
    'num_nodes=$(echo "$SKYPILOT_NODE_IPS" | wc -l)\n'
    'head_node_ip=$(echo "$SKYPILOT_NODE_IPS" | head -n1)\n'
)
"""Shell lines that define ``$num_nodes`` and ``$head_node_ip`` on a SkyPilot node.

Prepend it to a run script that uses those two macros (``to_config`` never adds it itself)."""


@dataclass(frozen=True)
class ExecutorMacros:
    """Shell variable names of the node's rendezvous values."""

    head_node_ip_var: str
    nproc_per_node_var: str
    num_nodes_var: str
    node_rank_var: str
    het_group_host_var: str
