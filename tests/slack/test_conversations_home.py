"""`/conversations` with permalinks, `/export` as a file (files upload v2, owner or admin only), the model list
with providers and prices, the App Home (model, settings and assistants with buttons), AI-app thread titles
from the core, and the new commands over signed HTTP."""

from __future__ import annotations

import contextlib
import json

from bots.slack.http import serve_http
from core.keys import ConversationKey
from core.records import Scope
from tests.fakes.fake_router import text_script
from tests.fakes.slack import FakeSlack, post_signed
from tests.support.slack import ADMIN, ALICE, BOB, CHANNEL, DM, buttons, reasoning_script, running_bot, visible
from tests.support.waits import wait_for


async def _two_conversations(bot) -> tuple[str, str]:
    bot.router.queue(text_script("About cats."))
    first = await bot.fake.user_posts("Tell me about cats", channel=CHANNEL, user=ALICE)
    await bot.settle()
    bot.router.queue(text_script("About dogs."))
    second = await bot.fake.user_posts("Tell me about dogs", channel=CHANNEL, user=ALICE)
    await bot.settle()
    return first.ts, second.ts


def _link(channel: str, ts: str, domain: str) -> str:
    return f"https://{domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"


async def test_conversations_list_with_permalinks(bot):
    first, second = await _two_conversations(bot)
    await bot.command("/conversations", "", user=ALICE)
    text = bot.responses()[-1]
    domain = bot.fake.team_domain
    assert f"1. [Tell me about dogs]({_link(CHANNEL, second, domain)})" in text
    assert f"2. [Tell me about cats]({_link(CHANNEL, first, domain)})" in text
    await bot.command("/conversations", "", user=BOB)
    assert "You have no stored conversations here" in bot.responses()[-1]


async def test_export_as_markdown_and_json_to_the_owner(bot):
    first, _ = await _two_conversations(bot)
    await bot.command("/export", "2", user=ALICE)
    assert bot.responses()[-1] == "Exported “Tell me about cats” as Markdown: the file is in our direct messages."
    markdown = [f for f in bot.fake.files.values() if f["name"].endswith(".md")][-1]
    body = markdown["content"].decode()
    assert body.startswith("# Tell me about cats") and "Tell me about cats" in body and "About cats." in body
    dm = bot.fake.channels[markdown["channel"]]
    assert dm.type == "im" and dm.user == ALICE
    assert bot.fake.message(dm.id, markdown["ts"]).text == "“Tell me about cats” as Markdown"

    link = _link(CHANNEL, first, bot.fake.team_domain)
    await bot.command("/export", f"<{link}> json", user=ALICE)
    exported = [f for f in bot.fake.files.values() if f["name"].endswith(".json")][-1]
    document = json.loads(exported["content"])
    assert [m["content"] for m in document["messages"]] == ["Tell me about cats", "About cats."]

    # someone else's conversation: refused; an admin of the workspace may
    await bot.command("/export", link, user=BOB)
    assert "Only the conversation's owner or an admin can export it." in bot.responses()[-1]
    await bot.command("/export", link, user=ADMIN)
    assert bot.responses()[-1].startswith("Exported “Tell me about cats”")
    await bot.command("/export", "", user=ALICE)
    assert "Which one?" in bot.responses()[-1]
    await bot.command("/export", "9", user=ALICE)
    assert "There is no conversation number 9" in bot.responses()[-1]


async def test_export_in_a_dm_takes_the_current_conversation(bot):
    bot.router.queue(text_script("Private answer."))
    await bot.fake.user_posts("a private question", channel=DM, user=ALICE)
    await bot.settle()
    await bot.command("/export", "", user=ALICE, channel=DM)
    assert bot.responses()[-1] == "Exported “a private question” as Markdown: the file is here."
    exported = [f for f in bot.fake.files.values() if f["name"].endswith(".md")][-1]
    assert exported["channel"] == DM and "Private answer." in exported["content"].decode()


async def test_model_list_shows_what_the_catalog_knows(bot):
    await bot.command("/model", "", user=ALICE)
    text = bot.responses()[-1]
    assert "`meta-llama/Llama-3.3-70B-Instruct` · 131,072 tokens · groq $0.59/$0.79 · 🛠 tools" in text
    assert "`google/gemma-3-27b-it` · 8,192 tokens · nebius · 👁 vision" in text
    assert "`Qwen/Qwen3-32B` · 32,768 tokens · cerebras · 🛠 tools" in text
    await bot.command("/model", "list gemma", user=ALICE)
    text = bot.responses()[-1]
    assert "gemma-3-27b-it" in text and "Qwen" not in text


