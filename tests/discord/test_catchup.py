"""Discord's /catchup and "Summarize thread": only what the person may read (the permissions Discord resolves for
them in that channel, not the bot's), summarized for them alone in a DM with the bot, each point linking back to the
messages, and a conversation they can go on with there."""

from __future__ import annotations

import re

from tests.fakes.discord import FakeDiscord, Perm, running_client
from tests.fakes.fake_router import chunk, text_script
from tests.support.discord import make_bot
from tests.support.waits import wait_until


def said(fake, interaction) -> str:
    """Everything the interaction showed its user: callbacks, the (deferred) original response, follow-ups."""
    parts = [str(cb.data.get("content", "")) for cb in interaction.callbacks]
    original = fake.original_response(interaction)
    if original is not None:
        parts.append(original.content)
    parts += [fake.message(interaction.channel_id, m).content for m in interaction.followup_message_ids]
    return " ".join(parts)


def dm_of(fake, user) -> dict | None:
    return next(
        (c for c in fake.channels.values() if c["type"] == 1 and c["recipients"][0]["id"] == user["id"]), None
    )


def bot_messages(fake, channel_id):
    return [m for m in fake.channel_messages(channel_id) if m.author_id == fake.bot_user["id"]]


def history_reads(fake, channel_id) -> int:
    return sum(1 for r in fake.requests_for("GET") if r.path.endswith(f"/channels/{channel_id}/messages"))


async def test_catchup_reads_only_what_the_member_may_read_and_answers_in_their_dm(discord_core, fake_router):
    async with FakeDiscord() as fake:
        guild, alice = fake.default_guild, fake.default_user
        bob = fake.add_user("bob")
        fake.add_member(guild, bob)
        # #secret: hidden from @everyone, open to bob; the bot sees it (its role)
        secret = fake.add_text_channel(
            guild,
            "secret",
            permission_overwrites=[
                {"id": guild["id"], "type": 0, "allow": "0", "deny": str(Perm.VIEW_CHANNEL)},
                {"id": bob["id"], "type": 1, "allow": str(Perm.VIEW_CHANNEL | Perm.READ_MESSAGE_HISTORY), "deny": "0"},
                {"id": fake.bot_user["id"], "type": 1, "allow": str(Perm.VIEW_CHANNEL), "deny": "0"},
            ],
        )
        async with running_client(fake, make_bot(discord_core)):
            posted = []
            for text in ("The launch moves to Friday.", "Who reviews the blog post?", "Me, by Thursday."):
                posted.append(await fake.message_create(secret["id"], bob, text))
            channel_option = [{"name": "channel", "type": 7, "value": secret["id"]}]

            refused = await fake.slash_command(fake.default_channel["id"], alice, "catchup", options=channel_option)
            await wait_until(lambda: "won't summarize it" in said(fake, refused), what="alice's refusal")
            assert history_reads(fake, secret["id"]) == 0  # the bot could read it; alice may not, so it did not
            assert dm_of(fake, alice) is None

            answer = [chunk(""), chunk("- Launch moved to Friday [1"), chunk("]\n- Review by Thursday [2, 3]")]
            fake_router.queue(answer)
            asked = await fake.slash_command(fake.default_channel["id"], bob, "catchup", options=channel_option)
            await wait_until(lambda: "in our DMs" in said(fake, asked), what="bob's catch-up")
            dm = dm_of(fake, bob)
            await wait_until(lambda: any("Review by" in m.content for m in bot_messages(fake, dm["id"])))
            await discord_core.chat.replies.wait_idle()
        header, answer = bot_messages(fake, dm["id"])[:2]
        assert "Catching you up on #secret" in header.content and "3 messages read" in header.content
        link = f"https://discord.com/channels/{guild['id']}/{secret['id']}/{{}}"
        assert f"[(1)]({link.format(posted[0]['id'])})" in answer.content
        assert f"[(3)]({link.format(posted[2]['id'])})" in answer.content
        prompt = fake_router.requests[-1]["messages"][-1]["content"]
        assert "[2] bob" in prompt and "Who reviews the blog post?" in prompt
        assert answer.data["message_reference"]["message_id"] == header.id
        fake.assert_clean()


async def test_the_conversation_goes_on_in_the_dm(discord_core, fake_router):
    async with FakeDiscord() as fake:
        async with running_client(fake, make_bot(discord_core)):
            await fake.message_create(fake.default_channel["id"], fake.default_user, "Standup moved to 10:00.")
            fake_router.queue(text_script("- Standup at 10 [1]"))
            asked = await fake.slash_command(fake.default_channel["id"], fake.default_user, "catchup", {"since": "2h"})
            await wait_until(lambda: "in our DMs" in said(fake, asked))
            dm = dm_of(fake, fake.default_user)
            await wait_until(lambda: any("Standup at 10" in m.content for m in bot_messages(fake, dm["id"])))
            await discord_core.chat.replies.wait_idle()
            fake_router.queue(text_script("At 10:00, as [1] says."))
            await fake.message_create(dm["id"], fake.default_user, "When exactly?")
            await wait_until(lambda: any("as [(1)](" in m.content for m in bot_messages(fake, dm["id"])))
        history = fake_router.requests[-1]["messages"]
        assert "Standup moved to 10:00." in history[-3]["content"] and history[-1]["content"] == "When exactly?"


async def test_summarize_thread_reads_that_thread_only(discord_core, fake_router):
    async with FakeDiscord() as fake:
        alice = fake.default_user
        thread = fake.add_thread(fake.default_channel, "Release plan", owner=alice)
        async with running_client(fake, make_bot(discord_core)):
            await fake.message_create(fake.default_channel["id"], alice, "unrelated channel chatter")
            first = await fake.message_create(thread["id"], alice, "Ship 2.0 on Monday?")
            await fake.message_create(thread["id"], alice, "Yes, after the freeze.")
            fake_router.queue(text_script("- 2.0 ships Monday [1, 2]"))
            picked = await fake.message_command(thread["id"], alice, "Summarize thread", target=first["id"])
            await wait_until(lambda: "in our DMs" in said(fake, picked))
            dm = dm_of(fake, alice)
            await wait_until(lambda: any("ships Monday" in m.content for m in bot_messages(fake, dm["id"])))
        prompt = fake_router.requests[-1]["messages"][-1]["content"]
        assert "Summarize the thread “Release plan”" in prompt
        assert "Ship 2.0 on Monday?" in prompt and "unrelated" not in prompt
        summary = bot_messages(fake, dm["id"])[1].content
        assert re.search(r"\[\(2\)\]\(https://discord\.com/channels/\d+/\d+/\d+\)", summary)


async def test_closed_dms_are_said_and_nothing_is_stored(discord_core, fake_router):
    async with FakeDiscord() as fake:
        fake.close_dms(fake.default_user)
        async with running_client(fake, make_bot(discord_core)):
            await fake.message_create(fake.default_channel["id"], fake.default_user, "something")
            asked = await fake.slash_command(fake.default_channel["id"], fake.default_user, "catchup")
            await wait_until(lambda: "direct messages" in said(fake, asked))
        assert fake_router.requests == []
        assert await discord_core.store.list_conversations("discord", fake.default_user["id"]) == []
