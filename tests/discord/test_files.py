"""Discord: files downloaded on arrival, thread renamed by the auto title, a "Show reasoning" button."""

from __future__ import annotations

import io

from PIL import Image

from core.records import Scope
from tests.fakes.discord import FakeDiscord, running_client
from tests.fakes.fake_router import chunk, text_script
from tests.support.discord import make_bot, open_threads

VISION = "google/gemma-3-27b-it"


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (0, 128, 255)).save(buffer, "PNG")
    return buffer.getvalue()


def bot_messages(fake, channel_id):
    return [m for m in fake.channel_messages(channel_id) if m.author_id == fake.bot_user["id"]]


async def test_image_and_lying_file_in_a_thread(discord_core, fake_router):
    fake_router.queue(text_script("A blue square."))
    async with FakeDiscord() as fake:
        [thread] = await open_threads(fake, discord_core, 1)
        conversation = await discord_core.store.get_conversation_by_id(thread["conversation_id"])
        await discord_core.store.set_setting(
            "discord", conversation.key.workspace, Scope.CONVERSATION, str(conversation.id), "model", VISION
        )
        async with running_client(fake, make_bot(discord_core)):
            await fake.message_create(
                thread["id"],
                fake.default_user,
                "What is this?",
                attachments=[("square.png", png(), "image/png"), ("evil.jpg", b"MZ\x90\x00binary", "image/jpeg")],
            )
            await fake.wait_until(lambda: any("A blue square." in m.content for m in bot_messages(fake, thread["id"])))
            await discord_core.chat.replies.wait_idle()
        content = fake_router.requests[-1]["messages"][-1]["content"]
        assert content[0]["text"] == "What is this?" and content[1]["type"] == "image_url"
        final = bot_messages(fake, thread["id"])[-1].content
        assert "`evil.jpg` is named like a JPEG image" in final


async def test_title_renames_the_thread_and_reasoning_button(core_factory, fake_router):
    core = await core_factory(fake_router.url, auto_titles=True)
    fake_router.queue([chunk(reasoning="Think first."), *text_script("Answer.")])
    fake_router.queue(text_script("Greeting Chat"))
    async with FakeDiscord() as fake:
        [thread] = await open_threads(fake, core, 1)
        async with running_client(fake, make_bot(core)):
            await fake.message_create(thread["id"], fake.default_user, "Hello there")
            await fake.wait_until(lambda: fake.threads()[0]["name"] == "Greeting Chat", within=10)
            answer = bot_messages(fake, thread["id"])[-1]
            ids = [c["custom_id"] for row in answer.data.get("components", []) for c in row["components"]]
            assert any(i.startswith("hfchat:think:") for i in ids)
        assert (await core.store.get_conversation_by_id(thread["conversation_id"])).title == "Greeting Chat"
