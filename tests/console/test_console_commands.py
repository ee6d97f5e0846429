"""The terminal's /models (catalog with prices) and /export (a file whose path is printed)."""

import io
import json
import stat
import time

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
    conversation = await core.chat.conversations.for_key(app.key)

    await app.handle_line("/export")
    day = time.strftime("%Y-%m-%d", time.localtime(conversation.updated_at))
    path = tmp_path / "exports" / f"export-me-{day}.md"  # the title and the date, in the data folder
    assert f"to {path.resolve()}" in out.getvalue()
    markdown = path.read_text()
    assert "export me" in markdown and "The answer about export." in markdown
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # private, like the conversation

    await app.handle_line("/new")
    await app.handle_line("/export json 1")  # N from /list: the newest conversation with messages
    document = json.loads((tmp_path / "exports" / f"export-me-{day}.json").read_text())
    assert [m["content"] for m in document["messages"]] == ["export me", "The answer about export."]
    await app.handle_line("/export 1")  # again: beside the first, never over it
    assert (tmp_path / "exports" / f"export-me-{day}-2.md").read_text() == markdown
    given = tmp_path / "elsewhere" / "mine.md"
    await app.handle_line(f"/export 1 {given}")
    assert given.read_text() == markdown
    await app.handle_line(f"/export json 1 {tmp_path / 'folder'}/")
    assert (tmp_path / "folder" / f"export-me-{day}.json").exists()
    await app.handle_line("/export md 9")
    assert "Give a number from /list" in out.getvalue()


async def test_export_goes_to_the_data_folder_never_the_current_one(core, fake_router, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = ConsoleApp(core, Console(file=io.StringIO(), width=400), user="tester")
    await app.start()
    await app.handle_line("a question")
    await app.handle_line("/export")
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".md"] == []
    assert list((core.settings.data_path / "exports").glob("a-question-*.md"))


async def test_open_shows_the_last_turns(core, fake_router, tmp_path):
    app, out = await make_app(core, tmp_path)
    for number in range(1, 5):
        fake_router.queue(text_script(f"Answer number {number}."))
        await app.handle_line(f"question {number}")
    await app.handle_line("/new")
    out.truncate(0)
    out.seek(0)
    await app.handle_line("/open 1")
    shown = out.getvalue()
    assert "Back in: question 1" in shown
    assert "question 1" not in shown.replace("Back in: question 1", "")  # the last three turns only
    for number in (2, 3, 4):
        assert f"> question {number}" in shown and f"Answer number {number}." in shown
    assert shown.index("question 2") < shown.index("Answer number 3.") < shown.index("question 4")


async def test_usage_is_a_table_not_markdown(core, fake_router, tmp_path):
    app, out = await make_app(core, tmp_path)
    await app.handle_line("hello")
    out.truncate(0)
    out.seek(0)
    await app.handle_line("/usage")
    shown = out.getvalue()
    assert "**" not in shown and "`" not in shown and "•" not in shown
    rows = [line for line in shown.splitlines() if "│" in line]
    total = next(line for line in rows if "total" in line)
    assert [cell.strip() for cell in total.split("│")[1:5]] == ["total", "1", "11", "7"]
    assert any("meta-llama/Llama-3.3-70B-Instruct" in line for line in rows)


async def test_open_clips_long_turns_and_says_what_an_empty_answer_was(core, fake_router, tmp_path):
    from tests.fakes.fake_router import Status

    app, out = await make_app(core, tmp_path)
    paste = "\n".join(f"line {n} of a long paste" for n in range(200))
    fake_router.queue([Status(400, {"error": {"message": "The provider rejected the request"}})])
    await app.handle_line(paste)
    await app.handle_line("/new")
    out.truncate(0)
    out.seek(0)
    await app.handle_line("/open 1")
    shown = out.getvalue()
    assert "line 11 of a long paste" in shown and "line 12 of a long paste" not in shown
    assert "more characters)" in shown
    assert "the answer failed before any text" in shown and "(no text)" not in shown


async def test_delete_all_erases_the_chats_own_exports_too(core, fake_router, tmp_path):
    app, out = await make_app(core, tmp_path)
    await app.handle_line("a question to export")
    await app.handle_line("/export")
    exports = app.export_dir
    assert list(exports.glob("*.md"))
    mine = tmp_path / "mine.md"
    await app.handle_line(f"/export {mine}")
    await app.handle_line("/delete all")
    assert not list(exports.glob("*"))
    assert mine.exists()  # a file the person named is theirs
    assert "1 export file(s)" in out.getvalue()