async def test_app_home_shows_model_settings_assistants_and_models(bot):
    await bot.command("/settings", "temperature 0.3", user=ALICE)
    await bot.command("/assistant", 'new Chef instructions="Cook." starter="Soup?"', user=ALICE)
    await bot.send(bot.fake.build_app_home_opened(user=ALICE))
    await bot.settle()
    view = bot.fake.views[bot.fake.home_views[ALICE]]
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert "`temperature` = `0.3` (your setting)" in blocks["home_settings"]["text"]["text"]
    assert blocks["home_settings"]["accessory"]["action_id"] == "home_settings_edit"
    chef = next(b for b in view["blocks"] if b.get("block_id", "").startswith("home_assistant_actions_"))
    assert [e["action_id"] for e in chef["elements"]] == [
        "home_assistant_use",
        "home_assistant_edit",
        "home_assistant_delete",
    ]
    assert "groq $0.59/$0.79" in blocks["home_models"]["text"]["text"]

    # Use: Chef becomes the default, shown as such
    use = chef["elements"][0]
    await bot.interact(
        bot.fake.build_block_actions(action_id=use["action_id"], value=use["value"], view_id=view["id"], user=ALICE)
    )
    view = bot.fake.views[bot.fake.home_views[ALICE]]
    shown = json.dumps(view["blocks"], ensure_ascii=False)
    assert "Chef (personal) · model `default` · ✓ your default" in shown
    bot.router.queue(text_script("Soup it is."))
    await bot.fake.user_posts("hungry", channel=CHANNEL, user=ALICE)
    await bot.settle()
    assert bot.router.requests[-1]["messages"][0] == {"role": "system", "content": "Cook."}


async def test_app_home_settings_form(bot):
    await bot.send(bot.fake.build_app_home_opened(user=ALICE))
    await bot.settle()
    home = bot.fake.views[bot.fake.home_views[ALICE]]
    await bot.interact(bot.fake.build_block_actions(action_id="home_settings_edit", view_id=home["id"], user=ALICE))
    form = next(v for v in bot.fake.views.values() if v.get("callback_id") == "settings_modal")

    def submission(values: dict) -> dict:
        state = {}
        for name, value in values.items():
            kind = "static_select" if name in ("reasoning_effort", "web_search") else "plain_text_input"
            state[name] = {"value": {"type": kind, "selected_option": {"value": value}}}
            if kind == "plain_text_input":
                state[name] = {"value": {"type": kind, "value": value}}
        return {
            "type": "view_submission",
            "team": {"id": bot.fake.team_id, "domain": bot.fake.team_domain},
            "user": {"id": ALICE, "team_id": bot.fake.team_id},
            "api_app_id": bot.fake.app_id,
            "token": bot.fake.verification_token,
            "trigger_id": bot.fake.new_trigger_id(),
            "view": {**form, "state": {"values": state}},
        }

    envelope = await bot.fake.socket_send_interactive(submission({"temperature": "5", "top_p": "0.5"}))
    refused = (await bot.fake.wait_ack(envelope))["payload"]
    assert refused["response_action"] == "errors" and "out of range" in refused["errors"]["temperature"]
    await bot.settle()
    assert await bot.core.store.get_setting("slack", "", Scope.USER, ALICE, "top_p") is None  # nothing half-saved

    await bot.interact(submission({"temperature": "0.5", "reasoning_effort": "high", "system_prompt": "Be kind."}))
    for name, value in (("temperature", "0.5"), ("reasoning_effort", "high"), ("system_prompt", "Be kind.")):
        assert await bot.core.store.get_setting("slack", "", Scope.USER, ALICE, name) == value
    home = bot.fake.views[bot.fake.home_views[ALICE]]
    assert "`reasoning_effort` = `high` (your setting)" in json.dumps(home["blocks"])


async def test_app_home_refuses_what_the_core_refuses(bot):
    await bot.command("/assistant", 'new "Team bot" shared=yes', user=ADMIN)
    await bot.send(bot.fake.build_app_home_opened(user=BOB))
    await bot.settle()
    view = bot.fake.views[bot.fake.home_views[BOB]]
    delete = next(
        e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"].endswith("delete")
    )
    await bot.interact(
        bot.fake.build_block_actions(action_id=delete["action_id"], value=delete["value"], view_id=view["id"], user=BOB)
    )
    view = bot.fake.views[bot.fake.home_views[BOB]]
    assert "Only its creator or a workspace admin can delete this assistant." in json.dumps(view["blocks"])
    await bot.command("/assistant", "list", user=ADMIN)
    assert "1. Team bot (shared)" in bot.responses()[-1]


