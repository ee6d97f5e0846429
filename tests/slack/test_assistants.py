"""Assistants on Slack: the form (a modal) and the text form, list/show/edit/use/delete, use in a thread,
the channel default, who may share them, and starter prompts as buttons and as AI-app suggested prompts."""

from __future__ import annotations

from core.keys import ConversationKey
from tests.fakes.fake_router import text_script
from tests.support.slack import ADMIN, ALICE, BOB, CHANNEL, buttons, visible

CHEF = (
    '/assistant new Chef instructions="You are a chef." temperature=0.6 starter="What can I cook?" starter="Dessert?"'
)


async def _chef(bot, user: str = ALICE) -> None:
    command, _, text = CHEF.partition(" ")
    await bot.command(command, text, user=user)
    assert bot.responses()[-1].startswith("Created:"), bot.responses()[-1]


def _submission(bot, view: dict, values: dict, user: str = ALICE) -> dict:
    """A view_submission of `view` as Slack sends it, with `values` by block id."""
    state = {}
    for block_id, value in values.items():
        if isinstance(value, list):
            state[block_id] = {"value": {"type": "checkboxes", "selected_options": [{"value": v} for v in value]}}
        elif block_id in ("model",) and not value.startswith("text:"):
            state[block_id] = {"value": {"type": "static_select", "selected_option": {"value": value}}}
        else:
            state[block_id] = {"value": {"type": "plain_text_input", "value": value.removeprefix("text:")}}
    return {
        "type": "view_submission",
        "team": {"id": bot.fake.team_id, "domain": bot.fake.team_domain},
        "user": {"id": user, "team_id": bot.fake.team_id},
        "api_app_id": bot.fake.app_id,
        "token": bot.fake.verification_token,
        "trigger_id": bot.fake.new_trigger_id(),
        "view": {**view, "state": {"values": state}},
    }


async def _submit(bot, payload: dict) -> dict | None:
    """Deliver a submission; the ack's payload (None when the modal simply closes)."""
    envelope = await bot.fake.socket_send_interactive(payload)
    ack = await bot.fake.wait_ack(envelope)
    await bot.settle()
    return ack["payload"]


async def test_text_form_create_list_show_use_and_answer(bot):
    await _chef(bot)
    created = bot.responses()[-1]
    assert "**Chef** (personal)" in created and "• What can I cook?" in created
    await bot.command("/assistant", "list", user=ALICE)
    assert "1. Chef (personal) · model `default`" in bot.responses()[-1]
    await bot.command("/assistant", "show chef", user=ALICE)
    shown = bot.fake.response_url_posts[-1]["body"]
    assert [b["text"]["text"] for b in buttons(shown["blocks"])] == ["What can I cook?", "Dessert?"]

    await bot.command("/assistant", "use Chef", user=ALICE)
    assert bot.responses()[-1].startswith("Your new conversations start with **Chef**.")
    await bot.command("/assistant", "list", user=ALICE)
    assert "Chef (personal) · model `default` · ✓ your default" in bot.responses()[-1]
    bot.router.queue(text_script("Pasta."))
    await bot.fake.user_posts("dinner?", channel=CHANNEL, user=ALICE)
    await bot.settle()
    sent = bot.router.requests[-1]
    assert sent["messages"][0] == {"role": "system", "content": "You are a chef."} and sent["temperature"] == 0.6

    await bot.command("/assistant", "edit Chef model=nope/missing", user=ALICE)
    assert "not a model the router serves" in bot.responses()[-1]
    await bot.command("/assistant", "bake Chef", user=ALICE)
    assert "Use /assistant list, show NAME" in bot.responses()[-1]
    await bot.command("/assistant", "delete Chef", user=ALICE)
    assert bot.responses()[-1] == "Deleted the assistant **Chef**."
    await bot.command("/assistant", "show Chef", user=ALICE)
    assert "No assistant called “Chef”" in bot.responses()[-1]


