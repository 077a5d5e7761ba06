"""Default job names: ``<word>-<tag>`` from the command's first meaningful word (``train-3fa2``)."""
from __future__ import annotations

import os
import re
import shlex
import uuid
from pathlib import Path
from typing import Sequence

#: Leading words of a shell command that are not the program (keywords, wrappers).
_LEADING = frozenset({"do", "then", "else", "elif", "if", "while", "until", "!", "{", "(", "time", "nohup", "exec",
                      "sudo", "env", "command", "builtin"})
#: Commands that say nothing about what a job is for: the next command names it better.
_BORING = frozenset({"for", "select", "case", "done", "fi", "esac", "}", ")", "echo", "printf", "sleep", "cd", "export",
                     "set", "source", ".", "mkdir", "rm", "cp", "mv", "ls", "cat", "true", "false", "wait", "pip",
                     "pip3", "conda", "module", "ulimit", "trap", "shift", "test", "[", "[[", "pwd", "date", "exit",
                     "return", "local", "declare", "unset", "touch", "tee", "nvidia-smi", "hostname", "which",
                     ":"})
#: Programs whose script (or ``-m`` module) names the job better than the program itself.
_RUNNERS = frozenset({"python", "python3", "bash", "sh", "zsh", "node", "rscript", "julia", "torchrun", "accelerate",
                      "deepspeed", "ipython", "papermill", "perl", "ruby", "uv", "poetry", "pipenv", "srun",
                      "mpirun", "mpiexec", "horovodrun", "composer"})


def _stem(word: str) -> str:
    name = Path(word).name
    return name.rsplit(".", 1)[0] if "." in name[1:] else name


def _program_word(words: list[str]) -> str:
    """What one simple command runs, '' when it says nothing (see ``_BORING``)."""
    while words and (words[0] in _LEADING or ("=" in words[0] and not words[0].startswith("-"))):
        words = words[1:]
    if not words or words[0] in _BORING:
        return ""
    program = Path(words[0].strip("\"'")).name
    if not (program.lower() in _RUNNERS or re.fullmatch(r"python[0-9.]*", program)):
        return _stem(program)
    args = iter(words[1:])
    for arg in args:
        arg = arg.strip("\"'")
        if arg == "-m":
            return next(args, program).strip("\"'").rsplit(".", 1)[-1]
        if arg == "-c":
            return program
        if arg.startswith("-") or arg.isdigit() or arg in ("run", "launch", "exec") or "=" in arg:
            continue
        return _stem(arg)
    return program


def _meaningful_word(text: str) -> tuple[str, str]:
    """The first simple command's program (or a runner's script) that names the job, else '';
    and the first program at all (the name of last resort)."""
    first = ""
    for segment in re.split(r"[;\n]|&&|\|\||\||\$\(|`", text):
        words = segment.split()
        word = _program_word(words)
        if word:
            return word, first
        rest = [w for w in words if w not in _LEADING and "=" not in w]
        if not first and rest and rest[0] not in ("for", "select", "case", "done", "fi", "esac", "}", ")", ":"):
            first = rest[0]
    return "", first


def default_name(command: str | Sequence[str], tag: str | None = None) -> str:
    """``<word>-<tag>``: the command's first meaningful word and a short random tag (4 hex digits),
    so a table of jobs tells them apart (``train-3fa2``, ``eval-91c0``).

    The word is the script or module a runner runs (``python -m pkg.train`` -> ``train``, ``torchrun
    … finetune.py`` -> ``finetune``), else the first program that is not a shell keyword or wrapper
    (``for``, ``cd``, ``env``, ``sleep``…); without one, the notebook's name when the kernel was
    started by Jupyter (``JPY_SESSION_NAME``), else the first program (``sleep``), else ``job``. ``tag`` (e.g. kept by a form so its
    preview and its launch agree) replaces the random one; ``""`` gives the word alone.
    """
    if isinstance(command, str):
        text = "\n".join(ln for ln in (x.strip() for x in command.splitlines()) if ln and not ln.startswith("#"))
    else:
        text = " ".join(shlex.quote(str(a)) for a in command)
    word, first = _meaningful_word(text)
    if not word:
        session = os.environ.get("JPY_SESSION_NAME", "")
        word = Path(session).stem if session.endswith(".ipynb") else Path(first).name
    word = re.sub(r"[^A-Za-z0-9._-]+", "-", word).strip("-._")[:40].strip("-._") or "job"
    tag = uuid.uuid4().hex[:4] if tag is None else tag
    return f"{word}-{tag}" if tag else word
