"""One log line as the log pane shows it: node rank, colours kept, progress bars collapsed.

A raw line from a job's log becomes ``(rank, text)``:

- SkyPilot's per-node prefix of multi-node jobs, ``(head, rank=0, pid=N) `` or
  ``(worker1, rank=1, pid=N, ip=127.0.0.1) `` (possibly coloured), becomes the rank (0, 1, ...)
  and is removed from the text; views show it as a short ``[0] `` prefix. A single-node job's
  ``(<task>, pid=N) `` prefix carries nothing and is removed.
- ANSI colour codes (SGR, ``ESC[...m``) are kept for the front end to render; every other escape
  sequence (cursor moves, OSC titles) is dropped.
- A progress bar's carriage returns (``10%\\r50%\\r100%``) keep only the part after the last ``\\r``.
- Lines longer than :data:`MAX_LINE_CHARS` are cut with a marker.
"""
from __future__ import annotations

import re

from skyexec_nb.model.sky_module import strip_ansi

#: Longest line kept (characters); longer lines are cut with a marker.
MAX_LINE_CHARS = 10_000

_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[@-Z\\-_]")
_SGR = re.compile(r"\x1b\[[0-9;]*m")
_RANK_PREFIX = re.compile(
    r"^(?:\x1b\[[0-9;]*m)*\((?:head|worker\d+), rank=(\d+), pid=\d+(?:, ip=[^)]*)?\)(?:\x1b\[[0-9;]*m)* ?"
)
#: A single-node job's prefix, ``(<task name>, pid=N) ``: it says nothing, the pane drops it.
_TASK_PREFIX = re.compile(r"^(?:\x1b\[[0-9;]*m)*\([^()\s,]+, pid=\d+\)(?:\x1b\[[0-9;]*m)* ?")


def keep_colours(text: str) -> str:
    """``text`` without escape sequences other than SGR colour codes."""
    if "\x1b" not in text:
        return text
    return _ESCAPE.sub(lambda m: m.group(0) if _SGR.fullmatch(m.group(0)) else "", text)


def after_last_return(text: str) -> str:
    """What a terminal shows of a line overwritten with ``\\r`` (a trailing ``\\r`` is ignored)."""
    if "\r" not in text:
        return text
    return text.rstrip("\r").rsplit("\r", 1)[-1]


def split_rank(text: str) -> tuple[int | None, str]:
    """``(rank, rest)`` of a line with SkyPilot's multi-node prefix, else ``(None, text)``."""
    if not text.startswith(("(", "\x1b")):
        return None, text
    match = _RANK_PREFIX.match(text)
    if match is None:
        task = _TASK_PREFIX.match(text)
        return None, text[task.end():] if task else text
    return int(match.group(1)), text[match.end():]


def rank_prefix_length(text: str) -> int:
    """Length of SkyPilot's node or task prefix at the start of ``text`` (0 when none)."""
    match = _RANK_PREFIX.match(text) or _TASK_PREFIX.match(text)
    return match.end() if match else 0


def clean_line(raw: str) -> tuple[int | None, str]:
    """``(rank, text)`` of one raw log line (colours kept, prefix and overwritten parts removed)."""
    rank, text = split_rank(raw)
    if "\r" in text:  # SkyPilot may prefix every redrawn piece: the last one's prefix wins
        last_rank, text = split_rank(after_last_return(text))
        rank = rank if last_rank is None else last_rank
    text = keep_colours(text)
    if len(text) > MAX_LINE_CHARS:
        text = text[:MAX_LINE_CHARS] + " …[line cut]"
    return rank, text


def short_prefix(rank: int | None) -> str:
    """``"[1] "`` for rank 1, ``""`` for a line of no rank."""
    return "" if rank is None else f"[{rank}] "


def plain(rank: int | None, text: str) -> str:
    """The line as plain text: short rank prefix, no colour codes."""
    return short_prefix(rank) + (strip_ansi(text) if "\x1b" in text else text)
