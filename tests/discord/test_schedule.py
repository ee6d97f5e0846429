"""Discord's /schedule: a channel's members schedule prompts (admins may narrow it), list and delete them (owner or
admin); a due run posts whose prompt it is, opens a thread from it and answers there, where people go on."""

from __future__ import annotations

import time

from tests.fakes.discord import FakeDiscord, Perm, running_client
from tests.fakes.fake_router import text_script
from tests.support.discord import make_bot
from tests.support.waits import wait_until


def said(fake, interaction) -> str:
    parts = [str(cb.data.get("content", "")) for cb in interaction.callbacks]
    parts += [fake.message(interaction.channel_id, m).content for m in interaction.followup_message_ids]
    return " ".join(parts)


def bot_messages(fake, channel_id):
    return [m for m in fake.channel_messages(channel_id) if m.author_id == fake.bot_user["id"]]


async def command(fake, user, what):
    interaction = await fake.slash_command(fake.default_channel["id"], user, "schedule", {"what": what})
    await wait_until(lambda: interaction.callbacks, what="the /schedule answer")
    return said(fake, interaction)


async def test_schedule_list_delete_and_a_run_in_a_thread(discord_core, fake_router):
    async with FakeDiscord() as fake:
        guild, alice, channel = fake.default_guild, fake.default_user, fake.default_channel
        bob = fake.add_user("bob")
        fake.add_member(guild, bob)
        mods = fake.add_role(guild, "mods", permissions=Perm.DEFAULT_EVERYONE | Perm.MANAGE_GUILD)
        mod = fake.add_user("mod")
        fake.add_member(guild, mod, roles=[mods])
        async with running_client(fake, make_bot(discord_core)):
            reply = await command(fake, alice, '"Summarize the week in AI" every monday 09:00')
            assert "Scheduled “Summarize the week in AI” every Monday at 09:00 (UTC)" in reply
            await command(fake, bob, '"Bob\'s reminder" every friday 17:00')
            listed = await command(fake, bob, "list")
            assert "1. “Summarize the week in AI”" in listed and "by alice" in listed
            assert "Only the schedule's owner or an admin" in await command(fake, bob, "delete 1")
            assert "Only an admin" in await command(fake, alice, "allow admins")
            assert "Deleted schedule 2" in await command(fake, mod, "delete 2")

            [schedule] = await discord_core.store.list_schedules("discord", guild["id"])
            assert (schedule.owner_id, schedule.channel) == (alice["id"], channel["id"])
            fake_router.queue(text_script("This week: three new open models."))
            await discord_core.chat.scheduled_runs.tick(schedule.next_run + 1)  # the loop, without the wait
            await wait_until(lambda: fake.threads(channel["id"]), what="the run's thread")
            [thread] = fake.threads(channel["id"])
            await wait_until(lambda: any("three new" in m.content for m in bot_messages(fake, thread["id"])))
            await discord_core.chat.replies.wait_idle()
            opening = bot_messages(fake, channel["id"])[-1]
            assert opening.content.startswith("⏰ **Scheduled prompt** by alice (every Monday at 09:00 (UTC))")
            assert thread["id"] == opening.id and thread["name"] == "Summarize the week in AI"

            fake_router.queue(text_script("Llama, Qwen and Gemma."))
            await fake.message_create(thread["id"], bob, "Which ones?")  # anyone goes on in the thread
            await wait_until(lambda: any("Gemma" in m.content for m in bot_messages(fake, thread["id"])))
        stored = await discord_core.store.get_schedule(schedule.id)
        assert stored.runs == 1 and stored.next_run > time.time()
        assert fake_router.requests[-1]["messages"][-1]["content"] == "bob: Which ones?"  # several people talk there
        fake.assert_clean()


async def test_a_refused_schedule_and_one_in_a_dm(discord_core, fake_router):
    async with FakeDiscord() as fake:
        dm = fake.add_dm_channel(fake.default_user)
        async with running_client(fake, make_bot(discord_core)):
            assert "too often" in await command(fake, fake.default_user, '"x" every 15 minutes')
            interaction = await fake.slash_command(dm["id"], fake.default_user, "schedule", {"what": '"x" every day'})
            await wait_until(lambda: interaction.callbacks)
            assert "not in direct messages" in said(fake, interaction)
        assert await discord_core.store.list_schedules("discord", fake.default_guild["id"]) == []
