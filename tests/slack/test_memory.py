"""Memory on Slack (issue 16): `/memory` lists and deletes (a button per fact, Delete all), on and off; "remember
that …" keeps a fact only when memory is on; the model's "Remember this?" reaches only its person, and only their Keep
stores it; nobody else's answers get it."""

from __future__ import annotations

from core.tools.remember import NAME
from tests.fakes.fake_router import text_script, tool_calls_script
from tests.support.slack import ALICE, BOB, CHANNEL, buttons

CANARY = "canary-slack-5d2e-prefers-tabs"


def system_prompt(request: dict) -> str:
    return "\n".join(m["content"] for m in request["messages"] if m["role"] == "system")


async def facts(bot, user=ALICE) -> list[str]:
    return [m.fact for m in await bot.core.store.list_memories("slack", bot.fake.team_id, user)]


async def ask(bot, text: str, user=ALICE, answer: str = "OK.") -> None:
    bot.router.queue(text_script(answer))
    await bot.fake.user_posts(text, channel=CHANNEL, user=user)
    await bot.settle()


def last_response(bot) -> dict:
    return bot.fake.response_url_posts[-1]["body"]


async def test_memory_is_off_until_turned_on_then_a_request_is_kept_and_used_only_for_its_person(bot):
    await ask(bot, f"remember that {CANARY}")
    assert await facts(bot) == []
    await bot.command("/memory", "", user=ALICE)
    assert "Memory is **off**" in bot.responses()[-1]

    await bot.command("/memory", "on", user=ALICE)
    assert "on" in bot.responses()[-1]
    await ask(bot, f"remember that {CANARY}")
    assert await facts(bot) == [CANARY]
    await ask(bot, "What do I prefer?")
    assert CANARY in system_prompt(bot.router.requests[-1])
    await bot.command("/memory", "on", user=BOB)
    await ask(bot, "What do I prefer?", user=BOB)
    assert CANARY not in str(bot.router.requests[-1])


async def test_the_list_has_a_delete_button_per_fact_and_delete_all(bot):
    await bot.command("/memory", "on", user=ALICE)
    for fact in ("first fact", "second fact", CANARY):
        await ask(bot, f"remember that {fact}")
    await bot.command("/memory", "list", user=ALICE)
    listed = last_response(bot)
    deletes = [
        b["accessory"] for b in listed["blocks"] if b.get("accessory", {}).get("action_id") == "hfchat_memory_delete"
    ]
    assert [b["text"]["text"] for b in listed["blocks"] if b.get("accessory")] == [
        "1. first fact",
        "2. second fact",
        f"3. {CANARY}",
    ]
    assert [b["action_id"] for b in buttons(listed["blocks"])] == ["hfchat_memory_clear"]

    # Bob pressing Alice's button deletes nothing of hers
    await bot.interact(
        bot.fake.build_block_actions(action_id="hfchat_memory_delete", value=deletes[1]["value"], user=BOB)
    )
    assert len(await facts(bot)) == 3
    await bot.interact(
        bot.fake.build_block_actions(action_id="hfchat_memory_delete", value=deletes[1]["value"], user=ALICE)
    )
    assert await facts(bot) == ["first fact", CANARY]
    assert "second fact" not in str(last_response(bot)["blocks"])  # the list shown again, without it
    await bot.interact(bot.fake.build_block_actions(action_id="hfchat_memory_clear", value="all", user=ALICE))
    assert await facts(bot) == []
    assert "Deleted all 2 facts" in last_response(bot)["text"]


async def test_forget_and_clear_as_words(bot):
    await bot.command("/memory", "on", user=ALICE)
    await ask(bot, "remember that one")
    await ask(bot, "remember that two")
    await bot.command("/memory", "forget 1", user=ALICE)
    assert await facts(bot) == ["two"]
    await bot.command("/hfchat", "memory clear", user=ALICE)
    assert await facts(bot) == []


async def test_a_suggestion_is_shown_only_to_its_person_and_kept_only_on_keep(bot):
    await bot.command("/memory", "on", user=ALICE)
    bot.router.queue(tool_calls_script((NAME, {"fact": CANARY})))
    await ask(bot, "I always indent with tabs; fix this file", answer="Fixed.")
    [shown] = [e for e in bot.fake.ephemerals if "Remember this?" in e.get("text", "")]
    assert shown["user"] == ALICE  # an ephemeral message: nobody else sees it
    assert [b["action_id"] for b in buttons(shown["blocks"])] == ["hfchat_memory_keep", "hfchat_memory_drop"]
    proposal_id = buttons(shown["blocks"])[0]["value"]
    assert await facts(bot) == []  # nothing before the yes

    await bot.interact(bot.fake.build_block_actions(action_id="hfchat_memory_keep", value=proposal_id, user=BOB))
    assert await facts(bot) == [] and "for the person it is about" in bot.responses()[-1]
    await bot.interact(bot.fake.build_block_actions(action_id="hfchat_memory_keep", value=proposal_id, user=ALICE))
    assert await facts(bot) == [CANARY]
    assert "Kept" in last_response(bot)["text"]


async def test_dont_keeps_nothing(bot):
    await bot.command("/memory", "on", user=ALICE)
    bot.router.queue(tool_calls_script((NAME, {"fact": CANARY})))
    await ask(bot, "I like tabs", answer="Noted.")
    [shown] = [e for e in bot.fake.ephemerals if "Remember this?" in e.get("text", "")]
    await bot.interact(
        bot.fake.build_block_actions(
            action_id="hfchat_memory_drop", value=buttons(shown["blocks"])[1]["value"], user=ALICE
        )
    )
    assert await facts(bot) == [] and "Not kept" in last_response(bot)["text"]


async def test_delete_all_my_data_erases_the_memory_and_turns_it_off(bot):
    await bot.command("/memory", "on", user=ALICE)
    await ask(bot, f"remember that {CANARY}")
    await bot.command("/memory", "on", user=BOB)
    await ask(bot, "remember that Bob keeps this", user=BOB)
    await bot.command("/delete", "all", user=ALICE)
    await bot.interact(bot.fake.build_block_actions(action_id="hfchat_delete_all_confirm", value="all", user=ALICE))
    assert await facts(bot) == []
    assert not await bot.core.chat.memory.is_on("slack", bot.fake.team_id, ALICE)
    assert await facts(bot, BOB) == ["Bob keeps this"]
