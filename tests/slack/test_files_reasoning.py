"""Files attached to Slack messages (fetched with the bot token, read by the core, notes for the rest) and
"Show reasoning" (the reasoning, apart from the answer, for the person who asks)."""

from __future__ import annotations

import io
import json

import aiohttp
import pytest
from aiohttp import web
from PIL import Image
from slack_sdk.web.async_client import AsyncWebClient

from bots.slack.app import show_interrupted
from bots.slack.files import download_files
from core.keys import ConversationKey
from core.records import MessageStatus
from core.replies.attachments import AttachmentLimits
from tests.fakes.fake_router import text_script
from tests.support.slack import ALICE, BOB, CHANNEL, DM, buttons, reasoning_script, visible

GEMMA = "google/gemma-3-27b-it"


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def _user_content(request: dict) -> list | str:
    return next(m["content"] for m in reversed(request["messages"]) if m["role"] == "user")


async def test_files_are_fetched_with_the_token_and_read(bot):
    notes = bot.fake.add_user_file("notes.txt", b"The launch code is 4242.", "text/plain")
    table = bot.fake.add_user_file("data.csv", b"city,people\nParis,2100000\n", "text/csv")
    bot.router.queue(text_script("The code is 4242."))
    post = await bot.fake.user_posts("what is the code?", channel=CHANNEL, user=ALICE, files=[notes, table])
    await bot.settle()
    assert [d["authorized"] for d in bot.fake.file_downloads] == [True, True]
    sent = _user_content(bot.router.requests[-1])
    assert sent.startswith("what is the code?")
    assert '<document name="notes.txt">\nThe launch code is 4242.\n</document>' in sent
    assert '<document name="data.csv">\ncity,people\nParis,2100000\n</document>' in sent
    assert visible(bot.answers(CHANNEL, post.ts)[0]) == "The code is 4242."


