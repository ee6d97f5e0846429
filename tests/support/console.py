"""The terminal front end on a string buffer, for tests."""

from __future__ import annotations

import io

from rich.console import Console

from bots.console.app import ConsoleApp


async def make_app(core):
    out = io.StringIO()
    app = ConsoleApp(core, Console(file=out, width=100, force_terminal=False), user="tester")
    await app.start()
    return app, out
