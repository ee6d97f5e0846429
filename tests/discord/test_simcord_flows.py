"""User-visible flows through SimCord: the real bot, a simulated Discord, the scripted router."""

from __future__ import annotations

import discord
import pytest

from core.keys import Actor, ConversationKey
from tests.fakes.fake_router import Status, text_script

ANSWER = "Tea is an aromatic beverage. It is prepared by pouring hot water over cured leaves."


def sends_and_edits(env) -> list:
    return [
        r
        for r in env.http_requests
        if (r.method, r.path.count("/")) in (("POST", 3), ("PATCH", 4)) and r.path.startswith("/channels/")
    ]


def buttons(message: discord.Message) -> dict[str, str]:
    return {c.label: c.custom_id for row in message.components for c in row.children}


async def chat(env, world, prompt="Tell me about tea", answer=ANSWER, user=None, **options):
    env.fake_router.queue(text_script(answer, pieces=6, delay=0.01))
    result = await (user or world.alice).slash(world.channel, "chat", prompt=prompt, **options)
    assert result.acknowledged
    return result


@pytest.fixture(autouse=True)
def _router_on_env(env, fake_router):
    env.fake_router = fake_router


async def test_chat_opens_a_thread_and_streams_the_answer(env, world, discord_core, fake_router):
    result = await chat(env, world)
    assert "Tell me about tea" in result.response.content  # the prompt, shown as the interaction response
    [thread] = world.channel.threads
    assert thread.name == "Tell me about tea"
    [answer] = thread.history()
    assert answer.content == ANSWER
    assert answer.author.bot

    streamed = [r for r in sends_and_edits(env) if str(thread.id) in r.path]
    assert streamed[0].method == "POST" and streamed[0].json["content"].endswith("▌")  # posted early
    assert streamed[-1].method == "PATCH" and streamed[-1].json["content"] == ANSWER
    assert all(r.json["allowed_mentions"] == {"parse": []} for r in streamed)
    # buttons: Stop while streaming, Regenerate when done
    assert streamed[0].json["components"][0]["components"][0]["custom_id"].startswith("hfchat:stop:")
    assert set(buttons(answer)) == {"Regenerate"}

    key = ConversationKey("discord", str(world.guild.id), str(world.channel.id), str(thread.id))
    conversation = await discord_core.chat.conversations.for_key(key)
    assert conversation is not None and conversation.owner_id == str(world.alice.id)
    assert fake_router.requests[-1]["messages"][-1]["content"] == "Tell me about tea"

    # every later message in the thread is answered, no mention needed
    fake_router.queue(text_script("Green or black, both come from Camellia sinensis.", pieces=3))
    await world.alice.send(thread, "Which kinds are there?")
    assert thread.last_message.content == "Green or black, both come from Camellia sinensis."
    assert [m["content"] for m in fake_router.requests[-1]["messages"] if m["role"] == "user"] == [
        "Tell me about tea",
        "Which kinds are there?",
    ]


async def test_model_output_never_pings(env, world):
    await chat(env, world, answer="@everyone <@&123> look!")
    [thread] = world.channel.threads
    assert thread.last_message.content == "@everyone <@&123> look!"
    assert not thread.last_message.mention_everyone
    assert all(r.json.get("allowed_mentions") == {"parse": []} for r in sends_and_edits(env))


async def test_chat_with_a_model_and_an_unknown_model(env, world, fake_router):
    await chat(env, world, model="qwen/qwen3-32b")
    assert fake_router.requests[-1]["model"] == "Qwen/Qwen3-32B"

    refused = await world.alice.slash(world.channel, "chat", prompt="hi", model="no-such-model")
    assert refused.ephemeral and "not a model the router serves" in refused.response.content
    assert len(world.channel.threads) == 1  # no thread for a refused request


async def test_router_error_is_shown_in_the_thread(env, world, fake_router):
    fake_router.queue([Status(400, {"error": {"message": "The provider rejected the request"}})])
    await world.alice.slash(world.channel, "chat", prompt="Are you there?")
    [thread] = world.channel.threads
    message = thread.last_message
    assert message.content.startswith("⚠️")
    assert "Regenerate" in buttons(message)  # a way to retry