async def test_the_form_creates_and_edits_an_assistant(bot):
    await bot.command("/assistant", "new", user=ALICE)
    view = next(v for v in bot.fake.views.values() if v.get("callback_id") == "assistant_modal")
    assert [b["block_id"] for b in view["blocks"]] == ["name", "instructions", "model", "options", "starters", "flags"]

    refused = await _submit(
        bot, _submission(bot, view, {"name": "Poet", "model": "default", "options": "temperature=7"})
    )
    assert refused["response_action"] == "errors" and "out of range" in refused["errors"]["options"]
    refused = await _submit(bot, _submission(bot, view, {"name": "Poet", "flags": ["shared"]}))
    assert "Only an admin can create shared assistants" in refused["errors"]["flags"]

    done = await _submit(
        bot,
        _submission(
            bot,
            view,
            {
                "name": "Poet",
                "instructions": "Answer in verse.",
                "model": "google/gemma-3-27b-it",
                "options": "temperature=1.1 reasoning_effort=low",
                "starters": "A haiku about rain\nA limerick",
                "flags": ["web_search"],
            },
        ),
    )
    assert not done  # a plain ack closes the modal
    note = bot.ephemeral_texts()[-1]
    assert note.startswith("Created:") and "**Poet** (personal) · model: `google/gemma-3-27b-it`" in note
    assert "temperature=1.1" in note and "may search the web" in note

    # /assistant edit NAME opens the same form, filled in; removing a setting there removes it
    await bot.command("/assistant", "edit Poet", user=ALICE)
    edit = [v for v in bot.fake.views.values() if v.get("callback_id") == "assistant_modal"][-1]
    assert edit["blocks"][0]["element"]["initial_value"] == "Poet"
    assert edit["blocks"][3]["element"]["initial_value"] == "temperature=1.1 reasoning_effort=low"
    await _submit(
        bot,
        _submission(
            bot,
            edit,
            {"name": "Poet", "instructions": "Answer in verse.", "model": "default", "options": "temperature=0.9"},
        ),
    )
    assert bot.ephemeral_texts()[-1].startswith("Updated:")
    await bot.command("/assistant", "use Poet", user=ALICE)
    bot.router.queue(text_script("Rain falls."))
    await bot.fake.user_posts("rain", channel=CHANNEL, user=ALICE)
    await bot.settle()
    sent = bot.router.requests[-1]
    assert sent["temperature"] == 0.9 and "reasoning_effort" not in sent
    assert sent["model"] == "meta-llama/Llama-3.3-70B-Instruct"

    # someone else cannot open another person's assistant in the form
    await bot.command("/assistant", "edit Poet", user=BOB)
    assert "No assistant called “Poet”" in bot.responses()[-1]


async def test_shared_assistants_follow_the_workspace_rule(bot):
    await bot.command("/assistant", "new Helper shared=yes", user=BOB)
    assert "Only an admin can create shared assistants" in bot.responses()[-1]
    await bot.command("/assistant", "sharing on", user=BOB)
    assert "Only an admin can decide who creates shared assistants" in bot.responses()[-1]
    await bot.command("/assistant", 'new "Team bot" instructions="Be brief." shared=yes', user=ADMIN)
    assert "**Team bot** (shared)" in bot.responses()[-1]

    # a member sees the shared one but may not change, delete or make it the channel default
    await bot.command("/assistant", "list", user=BOB)
    assert "1. Team bot (shared)" in bot.responses()[-1]
    await bot.command("/assistant", '"edit" "Team bot" instructions=Nope', user=BOB)
    assert "Only its creator or a workspace admin" in bot.responses()[-1]
    await bot.command("/assistant", '"delete" "Team bot"', user=BOB)
    assert "Only its creator or a workspace admin" in bot.responses()[-1]
    await bot.command("/assistant", '"channel" "Team bot"', user=BOB)
    assert "Only an admin can set the channel's default assistant" in bot.responses()[-1]

    await bot.command("/assistant", '"channel" "Team bot"', user=ADMIN)
    assert bot.responses()[-1] == "New conversations in this channel start with **Team bot**."
    bot.router.queue(text_script("Brief."))
    await bot.fake.user_posts("hello", channel=CHANNEL, user=BOB)
    await bot.settle()
    assert bot.router.requests[-1]["messages"][0] == {"role": "system", "content": "Be brief."}

    await bot.command("/assistant", "sharing on", user=ADMIN)
    await bot.command("/assistant", "new Mine shared=yes", user=BOB)
    assert "**Mine** (shared)" in bot.responses()[-1]


