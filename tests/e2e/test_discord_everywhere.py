"""A real `hfchat run` process against the fake Discord, used as a person with the app installed to their account
would: it prints both install links, answers /ask in a group DM it is not in (through the command alone), a
message's "Translate" there, and a clarifying question clicked in a thread."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.discord import FLAG_EPHEMERAL, FakeDiscord
from tests.fakes.fake_router import FakeRouter, text_script
from tests.support.processes import DiscordBotProcess, discord_bot_env
from tests.support.questions import asking_script
from tests.support.waits import wait_until


def original_text(fake: FakeDiscord, interaction) -> str:
    message = fake.original_response(interaction)
    return message.content if message is not None else ""


async def test_the_app_installed_to_a_person_works_where_the_bot_is_not(tmp_path: Path):
    async with FakeDiscord() as fake, FakeRouter() as router:
        bob = fake.add_user("bob")
        group = fake.add_group_dm(fake.default_user, bob)
        bot = await DiscordBotProcess(
            "everywhere", discord_bot_env(fake, router, f"sqlite:///{tmp_path}/bot.db"), tmp_path
        ).start(within=40)
        try:
            log = bot.log_text()
            assert "Add the Discord bot to a server: https://discord.com/oauth2/authorize?client_id=" in log
            assert "integration_type=1&scope=applications.commands" in log

            router.queue(text_script("Tea is a drink made from leaves."))
            ask = await fake.slash_command(
                group["id"], fake.default_user, "ask", {"prompt": "What is tea?"}, user_install=True
            )
            await wait_until(
                lambda: original_text(fake, ask) == "Tea is a drink made from leaves.", within=20, what="/ask"
            )
            assert fake.original_response(ask).data["flags"] & FLAG_EPHEMERAL

            words = await fake.message_create(group["id"], bob, "Hasta mañana")
            router.queue(text_script("See you tomorrow"))
            translate = await fake.message_command(
                group["id"], fake.default_user, "Translate", words, user_install=True
            )
            await wait_until(lambda: original_text(fake, translate) == "See you tomorrow", within=20, what="Translate")
            assert "Translate this message into English." in str(router.requests[-1]["messages"])

            thread = fake.add_thread(fake.default_channel, "notes", owner=fake.default_user)
            await fake.dispatch("THREAD_CREATE", thread)
            router.queue(asking_script())
            router.queue(text_script("Then 3.12 it is."))
            await fake.message_create(thread["id"], fake.default_user, f"<@{fake.bot_user['id']}> How do I install it?")

            def question():
                return next((m for m in fake.channel_messages(thread["id"]) if m.content.startswith("❓ **")), None)

            await wait_until(question, within=20, what="the question")
            choice = question().data["components"][0]["components"][0]["custom_id"]
            await fake.component_click(thread["id"], fake.default_user, question().id, choice)
            await wait_until(
                lambda: any(m.content == "Then 3.12 it is." for m in fake.channel_messages(thread["id"])),
                within=20,
                what="the answer after the click",
            )
            assert [r for r in fake.requests if r.params.get("channel_id") == group["id"]] == []
            fake.assert_clean()
        finally:
            await bot.stop()
