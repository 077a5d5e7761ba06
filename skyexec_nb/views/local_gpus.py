"""What the local backend will do with GPUs this machine lacks, in words (CSS ``skx-gpu-warning``).

The local backend runs the command on this machine whatever accelerators the task asks for: it
sets ``SKYPILOT_NUM_GPUS_PER_NODE`` to the count asked for and starts the command; nothing gives it
GPUs the machine does not have. The picker warns before the launch. GPUs are counted with
``nvidia-smi -L`` (no import of torch or CUDA); no ``nvidia-smi`` on PATH means no NVIDIA GPU.
"""
from __future__ import annotations

import shutil
import subprocess
import threading
from typing import Any

_lock = threading.Lock()
_count: int | None = None


def local_gpu_count() -> int:
    """NVIDIA GPUs on this machine (``nvidia-smi -L`` lines; 0 without nvidia-smi), read once."""
    global _count
    with _lock:
        if _count is None:
            _count = _probe()
        return _count


def _probe() -> int:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return 0
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))


def requested_gpus(executor: Any) -> int:
    """GPUs per node the executor asks for (first alternative), 0 for none or an unreadable form."""
    from skyexec_nb.engine.backends.local import gpus_per_node

    try:
        return int(gpus_per_node(executor.to_config("preview")))
    except Exception:  # an invalid form: no warning about GPUs (the field says what is wrong)
        return 0


def gpu_warning(asked: int, present: int) -> str:
    """The warning for ``asked`` GPUs per node on a machine with ``present`` ('' when they fit)."""
    if asked <= present:
        return ""
    have = ("This machine has no NVIDIA GPU (nvidia-smi not found)" if present == 0
            else f"This machine has {present} GPU{'s' * (present != 1)}")
    instead = "without GPUs" if present == 0 else f"with the {present} GPU{'s' * (present != 1)} it has"
    return (f"{have}, but {asked} per node are asked for. The local backend will run the command here "
            f"{instead}; SKYPILOT_NUM_GPUS_PER_NODE is still set to {asked}. "
            "Choose a cloud backend to get GPUs.")
