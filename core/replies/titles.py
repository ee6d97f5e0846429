"""Conversation titles: after the first answer a small, cheap request names the conversation in
2 to 5 words, in the user's language, in the background (the next answer need not wait). On any failure the
title stays the truncated first prompt.

A conversation is named once: a regenerated first answer, or a first answer again after "Delete from here", keeps
the name it has. Renaming a thread is rationed by the platform (Discord: two renames per 10 minutes per channel), so
the rename is tried once and never again, whatever the platform answered (a 429 included). A title the person
gives the conversation on the platform (Slack: renaming the agent session) becomes its title, and the auto-titler
never writes over it."""

from __future__ import annotations

import asyncio
import logging
import re

from core.config import Settings
from core.errors import RouterError
from core.prompts import first_line_title
from core.records import Conversation, Scope
from core.router.client import ChatRequest, TextDelta
from core.store.base import Store
from core.streaming import ReplySink

log = logging.getLogger(__name__)

TITLE_MAX_TOKENS = 24
TITLE_MAX_CHARS = 60
TITLE_INSTRUCTION = (
    "You name conversations. Reply with a title of 2 to 5 words for the conversation below, written in the "
    "same language as the user's message. Reply with the title only: no quotes, no punctuation at the end, "
    "no emoji, no explanation."
)
_PROMPT_CHARS = 1500  # of the question and the answer: enough to know the topic, cheap to send
_PREFIX = re.compile(r"^\s*(title|titre|título|titel|titolo)\s*[:：-]\s*", re.IGNORECASE)
_QUOTES = "\"'`“”‘’«»„*_#"
NAMED = "auto_titled"  # a conversation-scoped mark: named once (erased with the conversation)
USER_TITLED = "user_titled"  # a conversation-scoped mark: the person named it; no title is written over theirs
USER_TITLE_MAX_CHARS = 200


def title_request(model: str, prompt: str, answer: str) -> ChatRequest:
    conversation = f"User: {prompt[:_PROMPT_CHARS]}\n\nAssistant: {answer[:_PROMPT_CHARS]}"
    return ChatRequest(
        model=model,
        messages=[{"role": "system", "content": TITLE_INSTRUCTION}, {"role": "user", "content": conversation}],
        max_tokens=TITLE_MAX_TOKENS,
        temperature=0.2,
        max_retries=0,
    )


def clean_title(raw: str) -> str:
    """The model's reply as a title: first line, no prefix, quotes or final punctuation; "" if unusable."""
    lines = [line for line in raw.replace("\r", "").split("\n") if line.strip()]
    if not lines:
        return ""
    title = _PREFIX.sub("", lines[0]).strip().strip(_QUOTES).strip()
    title = title.rstrip(".。!！?？:;,，、…").strip().strip(_QUOTES).strip()
    title = " ".join(title.split())
    words = title.split(" ")
    if len(words) > 8:  # a sentence, not a title
        title = " ".join(words[:6])
    if len(title) > TITLE_MAX_CHARS:
        title = title[: TITLE_MAX_CHARS - 1].rstrip() + "…"
    return title


async def generate_title(router, model: str, prompt: str, answer: str) -> str:
    """A short title from the first exchange, or "" when the model fails or says nothing usable."""
    text: list[str] = []
    try:
        async for event in router.stream_chat(title_request(model, prompt, answer)):
            if isinstance(event, TextDelta):
                text.append(event.text)
    except RouterError as error:
        log.info("title not generated: %s", error.kind)
        return ""
    return clean_title("".join(text))


class Titler:
    """Names a conversation after its first answer, in a task of its own; renames the thread where the sink
    can (its optional `set_title`)."""

    def __init__(self, settings: Settings, store: Store, router):
        self.settings = settings
        self.store = store
        self.router = router
        self.background: set[asyncio.Task] = set()  # titles being written

    def after_answer(self, conversation: Conversation, sink: ReplySink, reply_id: int, answer: str) -> None:
        if not self.settings.auto_titles or not answer.strip():
            return
        task = asyncio.create_task(self.write(conversation, sink, reply_id), name=f"title-{conversation.id}")
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def cancel(self) -> None:
        for task in list(self.background):
            task.cancel()

    async def wait(self) -> None:
        if self.background:
            await asyncio.gather(*self.background, return_exceptions=True)

    async def write(self, conversation: Conversation, sink: ReplySink, reply_id: int) -> str | None:
        try:
            messages = await self.store.recent_messages(conversation.id, 50)
            answers = [m for m in messages if m.role == "assistant" and m.content.strip()]
            if len(answers) != 1 or answers[0].id != reply_id:
                return None  # not the first answer
            if await self._named_before(conversation):
                return None  # a first answer again (regenerated): the conversation keeps its name
            prompt = "\n\n".join(m.content for m in messages if m.role == "user" and m.id < reply_id)
            title = await generate_title(
                self.router, self.settings.title_model or answers[0].model, prompt, answers[0].content
            )
            title = title or first_line_title(prompt) or conversation.title
            if not title or await self._user_titled(conversation):
                return None  # the person named it while the title was being written
            await self.store.set_title(conversation.id, title)
            conversation.title = title
            rename = getattr(sink, "set_title", None)  # optional sink method: rename the thread
            if rename is not None:
                await rename(title)  # once: whatever happens, it is not tried again
            return title
        except Exception as exc:  # a title is a nicety: never let it break anything
            log.warning("title for conversation %s failed: %s", conversation.id, type(exc).__name__)
            return None

    async def user_titled(self, conversation: Conversation, title: str) -> str | None:
        """The person named the conversation on the platform: that is its title from now on (stored; the
        auto-titler leaves it alone). The platform shows it already, so nothing is renamed there."""
        title = " ".join(title.split())[:USER_TITLE_MAX_CHARS]
        if not title:
            return None
        key, scope_id = conversation.key, str(conversation.id)
        await self.store.set_setting(key.platform, key.workspace, Scope.CONVERSATION, scope_id, USER_TITLED, "1")
        await self.store.set_setting(key.platform, key.workspace, Scope.CONVERSATION, scope_id, NAMED, "1")
        await self.store.set_title(conversation.id, title)
        conversation.title = title
        return title

    async def _user_titled(self, conversation: Conversation) -> bool:
        key, scope_id = conversation.key, str(conversation.id)
        mark = await self.store.get_setting(key.platform, key.workspace, Scope.CONVERSATION, scope_id, USER_TITLED)
        return bool(mark)

    async def _named_before(self, conversation: Conversation) -> bool:
        """Whether the conversation was named already; marks it named if not (before renaming: a rename that
        fails is not tried again)."""
        key = conversation.key
        scope_id = str(conversation.id)
        if await self.store.get_setting(key.platform, key.workspace, Scope.CONVERSATION, scope_id, NAMED):
            return True
        await self.store.set_setting(key.platform, key.workspace, Scope.CONVERSATION, scope_id, NAMED, "1")
        return False
