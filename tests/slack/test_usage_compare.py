"""`/usage` (mine; the workspace's, per person and per day, for admins), `/limits` (admins set them and the core
enforces them on Slack messages, saying when one can continue) and `/compare` (one thread reply per model)."""

from __future__ import annotations

from core.records import Scope
from tests.fakes.fake_router import Sleep, chunk, text_script
from tests.support.slack import ADMIN, ALICE, BOB, CHANNEL, visible

LLAMA, QWEN, GEMMA = "meta-llama/Llama-3.3-70B-Instruct", "Qwen/Qwen3-32B", "google/gemma-3-27b-it"


async def test_usage_mine_and_the_workspace_for_admins(bot):
    bot.router.queue(text_script("One."))
    await bot.fake.user_posts("first", channel=CHANNEL, user=ALICE)
    bot.router.queue(text_script("Two."))
    await bot.fake.user_posts("second", channel=CHANNEL, user=BOB)
    await bot.settle()

    await bot.command("/usage", "", user=ALICE)
    mine = bot.responses()[-1]
    assert mine.startswith("**Your usage, last 30 days:** 18 tokens, 1 answers")
    assert f"`{LLAMA}`: 18 tokens (11 in, 7 out)" in mine and "**By day (UTC)**" in mine
    assert "By person" not in mine

    await bot.command("/usage", "workspace 7", user=BOB)
    assert "Only an admin of this workspace can see everyone's usage." in bot.responses()[-1]
    await bot.command("/usage", "workspace 7", user=ADMIN)
    everyone = bot.responses()[-1]
    assert everyone.startswith("**Workspace usage, last 7 days:** 36 tokens, 2 answers")
    assert "**By person**" in everyone and "`alice`: 18 tokens" in everyone and "`bob`: 18 tokens" in everyone
    assert "**By day (UTC)**" in everyone
    # `/hfchat usage` is the same command
    await bot.command("/hfchat", "usage", user=BOB)
    assert bot.responses()[-1].startswith("**Your usage, last 30 days:** 18 tokens")


async def test_limits_are_set_by_admins_and_enforced_on_messages(bot):
    await bot.command("/limits", "messages_per_minute 1", user=BOB)
    assert "Only an admin of this workspace can change its limits." in bot.responses()[-1]
    team = bot.fake.team_id
    assert await bot.core.store.get_setting("slack", team, Scope.WORKSPACE, team, "limit_messages_per_minute") is None

    await bot.command("/limits", "messages_per_minute 1", user=ADMIN)
    assert "• messages per minute per person: 1" in bot.responses()[-1]
    await bot.command("/limits", "", user=BOB)
    assert "**Limits in this workspace**" in bot.responses()[-1] and "per person: 1" in bot.responses()[-1]

    bot.router.queue(text_script("Allowed."))
    first = await bot.fake.user_posts("one", channel=CHANNEL, user=BOB)
    await bot.settle()
    second = await bot.fake.user_posts("two", channel=CHANNEL, user=BOB)
    await bot.settle()
    assert [visible(m) for m in bot.answers(CHANNEL, first.ts)] == ["Allowed."]
    assert bot.answers(CHANNEL, second.ts) == []
    refusal = bot.fake.ephemerals[-1]
    assert refusal["user"] == BOB and refusal["thread_ts"] == second.ts
    assert "allows 1 messages a minute per person. You can continue in" in refusal["text"]
    assert len(bot.router.requests) == 1

    await bot.command("/limits", f"allowed_models {QWEN}", user=ADMIN)
    await bot.command("/model", LLAMA, user=ALICE)
    assert f"`{LLAMA}` is not allowed in this workspace" in bot.responses()[-1]