async def test_use_an_assistant_in_this_thread(bot):
    await _chef(bot)
    bot.router.queue(text_script("Plain answer."))
    post = await bot.fake.user_posts("hello", channel=CHANNEL, user=ALICE)
    await bot.settle()
    assert bot.router.requests[-1]["messages"][0]["role"] != "system"

    # Alice's personal assistant is not Bob's to find; a shared one is, but the thread is still Alice's
    await bot.fake.user_posts("assistant use Chef", channel=CHANNEL, thread_ts=post.ts, user=BOB)
    await bot.settle()
    assert "No assistant called “Chef”" in bot.ephemeral_texts()[-1]
    await bot.command("/assistant", "new Shared instructions=Hi shared=yes", user=ADMIN)
    await bot.fake.user_posts("assistant use Shared", channel=CHANNEL, thread_ts=post.ts, user=BOB)
    await bot.settle()
    assert "Only the conversation's owner or an admin" in bot.ephemeral_texts()[-1]
    await bot.fake.user_posts("assistant use Chef", channel=CHANNEL, thread_ts=post.ts, user=ALICE)
    await bot.settle()
    assert bot.ephemeral_texts()[-1] == "This thread now answers as **Chef**."
    bot.router.queue(text_script("Chef answer."))
    await bot.fake.user_posts("what now?", channel=CHANNEL, thread_ts=post.ts, mention=False, user=ALICE)
    await bot.settle()
    assert bot.router.requests[-1]["messages"][0] == {"role": "system", "content": "You are a chef."}

    await bot.fake.user_posts("assistant use none", channel=CHANNEL, thread_ts=post.ts, user=ALICE)
    await bot.settle()
    assert bot.ephemeral_texts()[-1] == "This thread no longer uses an assistant."
    bot.router.queue(text_script("Plain again."))
    await bot.fake.user_posts("and now?", channel=CHANNEL, thread_ts=post.ts, mention=False, user=ALICE)
    await bot.settle()
    assert bot.router.requests[-1]["messages"][0]["role"] != "system"


async def test_starter_buttons_start_a_conversation_with_the_assistant(bot):
    await _chef(bot)
    await bot.command("/assistant", "use Chef", user=ALICE)
    button = buttons(bot.fake.response_url_posts[-1]["body"]["blocks"])[1]
    assert button["text"]["text"] == "Dessert?"

    bot.router.queue(text_script("Try a tart."))
    click = bot.fake.build_block_actions(action_id=button["action_id"], value=button["value"], user=ALICE)
    click["container"] = {"type": "message", "message_ts": "1.000001", "channel_id": CHANNEL, "is_ephemeral": True}
    click["channel"] = {"id": CHANNEL, "name": "general"}
    await bot.interact(click)
    root = [m for m in bot.fake.bot_messages(CHANNEL) if not m.is_reply][-1]
    assert "asks **Chef**" in visible(root) and "> Dessert?" in visible(root)
    assert [visible(m) for m in bot.answers(CHANNEL, root.ts)] == ["Try a tart."]
    sent = bot.router.requests[-1]
    assert sent["messages"][0] == {"role": "system", "content": "You are a chef."}
    assert sent["messages"][-1]["content"] == "Dessert?"
    conversation = await bot.core.chat.conversations.for_key(
        ConversationKey("slack", bot.fake.team_id, CHANNEL, root.ts)
    )
    assert conversation.owner_id == ALICE and conversation.title == "Dessert?"

    # follow-ups in that thread keep the assistant
    bot.router.queue(text_script("With apples."))
    await bot.fake.user_posts("which fruit?", channel=CHANNEL, thread_ts=root.ts, mention=False, user=ALICE)
    await bot.settle()
    assert bot.router.requests[-1]["messages"][0] == {"role": "system", "content": "You are a chef."}

    # a personal assistant's prompt is not someone else's to click
    await bot.interact({**click, "user": {"id": BOB, "username": "bob", "name": "bob", "team_id": bot.fake.team_id}})
    assert "That assistant or prompt no longer exists." in bot.responses()[-1]


async def test_ai_app_threads_suggest_the_assistants_starters(bot):
    await _chef(bot)
    await bot.command("/assistant", "use Chef", user=ALICE)
    started = bot.fake.build_assistant_thread_started(user=ALICE)
    dm, thread_ts = started["assistant_thread"]["channel_id"], started["assistant_thread"]["thread_ts"]
    await bot.send(started)
    await bot.settle()
    thread = bot.fake.assistant_threads[(dm, thread_ts)]
    assert [p["message"] for p in thread["prompts"]] == ["What can I cook?", "Dessert?"]
    assert thread["prompts_title"] == "Try one of Chef's prompts:"
    assert bot.router.requests == []
    greeting = bot.fake.bot_messages(dm, thread_ts)[0]
    assert greeting.text.startswith("Hi! Ask me anything. I'm answering as Chef")

    # switching the thread's assistant there (no mention needed in a DM) switches the suggestions too
    await bot.command("/assistant", 'new Baker starter="Bread?"', user=ALICE)
    await bot.fake.user_posts("assistant use Baker", channel=dm, thread_ts=thread_ts, user=ALICE)
    await bot.settle()
    assert [p["message"] for p in thread["prompts"]] == ["Bread?"]
    assert bot.ephemeral_texts()[-1] == "This thread now answers as **Baker**."
    bot.router.queue(text_script("Sourdough."))
    await bot.fake.user_posts("go", channel=dm, thread_ts=thread_ts, user=ALICE)
    await bot.settle()
    assert bot.router.requests[-1]["messages"][0]["role"] == "user"  # Baker has no instructions; Chef's are gone
    assert len(bot.router.requests) == 1
