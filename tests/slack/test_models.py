"""Choosing models: /model (user and channel scope), `@bot model` in a thread, the modal and App Home."""

from __future__ import annotations

from tests.fakes.fake_router import text_script
from tests.support.slack import ADMIN, ALICE, BOB, CHANNEL

DEFAULT = "meta-llama/Llama-3.3-70B-Instruct"
QWEN, GEMMA = "Qwen/Qwen3-32B", "google/gemma-3-27b-it"


async def test_slash_model_shows_current_and_suggestions(bot):
    await bot.command("/model")
    text = bot.responses()[-1]
    assert f"Current model: `{DEFAULT}` (the default)" in text
    assert QWEN in text and GEMMA in text
    assert bot.fake.response_url_posts[-1]["body"]["response_type"] == "ephemeral"


async def test_slash_model_sets_the_user_default(bot):
    await bot.command("/model", QWEN, user=ALICE)
    assert bot.responses()[-1] == f"Your default model is now `{QWEN}`."
    bot.router.queue(text_script("From Qwen."))
    await bot.fake.user_posts("hi", channel=CHANNEL, user=ALICE)
    await bot.settle()
    assert bot.router.requests[-1]["model"] == QWEN
    await bot.command("/model")
    assert f"Current model: `{QWEN}` (your default)" in bot.responses()[-1]


async def test_unknown_model_gets_closest_matches(bot):
    await bot.command("/model", "qwen3-32")
    text = bot.responses()[-1]
    assert "`qwen3-32` is not a model the router serves" in text and QWEN in text


async def test_channel_default_is_for_admins(bot):
    await bot.command("/model", f"channel {GEMMA}", user=BOB)
    assert "Only an admin" in bot.responses()[-1]
    await bot.command("/model", f"channel {GEMMA}", user=ADMIN)
    assert bot.responses()[-1] == f"This channel now defaults to `{GEMMA}`."
    bot.router.queue(text_script("From Gemma."))
    await bot.fake.user_posts("hi", channel=CHANNEL, user=BOB)
    await bot.settle()
    assert bot.router.requests[-1]["model"] == GEMMA


async def test_mention_model_switches_the_thread(bot):
    bot.router.queue(text_script("Default answer."))
    post = await bot.fake.user_posts("hello", channel=CHANNEL)
    await bot.settle()
    await bot.fake.user_posts(f"model {GEMMA}", channel=CHANNEL, thread_ts=post.ts)
    await bot.settle()
    assert bot.ephemeral_texts()[-1] == f"This thread now uses `{GEMMA}`."
    await bot.fake.user_posts("model gema-3", channel=CHANNEL, thread_ts=post.ts)
    await bot.settle()
    assert "Did you mean" in bot.ephemeral_texts()[-1] and GEMMA in bot.ephemeral_texts()[-1]
    bot.router.queue(text_script("Gemma answer."))
    await bot.fake.user_posts("again", channel=CHANNEL, thread_ts=post.ts, mention=False)
    await bot.settle()
    assert bot.router.requests[-1]["model"] == GEMMA
    assert len(bot.router.requests) == 2  # the model commands were not prompts
    # what the thread shows is what it uses (the conversation scope, over the user's own default)
    await bot.command("/model", QWEN)
    await bot.fake.user_posts("model", channel=CHANNEL, thread_ts=post.ts)
    await bot.settle()
    assert f"This thread uses `{GEMMA}`" in bot.ephemeral_texts()[-1], bot.ephemeral_texts()[-1]
    bot.router.queue(text_script("Still Gemma."))
    await bot.fake.user_posts("and now?", channel=CHANNEL, thread_ts=post.ts, mention=False)
    await bot.settle()
    assert bot.router.requests[-1]["model"] == GEMMA


async def test_switch_model_shortcut_opens_a_modal(bot):
    bot.router.queue(text_script("Default answer."))
    post = await bot.fake.user_posts("hello", channel=CHANNEL)
    await bot.settle()
    await bot.interact(bot.fake.build_message_action(channel=CHANNEL, message_ts=post.ts, callback_id="switch_model"))
    view = next(v for v in bot.fake.views.values() if v["type"] == "modal")
    select = view["blocks"][1]["element"]
    assert select["type"] == "static_select" and select["initial_option"]["value"] == DEFAULT
    assert {o["value"] for o in select["options"]} >= {QWEN, GEMMA}

    submission = {
        "type": "view_submission",
        "team": {"id": bot.fake.team_id, "domain": bot.fake.team_domain},
        "user": {"id": ALICE, "team_id": bot.fake.team_id},
        "api_app_id": bot.fake.app_id,
        "token": bot.fake.verification_token,
        "trigger_id": bot.fake.new_trigger_id(),
        "view": {
            **view,
            "state": {"values": {"model": {"choice": {"type": "static_select", "selected_option": {"value": QWEN}}}}},
        },
    }
    await bot.interact(submission)
    assert bot.ephemeral_texts()[-1] == f"This thread now uses `{QWEN}`."
    bot.router.queue(text_script("Qwen answer."))
    await bot.fake.user_posts("again", channel=CHANNEL, thread_ts=post.ts, mention=False)
    await bot.settle()
    assert bot.router.requests[-1]["model"] == QWEN


async def test_app_home_model_picker(bot):
    await bot.send(bot.fake.build_app_home_opened(user=ALICE))
    await bot.settle()
    view = bot.fake.views[bot.fake.home_views[ALICE]]
    accessory = view["blocks"][1]["accessory"]
    assert accessory["action_id"] == "home_model_select" and accessory["initial_option"]["value"] == DEFAULT

    click = bot.fake.build_block_actions(
        action_id="home_model_select", action_type="static_select", view_id=view["id"], user=ALICE
    )
    click["actions"][0]["selected_option"] = {"text": {"type": "plain_text", "text": GEMMA}, "value": GEMMA}
    await bot.interact(click)
    view = bot.fake.views[bot.fake.home_views[ALICE]]
    assert f"`{GEMMA}` (your default)" in view["blocks"][1]["text"]["text"]
    bot.router.queue(text_script("Gemma."))
    await bot.fake.user_posts("hi", channel=CHANNEL, user=ALICE)
    await bot.settle()
    assert bot.router.requests[-1]["model"] == GEMMA


async def test_workspace_default_is_for_admins(bot):
    await bot.command("/model", f"workspace {QWEN}", user=BOB)
    assert "Only an admin" in bot.responses()[-1]
    await bot.command("/model", f"workspace {QWEN}", user=ADMIN)
    assert bot.responses()[-1] == f"The workspace now defaults to `{QWEN}`."
    await bot.command("/model", "", user=BOB)
    assert f"Current model: `{QWEN}` (the workspace's default)" in bot.responses()[-1]
    await bot.command("/model", "workspace reset", user=ADMIN)
    assert bot.responses()[-1] == "The workspace's default is cleared."
