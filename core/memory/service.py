"""Memory the person controls, one rule for every front end.

- Off by default, per person and workspace: the switch is a setting at the person's scope in that workspace's place
  (`memory` = "on"), so it goes with "delete all my data" like their other settings. Turning it off stops using and
  taking facts; what is kept stays until `/memory clear` (or deleting items, or all their data).
- A fact is kept only on the person's own yes: a message of theirs that asks ("remember that …", core.memory.rules),
  or Keep on a fact the model proposed. A proposal waits in this process only, never in the database, until they
  answer it; nobody else may answer it.
- Facts are the person's in one workspace: listed, deleted and used for them alone (every store call names the
  platform, the workspace and the person).
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass

from core.errors import InvalidSetting, NotAllowed, NotFound
from core.keys import Actor, ConversationKey
from core.memory.rules import FACT_CHARS, remember_request
from core.records import Memory, Scope
from core.store.base import Store

log = logging.getLogger(__name__)

SWITCH = "memory"  # the setting's name
MAX_FACTS = 24  # per person and workspace: a list a person can read, and one Discord message's buttons
PROPOSAL_SECONDS = 24 * 3600.0  # how long a proposal waits for Keep or Don't
MAX_PROPOSALS = 1000  # waiting in this process; the oldest are dropped first
GONE = "This suggestion is no longer waiting for an answer."
USAGE = (
    "`/memory` lists what I keep for you here · `/memory on` / `/memory off` · `/memory forget N` deletes item N · "
    "`/memory clear` deletes them all. Memory is yours alone, in this workspace."
)
OFF_HINT = "Memory is off for you here, so I did not keep that. Turn it on with `/memory on`."


@dataclass(slots=True)
class Proposal:
    """A fact the model suggested keeping, waiting for the person's Keep or Don't."""

    id: str  # short, URL-safe: it rides in button ids
    platform: str
    workspace: str
    user_id: str  # the person it is about: the only one who may answer
    fact: str
    created: float
    decided: str = ""  # "kept" or "dropped"


@dataclass(frozen=True, slots=True)
class Listing:
    """What `/memory` shows: whether it is on, and the facts (numbered from 1 in this order)."""

    on: bool
    facts: list[Memory]

    def header(self) -> str:
        state = "on" if self.on else "off"
        if not self.facts:
            return f"🧠 Memory is **{state}** for you here, and I keep nothing for you."
        return f"🧠 Memory is **{state}** for you here. What I keep for you:"

    def numbered(self) -> list[str]:
        return [f"{n}. {m.fact}" for n, m in enumerate(self.facts, 1)]

    def text(self) -> str:
        return "\n".join([self.header(), *self.numbered(), USAGE])


def _clean(fact: str) -> str:
    fact = " ".join((fact or "").split())
    if not fact:
        raise InvalidSetting("There is nothing to remember in that.")
    if len(fact) > FACT_CHARS:
        raise InvalidSetting(f"That is too long to keep as one fact (at most {FACT_CHARS} characters).")
    return fact


class MemoryService:
    def __init__(self, store: Store, prompt_tokens: int = 400):
        self.store = store
        self.prompt_tokens = prompt_tokens  # the budget of the facts in an answer's system prompt
        self._proposals: dict[str, Proposal] = {}

    # the switch
    async def is_on(self, platform: str, workspace: str, user_id: str) -> bool:
        return await self.store.get_setting(platform, workspace, Scope.USER, user_id, SWITCH) == "on"

    async def switch(self, actor: Actor, key: ConversationKey, on: bool) -> str:
        value = "on" if on else None  # off is the default: no row
        await self.store.set_setting(key.platform, key.workspace, Scope.USER, actor.user_id, SWITCH, value)
        if on:
            return (
                "🧠 Memory is **on** for you here. Say “remember that …” and I will keep it; I may also suggest "
                "something to keep, and keep it only if you say yes. `/memory` shows what I keep."
            )
        kept = len(await self.facts(key, actor.user_id))
        still = f" The {kept} fact{'s' if kept != 1 else ''} I kept stay until you `/memory clear`." if kept else ""
        return f"🧠 Memory is **off** for you here: I no longer use or keep anything.{still}"

    # what is kept
    async def facts(self, key: ConversationKey, user_id: str) -> list[Memory]:
        return await self.store.list_memories(key.platform, key.workspace, user_id)

    async def listing(self, actor: Actor, key: ConversationKey) -> Listing:
        on = await self.is_on(key.platform, key.workspace, actor.user_id)
        return Listing(on, await self.facts(key, actor.user_id))

    async def for_answer(self, key: ConversationKey, user_id: str) -> list[str] | None:
        """The facts an answer for `user_id` at `key` may use (oldest first), or None while memory is off for them
        there (then nothing is used, and nothing may be proposed)."""
        if not user_id or not await self.is_on(key.platform, key.workspace, user_id):
            return None
        return [m.fact for m in await self.facts(key, user_id)]

    async def keep(self, actor: Actor, key: ConversationKey, fact: str) -> Memory:
        """Keep a fact the person said yes to (memory must be on for them here)."""
        fact = _clean(fact)
        if not await self.is_on(key.platform, key.workspace, actor.user_id):
            raise NotAllowed(OFF_HINT)
        kept = await self.facts(key, actor.user_id)
        for memory in kept:
            if memory.fact.casefold() == fact.casefold():
                return memory
        if len(kept) >= MAX_FACTS:
            raise InvalidSetting(
                f"I already keep {MAX_FACTS} facts for you here; delete one first (`/memory`, then delete)."
            )
        memory = await self.store.add_memory(Memory(key.platform, key.workspace, actor.user_id, fact))
        log.info("memory %s kept for a person in %s:%s", memory.id, key.platform, key.workspace)
        return memory

    async def forget(self, actor: Actor, key: ConversationKey, memory_id: int) -> bool:
        """Erase one of the person's facts by its id; False when it is not theirs (or already gone)."""
        return await self.store.delete_memories(key.platform, key.workspace, actor.user_id, memory_id) > 0

    async def forget_number(self, actor: Actor, key: ConversationKey, number: str) -> Memory:
        """Erase item `number` of the person's list (as `/memory` numbers it)."""
        facts = await self.facts(key, actor.user_id)
        if not number.strip().lstrip("#").isdigit() or not 1 <= int(number.strip().lstrip("#")) <= len(facts):
            raise NotFound(f"There is no item {number.strip()} in what I keep for you (`/memory` lists them).")
        memory = facts[int(number.strip().lstrip("#")) - 1]
        await self.forget(actor, key, memory.id or 0)
        return memory

    async def clear(self, actor: Actor, key: ConversationKey) -> int:
        """Erase every fact the person has in this workspace; how many went."""
        return await self.store.delete_memories(key.platform, key.workspace, actor.user_id)

    # a message that asks
    async def note_if_asked(self, actor: Actor, key: ConversationKey, text: str, message_id: int) -> None:
        """A stored message that asks to remember something: kept when the person's memory is on here, and a note
        for under the answer added to the message (`attachment_notes`) says what happened."""
        note = await self.heard(actor, key, text)
        if note is None:
            return
        message = await self.store.get_message(message_id)
        extra = dict(message.extra) if message is not None else {}
        extra["attachment_notes"] = [*extra.get("attachment_notes", []), note]
        await self.store.update_message(message_id, extra=extra)

    async def heard(self, actor: Actor, key: ConversationKey, text: str) -> str | None:
        """When the person's message asks to remember something (core.memory.rules): keep it if memory is on for
        them here, and return the note to show under the answer; None when it does not ask."""
        fact = remember_request(text)
        if fact is None:
            return None
        try:
            await self.keep(actor, key, fact)
        except NotAllowed:
            return f"🧠 *{OFF_HINT}*"
        except InvalidSetting as exc:
            return f"🧠 *{exc}*"
        return "🧠 *Kept in your memory here. `/memory` shows and deletes what I keep.*"

    # proposals: the model suggests, the person decides
    def propose(self, actor: Actor, key: ConversationKey, fact: str, *, now: float | None = None) -> Proposal:
        now = time.monotonic() if now is None else now
        self._expire(now)
        proposal = Proposal(secrets.token_urlsafe(9), key.platform, key.workspace, actor.user_id, _clean(fact), now)
        self._proposals[proposal.id] = proposal
        while len(self._proposals) > MAX_PROPOSALS:
            self._proposals.pop(next(iter(self._proposals)))
        return proposal

    def waiting_for(self, platform: str, user_id: str) -> Proposal | None:
        """The person's newest proposal still waiting (a terminal asks y/n about it)."""
        for proposal in reversed(self._proposals.values()):
            if proposal.platform == platform and proposal.user_id == user_id and not proposal.decided:
                return proposal
        return None

    async def decide(self, proposal_id: str, actor: Actor, keep: bool, *, now: float | None = None) -> Proposal:
        """Keep or Don't on a proposal: only the person it is about may answer; Keep stores it (if memory is still
        on for them there), Don't forgets it. Either way it no longer waits."""
        self._expire(time.monotonic() if now is None else now)
        proposal = self._proposals.get(proposal_id)
        if proposal is None or proposal.decided:
            raise NotFound(GONE)
        if actor.platform != proposal.platform or actor.user_id != proposal.user_id:
            raise NotAllowed("This suggestion is for the person it is about.")
        if keep:
            key = ConversationKey(proposal.platform, proposal.workspace, "")
            await self.keep(actor, key, proposal.fact)
        proposal.decided = "kept" if keep else "dropped"
        del self._proposals[proposal.id]
        return proposal

    def _expire(self, now: float) -> None:
        for proposal_id in [p.id for p in self._proposals.values() if now - p.created > PROPOSAL_SECONDS]:
            del self._proposals[proposal_id]

    # the words of /memory, for the front ends that take text (Slack, the terminal)
    async def command(self, actor: Actor, key: ConversationKey, text: str) -> str:
        words = text.strip().split()
        first = words[0].lower() if words else "list"
        if first in ("list", "show") and len(words) <= 1:
            return (await self.listing(actor, key)).text()
        if first in ("on", "off") and len(words) == 1:
            return await self.switch(actor, key, first == "on")
        if first in ("forget", "delete", "remove") and len(words) == 2:
            if words[1].lower() == "all":
                return self.cleared(await self.clear(actor, key))
            gone = await self.forget_number(actor, key, words[1])
            return f"🧠 Deleted from your memory: “{gone.fact}”."
        if first == "clear" and len(words) == 1:
            return self.cleared(await self.clear(actor, key))
        if first in ("help", "?"):
            return USAGE
        raise InvalidSetting(USAGE)

    @staticmethod
    def cleared(count: int) -> str:
        if not count:
            return "🧠 I kept nothing for you here."
        return f"🧠 Deleted all {count} fact{'s' if count != 1 else ''} I kept for you here."