async def test_model_autocomplete_puts_current_and_recent_first(env, world, discord_core):
    choices = await world.alice.autocomplete(world.channel, "model", "name", "")
    names = [c["name"] for c in choices]
    assert names[0] == "meta-llama/Llama-3.3-70B-Instruct"  # the default, current here
    assert len(names) <= 25 and all(len(n) <= 100 for n in names)

    result = await world.alice.slash(world.channel, "model", name="google/gemma-3-27b-it")
    assert result.ephemeral and "Your default model is now `google/gemma-3-27b-it`" in result.response.content
    names = [c["name"] for c in await world.alice.autocomplete(world.channel, "model", "name", "")]
    assert names[:2] == ["google/gemma-3-27b-it", "google/gemma-3-27b-it"][:1] + names[1:2]
    assert names[0] == "google/gemma-3-27b-it"

    filtered = [c["value"] for c in await world.alice.autocomplete(world.channel, "model", "name", "qwen")]
    assert filtered[0] == "Qwen/Qwen3-32B"
    assert "meta-llama/Llama-3.3-70B-Instruct" not in filtered

    unknown = await world.alice.slash(world.channel, "model", name="gpt-nonsense")
    assert unknown.ephemeral and "not a model" in unknown.response.content


async def test_model_in_a_thread_sets_that_conversation_and_scopes_need_admin(env, world, discord_core, fake_router):
    await chat(env, world)
    [thread] = world.channel.threads
    result = await world.alice.slash(thread, "model", name="Qwen/Qwen3-32B")
    assert "This conversation now uses `Qwen/Qwen3-32B`" in result.response.content
    fake_router.queue(text_script("ok", pieces=1))
    await world.alice.send(thread, "again")
    assert fake_router.requests[-1]["model"] == "Qwen/Qwen3-32B"

    denied = await world.alice.slash(world.channel, "model", name="Qwen/Qwen3-32B", scope="server")
    assert denied.ephemeral and "Manage Server" in denied.response.content
    granted = await world.mod.slash(world.channel, "model", name="google/gemma-3-27b-it", scope="server")
    assert "This server's default model is now" in granted.response.content
    shown = await world.bob.slash(world.channel, "model")
    assert "google/gemma-3-27b-it" in shown.response.content


async def test_delete_is_refused_to_others_and_erases_for_the_owner(env, world, discord_core):
    await chat(env, world)
    [thread] = world.channel.threads
    key = ConversationKey("discord", str(world.guild.id), str(world.channel.id), str(thread.id))

    refused = await world.bob.slash(thread, "delete")
    assert refused.ephemeral and "Only the conversation's owner or an admin" in refused.response.content
    assert await discord_core.chat.conversations.for_key(key) is not None  # nothing deleted
    assert len(world.channel.threads) == 1

    done = await world.alice.slash(thread, "delete")
    assert done.acknowledged and done.ephemeral  # its "Deleted" note went with the thread
    assert await discord_core.chat.conversations.for_key(key) is None
    assert world.channel.threads == []  # the bot has Manage Threads: the thread is gone


async def test_delete_by_an_admin_and_from_elsewhere_with_autocomplete(env, world, discord_core):
    await chat(env, world, prompt="first question")
    await chat(env, world, prompt="second question")
    choices = await world.alice.autocomplete(world.channel, "delete", "conversation", "second")
    assert [c["name"].split(" · ")[0] for c in choices] == ["second question"]
    assert await world.bob.autocomplete(world.channel, "delete", "conversation", "") == []  # only your own

    done = await world.alice.slash(world.channel, "delete", conversation=choices[0]["value"])
    assert "second question" in done.response.content
    assert [t.name for t in world.channel.threads] == ["first question"]


async def test_an_admin_may_delete_someone_elses_conversation(env, world, discord_core):
    await chat(env, world)
    [thread] = world.channel.threads
    by_admin = await world.mod.slash(thread, "delete")
    assert by_admin.acknowledged and world.channel.threads == []
    assert await discord_core.chat.conversations.list(Actor("discord", str(world.alice.id))) == []


