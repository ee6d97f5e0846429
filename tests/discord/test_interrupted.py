"""An answer a dead process left cut after several messages is marked INTERRUPTED on the last one, the one that
carried Stop, with Regenerate / Continue instead."""

from __future__ import annotations

from bots.discord.app import build_bot
from core.keys import ConversationKey
from core.records import MessageStatus, StoredMessage
from core.replies.interrupted import INTERRUPTED_NOTICE
from tests.fakes.discord import FakeDiscord, running_client
from tests.support.discord import buttons


async def test_an_answer_cut_after_several_messages_is_marked_on_its_last_one(discord_core):
    async with FakeDiscord() as fake:
        thread = fake.add_thread(fake.default_channel, "a long one")
        key = ConversationKey("discord", fake.default_guild["id"], fake.default_channel["id"], thread["id"])
        conversation = await discord_core.store.create_conversation(key, fake.default_user["id"], "a long one")
        bot = build_bot(discord_core, print_invite=False, guild_ready_timeout=0.05)
        async with running_client(fake, bot):
            # what a dead process left: a first message sealed, the second still being written
            channel = await bot.fetch_channel(int(thread["id"]))
            first = await channel.send("Part one, complete.")
            second = await channel.send("Part two, cut off" + bot.limits.typing_indicator)
            reply = StoredMessage(
                role="assistant",
                content="Part one, complete.Part two, cut",  # the last checkpoint
                status=MessageStatus.INTERRUPTED,
                platform_message_id=str(first.id),
                extra={"last_message": str(second.id)},
            )
            await discord_core.store.add_message(conversation.id, reply)
            await bot.show_interrupted([reply])
            await fake.wait_until(lambda: INTERRUPTED_NOTICE in fake.message(thread["id"], second.id).content)
        marked = fake.message(thread["id"], second.id)
        assert marked.content == f"Part two, cut off\n\n{INTERRUPTED_NOTICE}"  # as it was left, less the indicator
        assert set(buttons(marked)) == {"regen", "cont"}
        assert fake.message(thread["id"], first.id).content == "Part one, complete."  # untouched
        fake.assert_clean()