async def test_compare_streams_one_thread_reply_per_model(bot):
    bot.router.queue(text_script("Qwen says DNS maps names.", pieces=4, delay=0.02), model=QWEN)
    bot.router.queue(text_script("Gemma says DNS is a phone book.", pieces=4, delay=0.02), model=GEMMA)
    await bot.command("/compare", f"{QWEN}, {GEMMA} Explain DNS", user=ALICE)
    root = [m for m in bot.fake.bot_messages(CHANNEL) if not m.is_reply][-1]
    assert f"compares `{QWEN}`, `{GEMMA}`" in visible(root) and "> Explain DNS" in visible(root)
    replies = sorted(visible(m) for m in bot.answers(CHANNEL, root.ts))
    expected = [f"**{GEMMA}**\nGemma says DNS is a phone book.", f"**{QWEN}**\nQwen says DNS maps names."]
    assert replies == sorted(expected)
    assert sorted(r["model"] for r in bot.router.requests) == sorted([GEMMA, QWEN])
    assert all(r["messages"][-1]["content"] == "Explain DNS" for r in bot.router.requests)
    assert len(bot.fake.calls("chat.startStream")) == 2  # streamed natively, each in its own message
    # a one-off, not a stored conversation; usage counts both answers
    assert await bot.core.store.list_conversations("slack", ALICE) == []
    await bot.command("/usage", "", user=ALICE)
    assert "36 tokens, 2 answers" in bot.responses()[-1]


async def test_compare_side_by_side_while_both_stream(bot):
    slow = [chunk(""), chunk("Qwen "), Sleep(0.3), chunk("done."), chunk(finish="stop")]
    bot.router.queue(slow, model=QWEN)
    bot.router.queue([chunk(""), chunk("Gemma "), Sleep(0.3), chunk("done."), chunk(finish="stop")], model=GEMMA)
    await bot.command("/compare", f"{QWEN},{GEMMA} hi", user=ALICE)
    root = [m for m in bot.fake.bot_messages(CHANNEL) if not m.is_reply][-1]
    starts = [c.at for c in bot.fake.calls("chat.startStream")]
    stops = [c.at for c in bot.fake.calls("chat.stopStream")]
    assert len(starts) == 2 and max(starts) < min(stops)  # both were streaming at the same time
    assert len(bot.answers(CHANNEL, root.ts)) == 2


async def test_compare_refusals_post_nothing(bot):
    await bot.command("/compare", "Explain DNS", user=ALICE)
    assert "Write /compare MODEL1,MODEL2 PROMPT" in bot.responses()[-1]
    await bot.command("/compare", f"{QWEN},qwen3-32 hi", user=ALICE)
    assert "`qwen3-32` is not a model the router serves" in bot.responses()[-1]
    await bot.command("/compare", f"{QWEN},{QWEN} hi", user=ALICE)
    assert "Compare takes 2 to 4 different models; got 1." in bot.responses()[-1]
    await bot.command("/limits", f"allowed_models {QWEN}", user=ADMIN)
    await bot.command("/compare", f"{QWEN},{GEMMA} hi", user=ALICE)
    assert f"`{GEMMA}` is not allowed in this workspace" in bot.responses()[-1]
    assert [m for m in bot.fake.bot_messages(CHANNEL) if not m.is_reply] == []  # the header was taken back
    await bot.command("/limits", "allowed_models none", user=ADMIN)
    bot.fake.inject("chat.postMessage", "not_in_channel")
    await bot.command("/compare", f"{QWEN},{GEMMA} hi", user=ALICE)
    assert "invite me to the channel first" in bot.responses()[-1]
    assert bot.router.requests == []


async def test_a_comparison_the_core_refuses_posts_no_header_to_take_back(bot):
    await bot.command("/limits", f"allowed_models {QWEN}", user=ADMIN)
    posted = len(bot.fake.calls("chat.postMessage"))
    await bot.command("/compare", f"{QWEN},{GEMMA} hi", user=ALICE)
    assert f"`{GEMMA}` is not allowed in this workspace" in bot.responses()[-1]
    assert len(bot.fake.calls("chat.postMessage")) == posted and bot.fake.calls("chat.delete") == []