async def test_two_deletes_in_a_row(env, world):
    await chat(env, world, prompt="one")
    await chat(env, world, prompt="two")
    for thread in world.channel.threads:
        assert (await world.alice.slash(thread, "delete")).acknowledged
    assert world.channel.threads == []


async def test_delete_all_asks_first(env, world, discord_core):
    await chat(env, world)
    shown = await world.alice.slash(world.channel, "delete", all=True)
    assert shown.ephemeral and "can't be undone" in shown.response.content
    assert len(await discord_core.chat.conversations.list(Actor("discord", str(world.alice.id)))) == 1
    confirmed = await world.alice.click(shown.response.message, label="Erase everything")
    assert "1 conversation(s)" in confirmed.response.content
    assert await discord_core.chat.conversations.list(Actor("discord", str(world.alice.id))) == []


async def test_private_chat_opens_a_private_thread(env, world):
    env.fake_router.queue(text_script(ANSWER, pieces=3))
    result = await world.alice.slash(world.channel, "chat", prompt="secret question", private=True)
    assert result.ephemeral
    [thread] = world.channel.threads
    assert thread.history()[0].channel.type is discord.ChannelType.private_thread
    assert thread.name == "Private conversation"  # the prompt shows nowhere outside the thread
    assert f"<#{thread.id}>" in result.response.content
    assert thread.last_message.content == ANSWER
    assert "secret question" not in "".join(m.content for m in world.channel.history())
    # alice was added and can write there; the bot answers
    env.fake_router.queue(text_script("sure", pieces=1))
    await world.alice.send(thread, "more")
    assert thread.last_message.content == "sure"


async def test_regenerate_and_continue_buttons(env, world, discord_core, fake_router):
    fake_router.queue(text_script("Cut short", pieces=2, finish="length"))
    await world.alice.slash(world.channel, "chat", prompt="long story")
    [thread] = world.channel.threads
    cut = thread.last_message
    assert set(buttons(cut)) == {"Regenerate", "Continue"}
    assert "length limit" in cut.content

    fake_router.queue(text_script(" and the rest.", pieces=2))
    await world.alice.click(cut, label="Continue")
    assert thread.last_message.content == " and the rest."
    assert buttons(thread.history()[0]) == {}  # the old answer lost its buttons
    [conversation] = await discord_core.chat.conversations.list(Actor("discord", str(world.alice.id)))
    stored = await discord_core.store.recent_messages(conversation.id, 10)
    assert stored[-1].content == "Cut short and the rest."

    refused = await world.bob.click(thread.last_message, label="Regenerate")
    assert refused.ephemeral and "owner" in refused.response.content

    fake_router.queue(text_script("A fresh answer.", pieces=2))
    await world.alice.click(thread.last_message, label="Regenerate")
    assert thread.last_message.content == "A fresh answer."
    stored = await discord_core.store.recent_messages(conversation.id, 10)
    assert [m.content for m in stored] == ["long story", "A fresh answer."]


@pytest.mark.simcord(settle_timeout=0.6)
async def test_stop_button_stops_the_stream(env, world, fake_router):
    from tests.fakes.fake_router import Sleep, chunk

    fake_router.queue([chunk("Counting: one"), Sleep(0.2), chunk(", two"), Sleep(2), chunk(", never")])
    with pytest.raises(TimeoutError):  # the model stalls: the slash verb cannot settle, the stream is live
        await world.alice.slash(world.channel, "chat", prompt="count")
    [thread] = world.channel.threads
    live = thread.last_message
    assert live.content.endswith("▌") and set(buttons(live)) == {"Stop"}
    await world.alice.click(live, label="Stop")
    final = thread.last_message
    assert final.content.startswith("Counting: one, two") and "Stopped" in final.content
    assert set(buttons(final)) == {"Regenerate", "Continue"}


