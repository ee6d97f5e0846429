"""Automatic titles: a small request after the first answer names the conversation."""

from __future__ import annotations

import pytest

from core.keys import Actor, ConversationKey
from core.replies.titles import TITLE_MAX_TOKENS, clean_title
from core.streaming import PlatformLimits
from tests.fakes.fake_router import Status, text_script
from tests.support.sinks import RecordingSink

KEY = ConversationKey("test", "W1", "C1", "titled")
ALICE = Actor("test", "alice", "Alice", "W1")


class TitledSink(RecordingSink):
    """A sink that can rename its thread, like Discord's and Slack's."""

    def __init__(self):
        super().__init__(PlatformLimits(max_chars=2000, edit_interval=0.01))
        self.titles: list[str] = []

    async def set_title(self, title: str) -> None:
        self.titles.append(title)


@pytest.fixture
async def titled_core(core_factory, fake_router):
    return await core_factory(fake_router.url, auto_titles=True)


async def ask(core, text, out=None):
    out = out or TitledSink()
    submitted = await core.chat.submit(KEY, ALICE, text, out)
    await submitted.reply
    await core.chat.replies.wait_idle()  # the title is written in the background
    return submitted, out


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        ('"Capital of France."', "Capital of France"),
        ("Title: Recette de crêpes !", "Recette de crêpes"),
        ("**Python list sorting**\nBecause the user asked...", "Python list sorting"),
        ("«Paella valenciana»", "Paella valenciana"),
        ("日本の首都。", "日本の首都"),
        ("   \n  ", ""),
        ("This is a very long sentence that goes on and on about many things", "This is a very long sentence"),
    ],
)
def test_clean_title(raw, title):
    assert clean_title(raw) == title


async def test_first_answer_gets_a_short_title_in_the_users_language(titled_core, fake_router):
    fake_router.queue(text_script("La capitale de la France est Paris."))
    fake_router.queue(text_script('"Capitale de la France."'))
    submitted, out = await ask(titled_core, "Quelle est la capitale de la France ?")
    title_request = fake_router.requests[-1]
    assert title_request["max_tokens"] == TITLE_MAX_TOKENS
    assert title_request["model"] == "meta-llama/Llama-3.3-70B-Instruct"  # default: the conversation's model
    assert "same language" in title_request["messages"][0]["content"]
    assert "Quelle est la capitale" in title_request["messages"][1]["content"]
    conversation = await titled_core.store.get_conversation_by_id(submitted.conversation.id)
    assert conversation.title == "Capitale de la France"
    assert out.titles == ["Capitale de la France"]
    listed = await titled_core.chat.conversations.list(ALICE)
    assert [c.title for c in listed] == ["Capitale de la France"]
    # the second answer keeps the title: no new title request
    fake_router.queue(text_script("Environ 2 millions."))
    count = len(fake_router.requests)
    await ask(titled_core, "Et sa population ?")
    assert len(fake_router.requests) == count + 1


async def test_title_model_setting_is_used(core_factory, fake_router):
    core = await core_factory(fake_router.url, auto_titles=True, title_model="Qwen/Qwen3-32B")
    fake_router.queue(text_script("Sorted."))
    fake_router.queue(text_script("Sorting lists"), model="Qwen/Qwen3-32B")
    submitted, _ = await ask(core, "How do I sort a list in Python?")
    assert fake_router.requests[-1]["model"] == "Qwen/Qwen3-32B"
    assert (await core.store.get_conversation_by_id(submitted.conversation.id)).title == "Sorting lists"


async def test_failed_title_falls_back_to_the_truncated_prompt(titled_core, fake_router):
    fake_router.queue(text_script("An answer."))
    fake_router.queue([Status(500)])
    prompt = "Explain " + "very " * 30 + "carefully"
    submitted, out = await ask(titled_core, prompt)
    title = (await titled_core.store.get_conversation_by_id(submitted.conversation.id)).title
    assert title.startswith("Explain very") and title.endswith("…") and len(title) <= 80
    assert out.titles == [title]


async def test_a_conversation_is_renamed_once_even_when_its_first_answer_is_regenerated(titled_core, fake_router):
    fake_router.queue(text_script("Paris."))
    fake_router.queue(text_script("Capital of France"))
    submitted, out = await ask(titled_core, "Capital of France?")
    assert out.titles == ["Capital of France"]
    fake_router.queue(text_script("It is Paris."))
    fake_router.queue(text_script("Another title"))
    again = await titled_core.chat.actions.regenerate(submitted.conversation.id, ALICE, out)
    await again.reply
    await titled_core.chat.replies.wait_idle()
    assert out.titles == ["Capital of France"]  # Discord allows two renames per 10 minutes: one is all it gets
    conversation = await titled_core.store.get_conversation_by_id(submitted.conversation.id)
    assert conversation.title == "Capital of France"


class RefusingSink(TitledSink):
    """A platform that answers the rename with a 429."""

    async def set_title(self, title: str) -> None:
        from core.streaming import RateLimited

        self.titles.append(title)
        raise RateLimited(540.0)


async def test_a_rename_refused_with_a_429_is_never_tried_again(titled_core, fake_router):
    fake_router.queue(text_script("Paris."))
    fake_router.queue(text_script("Capital of France"))
    out = RefusingSink()
    submitted, _ = await ask(titled_core, "Capital of France?", out)
    fake_router.queue(text_script("About two million."))
    await ask(titled_core, "Population?", out)
    assert out.titles == ["Capital of France"]  # tried once, not again on a later answer
    conversation = await titled_core.store.get_conversation_by_id(submitted.conversation.id)
    assert conversation.title == "Capital of France"  # the bot's own list still has the name
