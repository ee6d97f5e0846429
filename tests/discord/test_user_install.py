"""The app installed to a person's account: /chat and /ask wherever they are (a group DM, a server the bot is not
in), answered through the command's own interaction within Discord's limits (at most 5 follow-ups where the bot is not
present, a token that lives 15 minutes), over the real protocol against the fake Discord, every request checked
against the OpenAPI spec."""

from __future__ import annotations

import pytest

from core.streaming import NOTICE_EXPIRED, NOTICE_IN_FILE, NOTICE_STOPPED
from tests.fakes.discord import FLAG_EPHEMERAL, USER_INSTALL_FOLLOWUPS, Context, FakeDiscord, Install, running_client
from tests.fakes.fake_router import text_script
from tests.support.discord import buttons, make_bot

ANSWER = "Tea is an aromatic beverage prepared from cured leaves."
EVERYWHERE_CONTEXTS = [Context.GUILD, Context.BOT_DM, Context.PRIVATE_CHANNEL]
BOTH_INSTALLS = [Install.GUILD, Install.USER]


def channel_requests(fake: FakeDiscord, channel_id: str) -> list:
    """What the bot asked of a channel with its own token (nothing can work where it is not present)."""
    return [r for r in fake.requests if r.params.get("channel_id") == channel_id]


def followups(fake: FakeDiscord, interaction) -> list:
    return [fake.message(interaction.channel_id, mid) for mid in interaction.followup_message_ids]


def original_is(fake: FakeDiscord, interaction, text: str):
    def check() -> bool:
        message = fake.original_response(interaction)
        return message is not None and message.content == text

    return check


@pytest.fixture
async def fake():
    async with FakeDiscord() as fake:
        yield fake


@pytest.fixture
def group(fake):
    """A group DM of alice and bob; the bot is not in it."""
    fake.bob = fake.add_user("bob")
    return fake.add_group_dm(fake.default_user, fake.bob)


async def test_chat_ask_and_the_message_commands_are_installable_to_a_person_and_usable_anywhere(discord_core, fake):
    async with running_client(fake, make_bot(discord_core)) as bot:
        assert "integration_type=0" in bot.invite_url and "scope=bot+applications.commands" in bot.invite_url
        assert "integration_type=1" in bot.user_install_url and "scope=applications.commands" in bot.user_install_url
    commands = {c["name"]: c for c in fake.commands()}
    for name in ("chat", "ask", "Ask HuggingChat", "Summarize thread", "Explain code", "Translate"):
        assert sorted(commands[name]["integration_types"]) == BOTH_INSTALLS, name
        assert sorted(commands[name]["contexts"]) == EVERYWHERE_CONTEXTS, name
    for name in ("Ask HuggingChat", "Summarize thread", "Explain code", "Translate", "Delete from here"):
        assert commands[name]["type"] == 3, name  # message commands
    assert commands["model"]["integration_types"] in (None, [Install.GUILD])  # the rest stays with servers
    fake.assert_clean()


async def test_ask_in_a_group_dm_the_bot_is_not_in(discord_core, fake_router, fake, group):
    fake_router.queue(text_script(ANSWER, pieces=6, delay=0.02))
    async with running_client(fake, make_bot(discord_core)):
        ask = await fake.slash_command(
            group["id"], fake.default_user, "ask", {"prompt": "What is tea?"}, user_install=True
        )
        await fake.wait_until(original_is(fake, ask, ANSWER), within=10)
    assert not ask.bot_present and ask.followup_limit == USER_INSTALL_FOLLOWUPS
    answer = fake.original_response(ask)
    assert answer.data["flags"] & FLAG_EPHEMERAL  # only the asker sees it
    assert answer.edits >= 1  # streamed by editing the original response
    assert set(buttons(answer)) == {"regen", "share"}
    assert channel_requests(fake, group["id"]) == []  # never the bot's token in a place it is not in
    assert not fake.threads()
    fake.assert_clean()


async def test_the_next_ask_in_the_same_place_continues_and_each_person_has_their_own(
    discord_core, fake_router, fake, group
):
    async with running_client(fake, make_bot(discord_core)):
        fake_router.queue(text_script(ANSWER))
        first = await fake.slash_command(
            group["id"], fake.default_user, "ask", {"prompt": "What is tea?"}, user_install=True
        )
        await fake.wait_until(original_is(fake, first, ANSWER))
        fake_router.queue(text_script("Green and black."))
        second = await fake.slash_command(
            group["id"], fake.default_user, "ask", {"prompt": "Which kinds?"}, user_install=True
        )
        await fake.wait_until(original_is(fake, second, "Green and black."))
        asked = [m["content"] for m in fake_router.requests[-1]["messages"] if m["role"] == "user"]
        assert asked == ["What is tea?", "Which kinds?"]
        fake_router.queue(text_script("Coffee is roasted beans."))
        bobs = await fake.slash_command(group["id"], fake.bob, "ask", {"prompt": "And coffee?"}, user_install=True)
        await fake.wait_until(original_is(fake, bobs, "Coffee is roasted beans."))
        assert [m["content"] for m in fake_router.requests[-1]["messages"] if m["role"] == "user"] == ["And coffee?"]
    fake.assert_clean()


