"""In the terminal chat too, `/model` and `/set` show the model the next answer uses."""

from __future__ import annotations

import io

from rich.console import Console

from bots.console.app import ConsoleApp
from tests.fakes.fake_router import text_script

QWEN = "Qwen/Qwen3-32B"


async def test_console_model_shows_the_assistants_model_that_answers_use(core, fake_router):
    out = io.StringIO()
    app = ConsoleApp(core, Console(file=out, width=200, color_system=None), user="carol")
    await app.start()
    await app.handle_line(f'/assistant new Coder model={QWEN} instructions="Code."')
    await app.handle_line("/assistant use Coder")
    await app.handle_line("/model")
    await app.handle_line("/set")
    text = out.getvalue()
    assert f"Model: {QWEN} (from the assistant Coder)" in text, text
    [row] = [line for line in text.splitlines() if line.startswith("│ model ")]
    assert QWEN in row and "assistant" in row
    fake_router.queue(text_script("ok"))
    await app.handle_line("hello")
    assert fake_router.requests[-1]["model"].split(":")[0] == QWEN
