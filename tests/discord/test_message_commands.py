"""Commands on a message (its context menu): Ask HuggingChat, Summarize thread, Explain code, Translate. Each reads
only what the person picked (never anything else from the channel), in a server with the bot and in a group DM
without it (the app installed to the person's account), against the fake Discord."""

from __future__ import annotations

import pytest

from tests.fakes.discord import FLAG_EPHEMERAL, FakeDiscord, running_client
from tests.fakes.fake_router import text_script
from tests.support.discord import buttons, make_bot

OTHER_TALK = "an unrelated secret nobody picked"


def user_prompt(request: dict) -> str:
    return [m for m in request["messages"] if m["role"] == "user"][-1]["content"]


def as_text(content) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(part.get("text", "") for part in content if isinstance(part, dict))


def answered(fake: FakeDiscord, interaction, text: str):
    def check() -> bool:
        message = fake.original_response(interaction)
        return message is not None and message.content == text

    return check


@pytest.fixture
async def fake():
    async with FakeDiscord() as fake:
        fake.bob = fake.add_user("bob")
        fake.group = fake.add_group_dm(fake.default_user, fake.bob)
        yield fake


async def test_translate_in_a_group_dm_reads_only_the_picked_message_into_the_persons_language(
    discord_core, fake_router, fake
):
    group = fake.group["id"]
    await fake.message_create(group, fake.bob, OTHER_TALK)
    picked = await fake.message_create(group, fake.bob, "Bonjour à tous, le train part à 9h.")
    await fake.message_create(group, fake.bob, OTHER_TALK + " again")
    fake_router.queue(text_script("Hallo zusammen, der Zug fährt um 9 Uhr."))
    async with running_client(fake, make_bot(discord_core)):
        used = await fake.message_command(group, fake.default_user, "Translate", picked, user_install=True, locale="de")
        await fake.wait_until(answered(fake, used, "Hallo zusammen, der Zug fährt um 9 Uhr."), within=10)
    prompt = user_prompt(fake_router.requests[-1])
    assert prompt.startswith("Translate this message into German.")
    assert "bob wrote:\n> Bonjour à tous, le train part à 9h." in prompt
    assert OTHER_TALK not in str(fake_router.requests[-1])  # nothing else from the channel
    answer = fake.original_response(used)
    assert answer.data["flags"] & FLAG_EPHEMERAL and "share" in buttons(answer)
    assert [r for r in fake.requests if r.params.get("channel_id") == group] == []
    fake.assert_clean()


async def test_explain_code_reads_the_message_and_its_files(discord_core, fake_router, fake):
    group = fake.group["id"]
    code = "```python\nprint(sum(range(10)))\n```"
    picked = await fake.message_create(
        group, fake.bob, code, attachments=[("helper.py", b"def double(x):\n    return 2 * x\n", "text/x-python")]
    )
    fake_router.queue(text_script("It prints 45."))
    async with running_client(fake, make_bot(discord_core)):
        used = await fake.message_command(group, fake.default_user, "Explain code", picked, user_install=True)
        await fake.wait_until(answered(fake, used, "It prints 45."), within=10)
    sent = str(fake_router.requests[-1]["messages"])
    assert "Explain the code in this message" in sent and "print(sum(range(10)))" in sent
    assert "return 2 * x" in sent  # the attached file, read
    fake.assert_clean()


async def test_ask_about_a_reply_in_a_group_dm_answers_only_the_asker(discord_core, fake_router, fake):
    group = fake.group["id"]
    first = await fake.message_create(group, fake.default_user, "Shall we take the 9:00 train?")
    picked = await fake.message_create(group, fake.bob, "No, the later one is cheaper.", reply_to=first)
    fake_router.queue(text_script("Bob suggests the later, cheaper train."))
    async with running_client(fake, make_bot(discord_core)):
        used = await fake.message_command(group, fake.default_user, "Ask HuggingChat", picked, user_install=True)
        await fake.wait_until(lambda: used.modal is not None)
        fields = [row.get("component") or row["components"][0] for row in used.modal["components"]]
        assert [f["type"] for f in fields] == [4]  # no thread to offer where the bot is not present
        submitted = await fake.submit_modal(used, {fields[0]["custom_id"]: "What does Bob suggest?"})
        await fake.wait_until(answered(fake, submitted, "Bob suggests the later, cheaper train."), within=10)
    prompt = user_prompt(fake_router.requests[-1])
    assert prompt.startswith("What does Bob suggest?")
    assert "(in reply to alice: Shall we take the 9:00 train?)" in prompt
    assert "> No, the later one is cheaper." in prompt
    assert fake.original_response(submitted).data["flags"] & FLAG_EPHEMERAL
    fake.assert_clean()


async def test_ask_about_a_message_in_a_thread_where_the_bot_can_open_one(discord_core, fake_router, fake):
    channel = fake.default_channel["id"]
    await fake.message_create(channel, fake.default_user, OTHER_TALK)
    picked = await fake.message_create(channel, fake.default_user, "The build fails on ARM since Tuesday.")
    fake_router.queue(text_script("Probably the new compiler flags."))
    async with running_client(fake, make_bot(discord_core)):
        used = await fake.message_command(channel, fake.default_user, "Ask HuggingChat", picked)
        await fake.wait_until(lambda: used.modal is not None)
        fields = {
            f["custom_id"]: f
            for f in (row.get("component") or row["components"][0] for row in used.modal["components"])
        }
        question = next(c for c, f in fields.items() if f["type"] == 4)
        submitted = await fake.submit_modal(used, {question: "Why?", "where": ["thread"]})
        await fake.wait_until(lambda: bool(fake.threads(channel)))
        [thread] = fake.threads(channel)
        await fake.wait_until(
            lambda: any(m.content == "Probably the new compiler flags." for m in fake.channel_messages(thread["id"])),
            within=10,
        )
    assert thread["id"] == picked["id"]  # opened from the picked message
    assert "Why?" in fake.channel_messages(thread["id"])[0].content  # the question, shown in the thread
    assert "Answering in" in fake.original_response(submitted).content
    assert OTHER_TALK not in str(fake_router.requests[-1])
    fake.assert_clean()


async def test_summarize_where_the_bot_is_not_present_reads_only_the_picked_message(discord_core, fake_router, fake):
    group = fake.group["id"]
    await fake.message_create(group, fake.bob, OTHER_TALK)
    picked = await fake.message_create(group, fake.bob, "Long story short: we move on Saturday.")
    fake_router.queue(text_script("They move on Saturday."))
    async with running_client(fake, make_bot(discord_core)):
        used = await fake.message_command(group, fake.default_user, "Summarize thread", picked, user_install=True)
        await fake.wait_until(answered(fake, used, "They move on Saturday."), within=10)
    assert OTHER_TALK not in str(fake_router.requests[-1])
    assert "we move on Saturday" in user_prompt(fake_router.requests[-1])
    fake.assert_clean()