async def test_dms_have_a_current_conversation_new_and_reply_to_older(env, world, discord_core, fake_router):
    user = world.alice.user
    fake_router.queue(text_script("First answer.", pieces=2))
    await user.send_dm("first topic")
    dm = user.dm_channel
    first_answer = dm.last_message
    assert first_answer.content == "First answer."

    fake_router.queue(text_script("Still first.", pieces=2))
    await user.send_dm("follow up")
    assert [m["content"] for m in fake_router.requests[-1]["messages"] if m["role"] == "user"] == [
        "first topic",
        "follow up",
    ]

    result = await user.slash("new")
    assert result.ephemeral and "New conversation" in result.response.content
    fake_router.queue(text_script("Second answer.", pieces=2))
    await user.send_dm("second topic")
    assert [m["content"] for m in fake_router.requests[-1]["messages"] if m["role"] == "user"] == ["second topic"]

    # replying to an answer from the first conversation goes back to it
    fake_router.queue(text_script("Back to the first.", pieces=2))
    await user.send_dm("about that", reference={"channel_id": str(dm.id), "message_id": str(first_answer.id)})
    assert [m["content"] for m in fake_router.requests[-1]["messages"] if m["role"] == "user"] == [
        "first topic",
        "follow up",
        "about that",
    ]


async def test_mention_in_a_channel_opens_a_thread_and_inline_mode(env, world, fake_router):
    bot_id = env.bot.user.id
    fake_router.queue(text_script("Hello there.", pieces=2))
    await world.alice.send(world.channel, f"<@{bot_id}> hello")
    [thread] = world.channel.threads
    assert thread.last_message.content == "Hello there."
    assert fake_router.requests[-1]["messages"][-1]["content"] == "hello"

    assert "mentions" not in world.alice.available_commands(world.channel)  # Manage Server only
    await world.mod.slash(world.channel, "mentions", mode="inline")
    fake_router.queue(text_script("Inline answer.", pieces=2))
    asked = await world.alice.send(world.channel, f"<@{bot_id}> inline please")
    answer = world.channel.last_message
    assert answer.content == "Inline answer." and answer.reference.message_id == asked.id
    assert len(world.channel.threads) == 1

    # replying to the inline answer continues that conversation
    fake_router.queue(text_script("Continued.", pieces=1))
    await world.alice.send(world.channel, "and more?", reply_to=answer)
    assert [m["content"] for m in fake_router.requests[-1]["messages"] if m["role"] == "user"] == [
        "inline please",
        "and more?",
    ]

    await world.mod.slash(world.channel, "mentions", mode="off")
    before = len(fake_router.requests)
    await world.alice.send(world.channel, f"<@{bot_id}> anyone?")
    assert len(fake_router.requests) == before


async def test_edit_and_delete_of_user_messages_reach_the_core(env, world, discord_core, fake_router):
    await chat(env, world)
    [thread] = world.channel.threads
    fake_router.queue(text_script("Answer two.", pieces=1))
    question = await world.alice.send(thread, "typo questoin")
    await world.alice.edit(question, "typo question")
    conversation = await discord_core.chat.conversations.for_key(
        ConversationKey("discord", str(world.guild.id), str(world.channel.id), str(thread.id))
    )
    contents = [m.content for m in await discord_core.store.recent_messages(conversation.id, 10)]
    assert "typo question" in contents and "typo questoin" not in contents
    await world.alice.delete(question)
    contents = [m.content for m in await discord_core.store.recent_messages(conversation.id, 10)]
    assert contents == ["Tell me about tea", ANSWER]


async def test_conversations_and_export(env, world):
    await chat(env, world, prompt="Tea history")
    [thread] = world.channel.threads
    listed = await world.alice.slash(world.channel, "conversations")
    assert listed.ephemeral and "Tea history" in listed.response.content
    assert f"/channels/{world.guild.id}/{thread.id}" in listed.response.content

    exported = await world.alice.slash(thread, "export")
    assert exported.ephemeral
    [file] = exported.response.attachments
    assert file.filename.endswith(".md")
    text = (await file.read()).decode()
    assert "Tea history" in text and ANSWER in text

    other = await world.bob.slash(thread, "export")
    assert "owner" in other.response.content
