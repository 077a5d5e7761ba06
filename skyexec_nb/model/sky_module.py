"""Which SkyPilot SDK module to use, resolved lazily, and SkyPilot errors on one line.

``sdk()`` returns the ``sky`` module (seconds to import: call it only on code paths that talk to
SkyPilot), or the module named by the environment variable ``SKYEXEC_NB_SKY_SDK`` (tests point it
at the stand-in ``sky_standin``). Nothing here imports ``sky`` at import time. It lives in the
model so that both the executor's seed SDK methods and the engine's backends can use it.
"""
from __future__ import annotations

import importlib
import os
import re
from types import ModuleType

SDK_ENV = "SKYEXEC_NB_SKY_SDK"

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[@-Z\\-_]")


def sdk() -> ModuleType:
    """The SkyPilot SDK module: ``sky``, or the module named by ``$SKYEXEC_NB_SKY_SDK``."""
    return importlib.import_module(os.environ.get(SDK_ENV) or "sky")


def strip_ansi(text: str) -> str:
    """``text`` without ANSI escape sequences (SkyPilot colours its messages)."""
    return _ANSI.sub("", text)


def one_line_error(exc: BaseException) -> str:
    """SkyPilot's message for ``exc`` on one line, without colour codes.

    Returns ``"<ExceptionClass>: <message>"`` with line breaks and runs of spaces collapsed,
    or just the class name when the exception carries no message.
    """
    message = " ".join(strip_ansi(str(exc)).split())
    name = type(exc).__name__
    return f"{name}: {message}" if message else name
