"""Settings on Slack: `/settings` shows each value and where it comes from and sets it per user, channel or
workspace (admins, checked with users.info); `@bot set` in a thread changes that thread; `/hfchat settings`
is the same command."""

from __future__ import annotations

from core.records import Scope
from tests.fakes.fake_router import text_script
from tests.support.slack import ADMIN, ALICE, BOB, CHANNEL, DM

QWEN = "Qwen/Qwen3-32B"


async def test_settings_show_values_and_where_they_come_from(bot):
    await bot.command("/settings", "channel top_p 0.9", user=ADMIN)
    assert bot.responses()[-1] == "`top_p` is now `0.9` for the channel."
    await bot.command("/settings", "temperature 0.2", user=ALICE)
    assert bot.responses()[-1] == "`temperature` is now `0.2` for your default."
    await bot.command("/settings", "", user=ALICE)
    shown = bot.responses()[-1]
    assert "`temperature` = `0.2` (your setting)" in shown
    assert "`top_p` = `0.9` (this channel)" in shown
    assert f"`max_tokens` = `{bot.core.settings.max_tokens}` (default)" in shown
    assert "`reasoning_effort` = — (not set)" in shown
    assert bot.fake.response_url_posts[-1]["body"]["response_type"] == "ephemeral"
    assert bot.fake.response_url_posts[-1]["body"]["blocks"][0]["type"] == "markdown"

    bot.router.queue(text_script("Tuned."))
    await bot.fake.user_posts("hello", channel=CHANNEL, user=ALICE)
    await bot.settle()
    sent = bot.router.requests[-1]
    assert sent["temperature"] == 0.2 and sent["top_p"] == 0.9

    # `default` clears a value again
    await bot.command("/settings", "temperature default", user=ALICE)
    assert bot.responses()[-1] == "`temperature` is cleared for your default."
    bot.router.queue(text_script("Untuned."))
    await bot.fake.user_posts("hello again", channel=CHANNEL, user=ALICE)
    await bot.settle()
    assert "temperature" not in bot.router.requests[-1]


async def test_channel_and_workspace_settings_are_for_workspace_admins(bot):
    await bot.command("/settings", "channel temperature 1.5", user=BOB)
    assert "Only an admin can set `temperature` for the channel" in bot.responses()[-1]
    await bot.command("/settings", "workspace provider cheapest", user=BOB)
    assert "Only an admin can set `provider` for the workspace" in bot.responses()[-1]
    team = bot.fake.team_id
    assert await bot.core.store.get_setting("slack", team, Scope.CHANNEL, CHANNEL, "temperature") is None
    assert await bot.core.store.get_setting("slack", team, Scope.WORKSPACE, team, "provider") is None

    # admin rights are asked of Slack each time they decide: a promotion counts at once...
    bot.fake.users[BOB]["is_owner"] = True
    await bot.command("/settings", "workspace provider cheapest", user=BOB)
    assert bot.responses()[-1] == "`provider` is now `cheapest` for the workspace."
    # ...and so does a demotion, even right after a cached lookup
    bot.fake.users[BOB]["is_owner"] = False
    await bot.command("/usage", "", user=BOB)  # a lookup that may use the cache (where Bob is still an owner)
    await bot.command("/settings", "workspace provider fastest", user=BOB)
    assert "Only an admin" in bot.responses()[-1]
    assert await bot.core.store.get_setting("slack", team, Scope.WORKSPACE, team, "provider") == "cheapest"

    bot.router.queue(text_script("Cheap."))
    await bot.fake.user_posts("hi", channel=CHANNEL, user=ALICE)
    await bot.settle()
    assert bot.router.requests[-1]["model"] == "meta-llama/Llama-3.3-70B-Instruct:cheapest"


async def test_bad_values_are_refused_with_the_reason(bot):
    await bot.command("/settings", "temperature 9", user=ALICE)
    assert "out of range" in bot.responses()[-1]
    await bot.command("/settings", "colour blue", user=ALICE)
    assert "There is no setting `colour`" in bot.responses()[-1]
    await bot.command("/settings", "provider groqq", user=ALICE)
    assert "Did you mean `groq`?" in bot.responses()[-1]
    await bot.command("/settings", "temperature", user=ALICE)
    assert "Write /settings [me|here|channel|workspace] NAME VALUE" in bot.responses()[-1]
    # a slash command in a channel has no thread to be "here"
    await bot.command("/settings", "here temperature 0.3", user=ALICE)
    assert "`@me set NAME VALUE` in the thread" in bot.responses()[-1]


