"""Names a launcher substitutes into commands (NeMo-Run's ``ExecutorMacros``), and how a run script
gets them: references stay expandable on the node, everything else stays quoted.

NeMo-Run's torchrun launcher writes commands such as ``--nnodes $num_nodes --rdzv-endpoint
$head_node_ip:29500``. ``$num_nodes`` and ``$head_node_ip`` are not SkyPilot variables: a run script
that uses them defines them first from ``$SKYPILOT_NODE_IPS`` (:data:`RUN_PREAMBLE`), as NeMo-Run's
own run script does. ``$SKYPILOT_NODE_RANK`` and ``$SKYPILOT_NUM_GPUS_PER_NODE`` are SkyPilot's.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Sequence

RUN_PREAMBLE = (
    'num_nodes=$(printf \'%s\\n\' "$SKYPILOT_NODE_IPS" | grep -c .)\n'
    'head_node_ip=$(printf \'%s\\n\' "$SKYPILOT_NODE_IPS" | head -n1)\n'
)
"""Shell lines that define ``$num_nodes`` and ``$head_node_ip`` on a SkyPilot node (one IP per
line in ``$SKYPILOT_NODE_IPS``, with or without a last newline)."""

MACRO_VARS = ("head_node_ip", "num_nodes", "SKYPILOT_NUM_GPUS_PER_NODE", "SKYPILOT_NODE_RANK")
"""Variables a macro reference in an argument list may name (they expand on the node)."""
_DEFINED_HERE = ("num_nodes", "head_node_ip")
_REF = re.compile(r"\$(?:\{(" + "|".join(MACRO_VARS) + r")\}|(" + "|".join(MACRO_VARS) + r")(?![A-Za-z0-9_]))")
_USES_PREAMBLE = re.compile(r"\$(?:\{(?:" + "|".join(_DEFINED_HERE) + r")\}|(?:" + "|".join(_DEFINED_HERE)
                            + r")(?![A-Za-z0-9_]))")


@dataclass(frozen=True)
class ExecutorMacros:
    """Shell variable names of the node's rendezvous values."""

    head_node_ip_var: str
    nproc_per_node_var: str
    num_nodes_var: str
    node_rank_var: str
    het_group_host_var: str


def quote_arg(arg: str) -> str:
    """One shell word for ``arg``: quoted, except macro references, which expand as ``"${name}"``.

    ``--rdzv-endpoint=$head_node_ip:29500`` -> ``'--rdzv-endpoint='"${head_node_ip}"':29500'``: the
    value cannot split into words or inject, and anything else (``$HOME``, backticks) stays literal.
    """
    parts, pos = [], 0
    for match in _REF.finditer(arg):
        if match.start() > pos:
            parts.append(shlex.quote(arg[pos:match.start()]))
        parts.append('"${%s}"' % (match.group(1) or match.group(2)))
        pos = match.end()
    if pos < len(arg) or not parts:
        parts.append(shlex.quote(arg[pos:]))
    return "".join(parts)


def join_args(args: Sequence[str]) -> str:
    """An argument list as one shell command line (see :func:`quote_arg`)."""
    return " ".join(quote_arg(str(a)) for a in args)


def with_preamble(script: str | None) -> str | None:
    """``script`` with :data:`RUN_PREAMBLE` first when it uses ``$num_nodes`` or ``$head_node_ip``."""
    if script is None or not _USES_PREAMBLE.search(script) or script.startswith(RUN_PREAMBLE):
        return script
    return RUN_PREAMBLE + script