async def test_images_go_to_vision_models_and_files_alone_are_a_message(bot):
    await bot.command("/model", GEMMA, user=ALICE)
    photo = bot.fake.add_user_file("photo.png", _png(), "image/png")
    bot.router.queue(text_script("A red square."))
    post = await bot.fake.user_posts("", channel=DM, user=ALICE, files=[photo])  # a file and no text
    await bot.settle()
    parts = _user_content(bot.router.requests[-1])
    assert isinstance(parts, list) and parts[-1]["type"] == "image_url"
    assert parts[-1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert visible(bot.answers(DM, post.ts)[0]) == "A red square."


async def test_unsupported_and_oversized_files_get_notes_and_the_text_is_answered(bot):
    binary = bot.fake.add_user_file("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00" * 64, "application/octet-stream")
    huge = bot.fake.add_user_file("video.mov", b"x", "video/quicktime")
    huge["size"] = 500 * 1024 * 1024  # as Slack reports it: too large to fetch at all
    fake_pdf = bot.fake.add_user_file("report.pdf", b"just text, not a PDF", "application/pdf")
    bot.router.queue(text_script("Here is my answer."))
    post = await bot.fake.user_posts("summarize these", channel=CHANNEL, user=ALICE, files=[binary, huge, fake_pdf])
    await bot.settle()
    assert [d["file"] for d in bot.fake.file_downloads] == [binary["id"], fake_pdf["id"]]  # the huge one: never
    assert _user_content(bot.router.requests[-1]) == "summarize these"
    shown = visible(bot.answers(CHANNEL, post.ts)[0])
    assert shown.startswith("Here is my answer.")
    assert "`tool.exe` is not a file type I can read" in shown
    assert "`video.mov` is too large (500.0 MB; the limit is 20.0 MB)" in shown
    assert "`report.pdf` is named like a PDF but its content is a text file" in shown

    # only files: nothing readable is a clear refusal, and nothing is asked of the model
    await bot.fake.user_posts("", channel=DM, user=ALICE, files=[bot.fake.add_user_file("a.exe", b"MZ\x00\x01" * 9)])
    await bot.settle()
    assert "`a.exe` is not a file type I can read" in bot.fake.bot_messages(DM)[-1].text
    assert len(bot.router.requests) == 1


async def test_url_private_needs_the_bot_token(bot):
    file = bot.fake.add_user_file("secret.txt", b"top secret", "text/plain")
    async with aiohttp.ClientSession() as session:
        async with session.get(file["url_private"]) as anonymous:
            assert anonymous.content_type == "text/html" and "Sign in" in await anonymous.text()
        headers = {"Authorization": "Bearer xoxb-someone-else"}
        async with session.get(file["url_private"], headers=headers) as wrong:
            assert "Sign in" in await wrong.text()
        headers = {"Authorization": f"Bearer {bot.fake.bot_token}"}
        async with session.get(file["url_private"], headers=headers) as right:
            assert await right.read() == b"top secret"
    # the bot's downloader tells the sign-in page from the file: a wrong token gives no content
    client = AsyncWebClient(token="xoxb-wrong", base_url=bot.fake.api_url)
    [fetched] = await download_files(client, [file])
    assert fetched.data == b"" and fetched.name == "secret.txt"
    client = AsyncWebClient(token=bot.fake.bot_token, base_url=bot.fake.api_url)
    [fetched] = await download_files(client, [file])
    assert fetched.data == b"top secret"


async def test_the_token_never_goes_to_another_host(bot):
    seen: list[dict] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.Response(body=b"stolen")

    app = web.Application()
    app.router.add_get("/{tail:.*}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        client = AsyncWebClient(token=bot.fake.bot_token, base_url=bot.fake.api_url)  # Slack is 127.0.0.1 here
        elsewhere = {"name": "x.txt", "mimetype": "text/plain", "size": 6, "url_private": f"http://localhost:{port}/x"}
        [fetched] = await download_files(client, [elsewhere])
        assert fetched.data == b"" and seen == []
        # the same host on another port is another server, too
        elsewhere["url_private"] = f"http://127.0.0.1:{port}/x"
        [fetched] = await download_files(client, [elsewhere], AttachmentLimits())
        assert fetched.data == b"" and seen == []
    finally:
        await runner.cleanup()


def _button(message, action_id: str) -> dict | None:
    return next((e for e in buttons(message.blocks) if e["action_id"] == action_id), None)


async def test_show_reasoning_for_the_one_who_asks(bot):
    bot.router.queue(reasoning_script("First I recall that 6 times 7 is 42. <!channel> ", "It is 42."))
    post = await bot.fake.user_posts("6 x 7?", channel=CHANNEL, user=ALICE)
    await bot.settle()
    answer = bot.answers(CHANNEL, post.ts)[0]
    assert visible(answer) == "It is 42."  # the reasoning is never in the answer
    button = _button(answer, "hfchat_reasoning")
    assert button is not None and button["text"]["text"] == "💭 Show reasoning"

    click = bot.fake.build_block_actions(
        action_id="hfchat_reasoning", value=button["value"], channel=CHANNEL, message_ts=answer.ts, user=BOB
    )
    await bot.interact(click)
    shown = bot.fake.ephemerals[-1]
    assert shown["user"] == BOB and shown["channel"] == CHANNEL and shown["thread_ts"] == post.ts
    text = json.dumps(shown["blocks"])
    assert "6 times 7 is 42" in text and "<!channel>" not in text  # model output never pings
    assert visible(bot.answers(CHANNEL, post.ts)[0]) == "It is 42."

    # an answer without reasoning has no such button
    bot.router.queue(text_script("Plain."))
    plain = await bot.fake.user_posts("hi", channel=CHANNEL, user=ALICE)
    await bot.settle()
    assert _button(bot.answers(CHANNEL, plain.ts)[0], "hfchat_reasoning") is None


async def test_long_reasoning_comes_as_a_file_in_a_dm(bot):
    long_reasoning = "Step by step. " * 400
    bot.router.queue(reasoning_script(long_reasoning, "Done."))
    post = await bot.fake.user_posts("think hard", channel=CHANNEL, user=ALICE)
    await bot.settle()
    answer = bot.answers(CHANNEL, post.ts)[0]
    button = _button(answer, "hfchat_reasoning")
    await bot.interact(
        bot.fake.build_block_actions(
            action_id="hfchat_reasoning", value=button["value"], channel=CHANNEL, message_ts=answer.ts, user=ALICE
        )
    )
    uploaded = next(f for f in bot.fake.files.values() if f["name"].startswith("reasoning-"))
    assert uploaded["content"].decode() == long_reasoning
    assert bot.fake.channels[uploaded["channel"]].type == "im"
    assert bot.fake.channels[uploaded["channel"]].user == ALICE
    assert "in our direct messages" in bot.fake.ephemerals[-1]["text"]


@pytest.mark.parametrize("value", ["999999", "not-a-number"])
async def test_reasoning_of_a_missing_answer(bot, value):
    bot.router.queue(text_script("Plain."))
    post = await bot.fake.user_posts("hi", channel=CHANNEL, user=ALICE)
    await bot.settle()
    answer = bot.answers(CHANNEL, post.ts)[0]
    await bot.interact(
        bot.fake.build_block_actions(
            action_id="hfchat_reasoning", value=value, channel=CHANNEL, message_ts=answer.ts, user=ALICE
        )
    )
    assert "That answer no longer exists." in bot.responses()[-1]


async def test_an_interrupted_answer_that_reasoned_can_still_show_it(bot):
    bot.router.queue(reasoning_script("Thinking it over. ", "It is 42."))
    post = await bot.fake.user_posts("6 x 7?", channel=CHANNEL, user=ALICE)
    await bot.settle()
    reply_id = await bot.core.chat.conversations.last_reply_id(
        ConversationKey("slack", bot.fake.team_id, CHANNEL, post.ts)
    )
    await bot.core.store.update_message(reply_id, status=MessageStatus.INTERRUPTED)  # as a restart marks it
    await show_interrupted(bot.adapter, [await bot.core.store.get_message(reply_id)])
    closed = bot.answers(CHANNEL, post.ts)[-1]
    assert "interrupted" in visible(closed)
    assert {"hfchat_regenerate", "hfchat_continue", "hfchat_reasoning"} <= {
        b["action_id"] for b in buttons(closed.blocks)
    }