async def test_ai_app_thread_title_comes_from_the_core(core_factory, fake_router):
    async def titled(url: str):
        return await core_factory(url, auto_titles=True)

    async with FakeSlack(echo_events=True) as fake:
        async with running_bot(titled, fake_router, fake) as bot:
            started = fake.build_assistant_thread_started(user=ALICE)
            dm, thread_ts = started["assistant_thread"]["channel_id"], started["assistant_thread"]["thread_ts"]
            await bot.send(started)
            await bot.settle()
            fake_router.queue(text_script("Transformers use attention."))
            fake_router.queue(text_script("Attention Explained"))  # the title request
            await fake.user_posts("Explain transformers", channel=dm, thread_ts=thread_ts, user=ALICE)
            await bot.settle()
            await bot.core.chat.replies.wait_idle()
            thread = fake.assistant_threads[(dm, thread_ts)]
            await wait_for(lambda: thread["title"] == "Attention Explained", what="the core's title")
            titles = [c.params["title"] for c in fake.calls("assistant.threads.setTitle")]
            assert titles == ["Explain transformers", "Attention Explained"]

            # a channel thread has no side-panel title
            fake_router.queue(text_script("Sure."))
            fake_router.queue(text_script("Channel Title"))
            await fake.user_posts("Hello channel", channel=CHANNEL, user=ALICE)
            await bot.settle()
            await bot.core.chat.replies.wait_idle()
            conversation = await bot.core.chat.conversations.for_key(
                ConversationKey("slack", fake.team_id, CHANNEL, fake.bot_messages(CHANNEL)[0].thread_ts)
            )
            assert conversation.title == "Channel Title"
            assert len(fake.calls("assistant.threads.setTitle")) == 2


async def test_new_commands_over_signed_http(core_factory, fake_router):
    async with FakeSlack() as fake:
        fake.add_user(ADMIN, "boss", is_admin=True)
        async with running_bot(core_factory, fake_router, fake, socket=False) as bot:
            runner = await serve_http(bot.adapter, "127.0.0.1", 0)
            url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
            try:
                command = fake.build_slash_command("/settings", "workspace temperature 0.4", user=BOB)
                forged = await post_signed(url, "not-the-secret", form=command)
                assert forged.status == 401
                await bot.settle()
                assert fake.response_url_posts == []

                assert (await fake.http_send(url, command, kind="command")).status == 200
                await bot.settle()
                assert "Only an admin can set `temperature` for the workspace" in bot.responses()[-1]
                command = fake.build_slash_command("/settings", "workspace temperature 0.4", user=ADMIN)
                assert (await fake.http_send(url, command, kind="command")).status == 200
                await bot.settle()
                assert bot.responses()[-1] == "`temperature` is now `0.4` for the workspace."

                fake_router.queue(reasoning_script("Because.", "42."))
                event = fake.build_event_callback(fake.build_app_mention("why?", channel=CHANNEL, user=ALICE))
                assert (await fake.http_send(url, event)).status == 200
                await bot.settle()
                answer = bot.answers(CHANNEL, event["event"]["ts"])[0]
                assert visible(answer) == "42."
                button = next(e for e in buttons(answer.blocks) if e["action_id"] == "hfchat_reasoning")
                click = fake.build_block_actions(
                    action_id=button["action_id"], value=button["value"], channel=CHANNEL, message_ts=answer.ts
                )
                assert (await fake.http_send(url, click, kind="interactive")).status == 200
                await bot.settle()
                assert "Because." in json.dumps(fake.ephemerals[-1]["blocks"])
                assert bot.router.requests[-1]["temperature"] == 0.4
            finally:
                with contextlib.suppress(Exception):
                    await runner.cleanup()


async def test_app_home_shows_the_model_an_assistant_sets_and_answers_use_it(bot):
    # the person's own default says one model, the assistant they use says another: Home shows the one answers use
    qwen, gemma = "Qwen/Qwen3-32B", "google/gemma-3-27b-it"
    await bot.command("/model", gemma, user=ALICE)
    await bot.command("/assistant", f"new Mine model={qwen}", user=ALICE)
    await bot.command("/assistant", "use Mine", user=ALICE)
    await bot.send(bot.fake.build_app_home_opened(user=ALICE))
    await bot.settle()
    view = bot.fake.views[bot.fake.home_views[ALICE]]
    model = next(b for b in view["blocks"] if b.get("block_id") == "home_model")
    assert f"*Model:* `{qwen}`" in model["text"]["text"] and "Mine" in model["text"]["text"], model["text"]["text"]
    bot.router.queue(text_script("From Qwen."))
    await bot.fake.user_posts("which model?", channel=CHANNEL, user=ALICE)
    await bot.settle()
    assert bot.router.requests[-1]["model"].split(":")[0] == qwen