async def test_a_long_answer_continues_in_follow_ups_and_ends_as_a_file_within_five(
    discord_core, fake_router, fake, group
):
    answer = "".join(f"Paragraph {i}: " + "steeped leaves and warm water. " * 12 + "\n\n" for i in range(40))
    fake_router.queue(text_script(answer, pieces=60, delay=0.01))
    async with running_client(fake, make_bot(discord_core)):
        ask = await fake.slash_command(
            group["id"], fake.default_user, "ask", {"prompt": "Tell me all"}, user_install=True
        )
        await fake.wait_until(lambda: any(m.data["attachments"] for m in followups(fake, ask)), within=20)
    messages = [fake.original_response(ask), *followups(fake, ask)]
    *texts, file_message = messages
    assert ask.followups_sent <= USER_INSTALL_FOLLOWUPS - 1  # one is left for a clarifying question
    assert all(len(m.content) <= 2000 for m in texts)
    assert texts[-1].content.endswith(NOTICE_IN_FILE)
    [attachment] = file_message.data["attachments"]
    assert attachment["filename"] == "answer.md"
    assert not [r for r in fake.requests if r.status == 400]  # never a 40094
    assert all(m.data["flags"] & FLAG_EPHEMERAL for m in messages)
    fake.assert_clean()


async def test_an_answer_stops_before_the_token_dies_and_continue_picks_it_up(discord_core, fake_router, group):
    slow = "word " * 200
    fake_router.queue(text_script(slow, pieces=100, delay=0.08))  # 8 s of tokens
    fake_router.queue(text_script("and the rest."))
    async with FakeDiscord(interaction_token_seconds=4) as fake:
        fake.bob = fake.add_user("bob")
        group = fake.add_group_dm(fake.default_user, fake.bob)
        async with running_client(fake, make_bot(discord_core, interaction_token_seconds=4)):
            ask = await fake.slash_command(
                group["id"], fake.default_user, "ask", {"prompt": "Go on"}, user_install=True
            )
            await fake.wait_until(lambda: NOTICE_EXPIRED in content_of(fake.original_response(ask)), within=10)
            answer = fake.original_response(ask)
            assert set(buttons(answer)) >= {"regen", "cont"}
            assert not [r for r in fake.requests if r.status == 401]  # never a request on a dead token
            cont = buttons_ids(answer)["cont"]
            await discord_core.chat.replies.wait_idle()
            click = await fake.component_click(group["id"], fake.default_user, answer.id, cont, user_install=True)
            await fake.wait_until(lambda: any("and the rest." in m.content for m in followups(fake, click)), within=10)
        assert click.response_type == 6
        assert not buttons(fake.message(group["id"], answer.id))  # the old answer lost its buttons
        fake.assert_clean()


def content_of(message) -> str:
    return message.content if message is not None else ""


def buttons_ids(message) -> dict[str, str]:
    return {
        item["custom_id"].split(":")[1]: item["custom_id"]
        for row in message.data.get("components") or []
        for item in row.get("components") or []
    }


async def test_regenerate_and_share_in_a_group_dm(discord_core, fake_router, fake, group):
    async with running_client(fake, make_bot(discord_core)):
        fake_router.queue(text_script(ANSWER))
        ask = await fake.slash_command(
            group["id"], fake.default_user, "ask", {"prompt": "What is tea?"}, user_install=True
        )
        await fake.wait_until(original_is(fake, ask, ANSWER))
        answer = fake.original_response(ask)
        fake_router.queue(text_script("Tea: leaves in hot water."))
        regen = await fake.component_click(
            group["id"], fake.default_user, answer.id, buttons_ids(answer)["regen"], user_install=True
        )
        await fake.wait_until(lambda: any(m.content == "Tea: leaves in hot water." for m in followups(fake, regen)))
        [again] = followups(fake, regen)
        assert again.data["flags"] & FLAG_EPHEMERAL  # still only for the asker
        assert not buttons(fake.message(group["id"], answer.id))

        refused = await fake.component_click(
            group["id"], fake.bob, again.id, buttons_ids(again)["share"], user_install=True
        )
        await fake.wait_until(lambda: refused.acknowledged)
        assert refused.callbacks[0].data["flags"] & FLAG_EPHEMERAL
        assert "Only the person who asked" in refused.callbacks[0].data["content"]

        share = await fake.component_click(
            group["id"], fake.default_user, again.id, buttons_ids(again)["share"], user_install=True
        )
        await fake.wait_until(lambda: share.acknowledged)
    [callback] = share.callbacks
    assert callback.type == 4 and not (callback.data.get("flags") or 0) & FLAG_EPHEMERAL  # for everyone there
    assert "**alice** asked:\n> What is tea?" in callback.data["content"]
    assert "Tea: leaves in hot water." in callback.data["content"]
    assert callback.data["allowed_mentions"] == {"parse": []}
    assert channel_requests(fake, group["id"]) == []
    fake.assert_clean()


