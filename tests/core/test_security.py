"""Acting as the wrong user through the core, and keeping secrets out of configuration errors.

A user never reads (exports), deletes, stops, regenerates, continues or re-models someone else's
conversation; an admin acts only in the workspace they administer. A configuration error names the variable,
never its value. The same refusals through Discord and Slack are in tests/discord and tests/slack
(test_security.py); secrets kept out of logs, chat and exports with both front ends in tests/e2e/test_secrets.py.
"""

from __future__ import annotations

import pytest

from core.config import ConfigError, load_settings
from core.errors import NotAllowed, NotFound
from core.keys import Actor, ConversationKey
from core.records import Scope
from tests.fakes.fake_router import Sleep, chunk, text_script
from tests.support.secrets import CANARIES
from tests.support.sinks import RecordingSink
from tests.support.waits import wait_for

pytestmark = pytest.mark.usefixtures("no_proxy")

MODEL = "Qwen/Qwen3-32B"

OWNER = Actor("console", "alice", "alice", "A")
STRANGER = Actor("console", "bob", "bob", "A")
ADMIN_A = Actor("console", "boss", "boss", "A", is_admin=True)
ADMIN_B = Actor("console", "other-boss", "other boss", "B", is_admin=True)
OTHER_PLATFORM = Actor("slack", "alice", "alice", "A", is_admin=True)


async def test_core_refuses_every_action_on_someone_elses_conversation(core, fake_router):
    key = ConversationKey("console", "A", "terminal", "t1")
    fake_router.queue(text_script("the first answer"))
    submitted = await core.chat.submit(key, OWNER, "secret plans", RecordingSink())
    await submitted.reply
    conversation_id = submitted.conversation.id
    before = [(m.role, m.content) for m in await core.store.recent_messages(conversation_id, 10)]

    for intruder in (STRANGER, ADMIN_B, OTHER_PLATFORM):
        with pytest.raises((NotAllowed, NotFound)):
            await core.chat.conversations.export_markdown(conversation_id, intruder)
        with pytest.raises((NotAllowed, NotFound)):
            await core.chat.conversations.delete(conversation_id, intruder)
        with pytest.raises((NotAllowed, NotFound)):
            await core.chat.actions.regenerate(conversation_id, intruder, RecordingSink())
        with pytest.raises((NotAllowed, NotFound)):
            await core.chat.actions.continue_reply(conversation_id, intruder, RecordingSink())
        with pytest.raises((NotAllowed, NotFound)):
            await core.chat.preferences.set_model(intruder, key, Scope.CONVERSATION, MODEL)
        with pytest.raises((NotAllowed, NotFound)):
            await core.chat.preferences.set_option(intruder, key, Scope.CONVERSATION, "temperature", "0.1")
        assert intruder.user_id == "alice" or await core.chat.conversations.list(intruder) == []
    # a stranger cannot stop an answer being written
    fake_router.queue([chunk("slow"), Sleep(1.0), chunk(" end")])
    follow = await core.chat.submit(key, OWNER, "more plans", RecordingSink())
    for intruder in (STRANGER, ADMIN_B):
        await wait_for(lambda: core.chat.replies.is_streaming(conversation_id), what="the answer to stream")
        with pytest.raises(NotAllowed):
            await core.chat.replies.stop(conversation_id, intruder)
    outcome = await follow.reply
    assert outcome.state.answer == "slow end"
    stored = [(m.role, m.content) for m in await core.store.recent_messages(conversation_id, 10)]
    assert stored[: len(before)] == before and len(stored) == 4
    assert await core.store.get_setting("console", "A", Scope.CONVERSATION, str(conversation_id), "model") is None
    # the admin of the conversation's own workspace may
    assert "secret plans" in await core.chat.conversations.export_markdown(conversation_id, ADMIN_A)
    await core.chat.conversations.delete(conversation_id, ADMIN_A)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("hf_router_url", "ftp://CANARY-in-a-url"),
        ("database_url", "mysql://user:CANARYpassword@host/db"),
        ("max_tokens", "CANARY"),
        ("local_mode", "CANARY"),
        ("log_level", "CANARY"),
        ("request_timeout", "CANARY"),
        ("discord_api_url", "ftp://CANARY-in-a-url"),
        ("discord_gateway_url", "https://CANARY-in-a-url"),
    ],
)
def test_config_errors_name_the_variable_not_its_value(variable, value, monkeypatch):
    monkeypatch.setenv(variable.upper(), value)
    with pytest.raises(ConfigError) as error:
        load_settings(_env_file=None)
    message = str(error.value)
    assert variable.upper() in message and "CANARY" not in message
    assert "\n" not in message.strip()


def test_bad_secret_values_never_echo_in_config_errors(monkeypatch):
    monkeypatch.setenv("DISCORD_SHARD_COUNT", "0")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", CANARIES["signing"])
    monkeypatch.setenv("HF_TOKEN", CANARIES["hf"])
    with pytest.raises(ConfigError) as error:
        load_settings(_env_file=None)
    assert "DISCORD_SHARD_COUNT" in str(error.value) and "CANARY" not in str(error.value)