async def test_set_in_a_thread_changes_that_thread_only(bot):
    bot.router.queue(text_script("First."))
    post = await bot.fake.user_posts("first question", channel=CHANNEL, user=ALICE)
    await bot.settle()
    await bot.fake.user_posts("set temperature 0.1", channel=CHANNEL, thread_ts=post.ts, user=ALICE)
    await bot.settle()
    assert bot.ephemeral_texts()[-1] == "`temperature` is now `0.1` for this thread."
    assert bot.fake.ephemerals[-1]["thread_ts"] == post.ts
    await bot.fake.user_posts("settings", channel=CHANNEL, thread_ts=post.ts, user=ALICE)
    await bot.settle()
    assert "`temperature` = `0.1` (this conversation)" in bot.ephemeral_texts()[-1]

    bot.router.queue(text_script("Cold answer."))
    await bot.fake.user_posts("and then?", channel=CHANNEL, thread_ts=post.ts, mention=False, user=ALICE)
    await bot.settle()
    assert bot.router.requests[-1]["temperature"] == 0.1
    bot.router.queue(text_script("Elsewhere."))
    await bot.fake.user_posts("another thread", channel=CHANNEL, user=ALICE)
    await bot.settle()
    assert "temperature" not in bot.router.requests[-1]

    # words that only start like the command are a prompt
    bot.router.queue(text_script("Sure."))
    await bot.fake.user_posts("set up a python project for me", channel=CHANNEL, thread_ts=post.ts, user=ALICE)
    await bot.settle()
    assert bot.router.requests[-1]["messages"][-1]["content"] == "set up a python project for me"
    assert len(bot.router.requests) == 4  # the two commands were not prompts


async def test_someone_else_cannot_change_my_thread(bot):
    bot.router.queue(text_script("Mine."))
    post = await bot.fake.user_posts("my question", channel=CHANNEL, user=ALICE)
    await bot.settle()
    await bot.fake.user_posts("set temperature 2", channel=CHANNEL, thread_ts=post.ts, user=BOB)
    await bot.settle()
    assert "Only the conversation's owner or an admin" in bot.ephemeral_texts()[-1]
    await bot.fake.user_posts("set temperature 0.7", channel=CHANNEL, thread_ts=post.ts, user=ADMIN)
    await bot.settle()
    assert bot.ephemeral_texts()[-1] == "`temperature` is now `0.7` for this thread."


async def test_hfchat_subcommands_are_the_same_commands(bot):
    await bot.command("/hfchat", "settings temperature 0.4", user=ALICE)
    assert bot.responses()[-1] == "`temperature` is now `0.4` for your default."
    await bot.command("/hfchat", "settings temperature", user=ALICE)
    assert "Write /hfchat settings [me|here|channel|workspace] NAME VALUE" in bot.responses()[-1]
    await bot.command("/hfchat", f"model {QWEN}", user=ALICE)
    assert bot.responses()[-1] == f"Your default model is now `{QWEN}`."
    await bot.command("/hfchat", "help", user=ALICE)
    help_text = bot.responses()[-1]
    for command in ("/settings", "/assistant", "/usage", "/compare", "/limits", "/conversations", "/export"):
        assert command in help_text


async def test_commands_written_in_a_dm_need_no_mention(bot):
    await bot.fake.user_posts("set temperature 0.25", channel=DM, user=ALICE)
    await bot.settle()
    assert bot.ephemeral_texts()[-1] == "`temperature` is now `0.25` for your default."
    assert await bot.core.store.get_setting("slack", "", Scope.USER, ALICE, "temperature") == "0.25"
    # one-word commands that destroy or stop still need the mention: in a DM they are prompts
    bot.router.queue(text_script("What shall I delete?"))
    post = await bot.fake.user_posts("delete", channel=DM, user=ALICE)
    await bot.settle()
    assert bot.router.requests[-1]["messages"][-1]["content"] == "delete"
    assert bot.router.requests[-1]["temperature"] == 0.25
    assert [m.final_text for m in bot.answers(DM, post.ts)] == ["What shall I delete?"]


async def test_settings_in_a_dm_apply_to_its_current_conversation(bot):
    bot.router.queue(text_script("Hello."))
    post = await bot.fake.user_posts("hi", channel=DM, user=ALICE)
    await bot.settle()
    await bot.command("/settings", "here system_prompt Answer in French.", user=ALICE, channel=DM)
    assert bot.responses()[-1] == "`system_prompt` is now `Answer in French.` for this conversation."
    bot.router.queue(text_script("Bonjour."))
    await bot.fake.user_posts("again", channel=DM, thread_ts=post.ts, user=ALICE)
    await bot.settle()
    assert bot.router.requests[-1]["messages"][0] == {"role": "system", "content": "Answer in French."}
