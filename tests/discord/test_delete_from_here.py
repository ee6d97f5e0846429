"""The "Delete from here" message command and /models, through SimCord: the real bot, a simulated Discord."""

from __future__ import annotations

import pytest

from core.keys import ConversationKey
from tests.fakes.fake_router import text_script


@pytest.fixture(autouse=True)
def _router_on_env(env, fake_router):
    env.fake_router = fake_router


async def thread_of_three(env, world, fake_router):
    """Alice's /chat thread: q1 a1 q2 a2 q3 a3."""
    fake_router.queue(text_script("First answer.", pieces=2))
    await world.alice.slash(world.channel, "chat", prompt="first question")
    [thread] = world.channel.threads
    for n, word in ((2, "Second"), (3, "Third")):
        fake_router.queue(text_script(f"{word} answer.", pieces=2))
        await world.alice.send(thread, f"question {n}")
    return thread


async def stored(discord_core, world, thread) -> list[str]:
    key = ConversationKey("discord", str(world.guild.id), str(world.channel.id), str(thread.id))
    conversation = await discord_core.chat.conversations.for_key(key)
    return [m.content for m in await discord_core.store.recent_messages(conversation.id, 100)]


def shown(thread) -> list[str]:
    return [m.content for m in thread.history()]


@pytest.mark.parametrize("who", ["alice", "mod"], ids=["owner", "admin"])
async def test_delete_from_a_question_removes_it_the_answers_and_my_messages(
    env, world, discord_core, fake_router, who
):
    thread = await thread_of_three(env, world, fake_router)
    assert shown(thread) == [
        "First answer.",
        "question 2",
        "Second answer.",
        "question 3",
        "Third answer.",
    ]
    question_2 = thread.history()[1]
    result = await getattr(world, who).context_menu(thread, "Delete from here", question_2)
    assert result.ephemeral
    assert "Deleted 4 stored messages from there on and 2 of my messages." in result.response.content
    assert await stored(discord_core, world, thread) == ["first question", "First answer."]
    assert shown(thread) == ["First answer.", "question 2", "question 3"]  # people's own messages stay

    fake_router.queue(text_script("A fresh start.", pieces=1))
    await world.alice.send(thread, "question 4")
    assert [m["content"] for m in fake_router.requests[-1]["messages"]] == [
        "first question",
        "First answer.",
        "question 4",
    ]


async def test_delete_from_an_answer(env, world, discord_core, fake_router):
    thread = await thread_of_three(env, world, fake_router)
    second_answer = thread.history()[2]
    result = await world.alice.context_menu(thread, "Delete from here", second_answer)
    assert "Deleted 3 stored messages from there on and 2 of my messages." in result.response.content
    assert await stored(discord_core, world, thread) == ["first question", "First answer.", "question 2"]
    assert shown(thread) == ["First answer.", "question 2", "question 3"]


async def test_someone_else_is_refused(env, world, discord_core, fake_router):
    thread = await thread_of_three(env, world, fake_router)
    before = shown(thread)
    result = await world.bob.context_menu(thread, "Delete from here", thread.history()[1])
    assert result.ephemeral and "Only the conversation's owner or an admin" in result.response.content
    assert len(await stored(discord_core, world, thread)) == 6 and shown(thread) == before


async def test_a_later_part_of_a_long_answer_deletes_the_whole_answer(env, world, discord_core, fake_router):
    paragraphs = [f"Paragraph {n}. " + "words " * 150 for n in range(4)]  # ~3,700 characters: two messages
    fake_router.queue(text_script("\n\n".join(paragraphs), pieces=4))
    await world.alice.slash(world.channel, "chat", prompt="a long one")
    [thread] = world.channel.threads
    parts = thread.history()
    assert len(parts) == 2 and parts[1].content.startswith("Paragraph")
    result = await world.alice.context_menu(thread, "Delete from here", parts[1])
    assert "Deleted 1 stored message from there on and 2 of my messages." in result.response.content
    assert await stored(discord_core, world, thread) == ["a long one"] and shown(thread) == []


async def test_a_message_outside_any_conversation(env, world, fake_router):
    await world.alice.send(world.channel, "just chatting, no bot here")
    message = world.channel.history()[-1]
    result = await world.alice.context_menu(world.channel, "Delete from here", message)
    assert result.ephemeral and "not part of a conversation I keep" in result.response.content


async def test_models_lists_context_providers_and_prices(env, world):
    result = await world.alice.slash(world.channel, "models")
    text = result.response.content
    assert result.ephemeral and len(text) <= 2000
    assert "`meta-llama/Llama-3.3-70B-Instruct` · 131,072 tokens · groq $0.59/$0.79 · 🛠 tools" in text
    assert "`google/gemma-3-27b-it` · 8,192 tokens · nebius · 👁 vision" in text
    narrowed = await world.alice.slash(world.channel, "models", search="qwen")
    assert "Qwen/Qwen3-32B" in narrowed.response.content and "gemma" not in narrowed.response.content
    none = await world.alice.slash(world.channel, "models", search="zzz")
    assert "No model matches `zzz`." in none.response.content


async def test_inline_answers_in_a_channel_keep_other_conversations(env, world, discord_core, fake_router):
    """In a channel (inline mention mode) several conversations share the channel: only the deleted answers go."""
    bot_id = env.bot.user.id
    await world.mod.slash(world.channel, "mentions", mode="inline")
    fake_router.queue(text_script("Answer one.", pieces=2))
    await world.alice.send(world.channel, f"<@{bot_id}> question one")
    first_answer = world.channel.last_message
    fake_router.queue(text_script("Answer two.", pieces=2))
    follow_up = await world.alice.send(world.channel, "and more?", reply_to=first_answer)
    fake_router.queue(text_script("Bob's answer.", pieces=2))
    await world.bob.send(world.channel, f"<@{bot_id}> bob's question")  # another conversation, later
    assert [m.content for m in world.channel.history() if m.author.bot] == [
        "Answer one.",
        "Answer two.",
        "Bob's answer.",
    ]

    result = await world.alice.context_menu(world.channel, "Delete from here", follow_up)
    assert "Deleted 2 stored messages from there on and 1 of my messages." in result.response.content
    assert [m.content for m in world.channel.history() if m.author.bot] == ["Answer one.", "Bob's answer."]
