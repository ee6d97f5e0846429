"""The terminal's /models (catalog with prices) and /export (a file whose path is printed)."""

import io
import json
import stat

from rich.console import Console

from bots.console.app import ConsoleApp
from tests.fakes.fake_router import text_script


async def make_app(core, tmp_path, width=160):
    out = io.StringIO()
    app = ConsoleApp(
        core, Console(file=out, width=width, force_terminal=False), user="tester", export_dir=tmp_path / "exports"
    )
    await app.start()
    return app, out


async def test_models_lists_providers_context_prices_vision_and_tools(core, tmp_path):
    app, out = await make_app(core, tmp_path)
    await app.handle_line("/models")
    text = out.getvalue()
    rows = {line.split("│")[1].strip(): line for line in text.splitlines() if line.count("│") > 5}
    llama = rows["meta-llama/Llama-3.3-70B-Instruct"]
    assert "131,072" in llama and "groq" in llama and "$0.59" in llama and "$0.79" in llama
    assert [cell.strip() for cell in llama.split("│")[6:8]] == ["", "yes"]  # no vision, tools
    gemma = rows["google/gemma-3-27b-it"]
    assert [cell.strip() for cell in gemma.split("│")[6:8]] == ["yes", ""]
    assert "$/M in" in text and "$/M out" in text

    out.truncate(0)
    await app.handle_line("/models qwen")
    assert "Qwen/Qwen3-32B" in out.getvalue() and "gemma" not in out.getvalue()
    await app.handle_line("/models nothing-like-this")
    assert "No model matches “nothing-like-this”." in out.getvalue()
    await app.handle_line("/model list gemma")  # the older spelling shows the same table
    assert "google/gemma-3-27b-it" in out.getvalue()


async def test_export_writes_markdown_or_json_and_prints_the_path(core, fake_router, tmp_path):
    app, out = await make_app(core, tmp_path, width=400)
    await app.handle_line("/export")
    assert "nothing stored yet" in out.getvalue()
    fake_router.queue(text_script("The answer about export."))
    await app.handle_line("export me")
    conversation = await core.chat.conversation_for(app.key)

    await app.handle_line("/export")
    path = tmp_path / "exports" / f"conversation-{conversation.id}.md"
    assert f"to {path.resolve()}" in out.getvalue()
    markdown = path.read_text()
    assert "export me" in markdown and "The answer about export." in markdown
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # private, like the conversation

    await app.handle_line("/new")
    await app.handle_line("/export json 1")  # N from /list: the newest conversation with messages
    document = json.loads((tmp_path / "exports" / f"conversation-{conversation.id}.json").read_text())
    assert [m["content"] for m in document["messages"]] == ["export me", "The answer about export."]
    await app.handle_line("/export md 9")
    assert "Give a number from /list" in out.getvalue()