async def test_chat_in_a_server_the_bot_is_not_in(discord_core, fake_router, fake):
    guild = fake.add_guild("Elsewhere", owner=fake.guild_owner, with_bot=False)
    fake.add_member(guild, fake.default_user)
    channel = fake.add_text_channel(guild, "lounge")
    fake_router.queue(text_script(ANSWER, pieces=5))
    async with running_client(fake, make_bot(discord_core)) as bot:
        assert bot.get_guild(int(guild["id"])) is None
        chat = await fake.slash_command(
            channel["id"], fake.default_user, "chat", {"prompt": "What is tea?"}, user_install=True
        )
        await fake.wait_until(lambda: any(m.content == ANSWER for m in followups(fake, chat)), within=10)
    shown = fake.original_response(chat)
    assert "What is tea?" in shown.content and not shown.data["flags"] & FLAG_EPHEMERAL  # /chat is public
    assert not fake.threads(channel["id"])  # no thread where the bot is not present
    assert channel_requests(fake, channel["id"]) == []
    fake.assert_clean()


async def test_chat_in_a_dm_between_two_people(discord_core, fake_router, fake):
    dm = fake.add_dm_between(fake.default_user, fake.add_user("carol"))
    fake_router.queue(text_script(ANSWER, pieces=4))
    async with running_client(fake, make_bot(discord_core)):
        chat = await fake.slash_command(
            dm["id"], fake.default_user, "chat", {"prompt": "What is tea?", "private": True}, user_install=True
        )
        await fake.wait_until(original_is(fake, chat, ANSWER), within=10)
    assert chat.context == Context.PRIVATE_CHANNEL
    assert fake.original_response(chat).data["flags"] & FLAG_EPHEMERAL  # private: only alice sees it, no prompt shown
    assert channel_requests(fake, dm["id"]) == []
    fake.assert_clean()


async def test_new_starts_a_fresh_conversation_for_the_next_ask_there(discord_core, fake_router, fake, group):
    async with running_client(fake, make_bot(discord_core)):
        fake_router.queue(text_script(ANSWER))
        first = await fake.slash_command(
            group["id"], fake.default_user, "ask", {"prompt": "What is tea?"}, user_install=True
        )
        await fake.wait_until(original_is(fake, first, ANSWER))
        new = await fake.slash_command(group["id"], fake.default_user, "new", user_install=True)
        await fake.wait_until(lambda: new.acknowledged)
        assert "starts a new conversation" in new.callbacks[0].data["content"]
        fake_router.queue(text_script("Coffee is roasted beans."))
        second = await fake.slash_command(
            group["id"], fake.default_user, "ask", {"prompt": "And coffee?"}, user_install=True
        )
        await fake.wait_until(original_is(fake, second, "Coffee is roasted beans."))
    assert [m["content"] for m in fake_router.requests[-1]["messages"] if m["role"] == "user"] == ["And coffee?"]
    fake.assert_clean()


async def test_stop_on_an_answer_where_the_bot_is_not_keeps_what_it_wrote(discord_core, fake_router, fake, group):
    fake_router.queue(text_script("word " * 200, pieces=100, delay=0.08))  # 8 s of tokens unless stopped
    async with running_client(fake, make_bot(discord_core)):
        ask = await fake.slash_command(group["id"], fake.default_user, "ask", {"prompt": "Go on"}, user_install=True)
        await fake.wait_until(lambda: content_of(fake.original_response(ask)).count("word") >= 5, within=10)
        answer = fake.original_response(ask)
        stop = buttons_ids(answer)["stop"]
        refused = await fake.component_click(group["id"], fake.bob, answer.id, stop, user_install=True)
        await fake.wait_until(lambda: refused.acknowledged)
        assert "Only the person who asked" in refused.callbacks[0].data["content"]  # bob cannot stop alice's answer
        click = await fake.component_click(group["id"], fake.default_user, answer.id, stop, user_install=True)
        await fake.wait_until(lambda: NOTICE_STOPPED in content_of(fake.original_response(ask)), within=3)
        await discord_core.chat.replies.wait_idle()
        stopped = fake.original_response(ask)
    assert click.acknowledged and "word" in stopped.content
    assert set(buttons(stopped)) >= {"regen", "cont"} and "stop" not in buttons(stopped)
    assert len(fake_router.streams[0].text) < len("word " * 200)  # the router request ended with the stop
    assert channel_requests(fake, group["id"]) == []
    fake.assert_clean()


async def test_chat_in_a_group_dm_the_bot_is_not_in(discord_core, fake_router, fake, group):
    fake_router.queue(text_script(ANSWER, pieces=4))
    async with running_client(fake, make_bot(discord_core)):
        chat = await fake.slash_command(
            group["id"], fake.default_user, "chat", {"prompt": "What is tea?"}, user_install=True
        )
        await fake.wait_until(lambda: any(m.content == ANSWER for m in followups(fake, chat)), within=10)
    assert chat.context == Context.PRIVATE_CHANNEL
    shown = fake.original_response(chat)
    assert "What is tea?" in shown.content and not shown.data["flags"] & FLAG_EPHEMERAL  # /chat is public
    assert channel_requests(fake, group["id"]) == []  # nothing with the bot's own token where it is not
    fake.assert_clean()
