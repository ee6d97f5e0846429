"""Which event loop runs the process: uvloop where it is installed (every platform but Windows), asyncio's own
otherwise or when EVENT_LOOP=asyncio.

One loop drives every stream a process holds, so its own cost per callback and per socket read bounds how many
streams one core serves: uvloop (libuv, in C) spends less of that core than asyncio's selector loop.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory(choice: str = "auto") -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop for `auto` when it can be imported; None (asyncio's default loop) otherwise."""
    if choice == "asyncio" or sys.platform == "win32":
        return None
    try:
        import uvloop
    except ImportError:  # not installed (an optional build, another platform): asyncio's loop serves as well
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T], choice: str = "auto") -> T:
    """`asyncio.run(main)` on the loop `choice` selects."""
    with asyncio.Runner(loop_factory=loop_factory(choice)) as runner:
        return runner.run(main)


def describe(loop: asyncio.AbstractEventLoop | None = None) -> str:
    """The running loop as a log line names it: `uvloop 0.21.0` or `asyncio (_UnixSelectorEventLoop)`."""
    loop = loop or asyncio.get_running_loop()
    cls = type(loop)
    if cls.__module__.partition(".")[0] == "uvloop":
        import uvloop

        return f"uvloop {uvloop.__version__}"
    return f"asyncio ({cls.__name__})"
