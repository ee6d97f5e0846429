"""Memory the person controls (issue 16): off by default, kept only on the person's yes, theirs alone in one
workspace, in the system prompt of their own answers within a budget, and erased for real."""

from __future__ import annotations

import pytest

from core.errors import NotAllowed, NotFound
from core.keys import Actor, ConversationKey
from core.memory import MAX_FACTS, MemoryService, Proposal, remember_request
from core.memory.prompt import HEADER, memory_block
from core.models.tokens import estimate_tokens
from core.records import Memory, StoredMessage
from core.replies.context import fit_messages
from core.streaming import PlatformLimits
from core.tools.remember import NAME, SUGGESTED
from tests.fakes.fake_router import text_script, tool_calls_script
from tests.support.chat import ALICE, BOB, KEY, ask
from tests.support.sinks import RecordingSink
from tests.support.stores import sqlite_files_holding

CANARY = "canary-7f3a91-likes-blue-herons"
OTHER_WORKSPACE = ConversationKey("test", "W2", "C9", "T9")
ALICE_ELSEWHERE = Actor("test", "alice", "Alice", "W2")


class ProposingSink(RecordingSink):
    """Shows "Remember this?" as a front end does: records each proposal."""

    def __init__(self):
        super().__init__(PlatformLimits(max_chars=2000, edit_interval=0.01))
        self.proposals: list[Proposal] = []

    async def propose(self, proposal: Proposal) -> None:
        self.proposals.append(proposal)


def system_prompt(request: dict) -> str:
    return "\n".join(m["content"] for m in request["messages"] if m["role"] == "system")


def tool_names(request: dict) -> list[str]:
    return [t["function"]["name"] for t in request.get("tools") or []]


async def memory_on(core, actor=ALICE, key=KEY):
    await core.chat.memory.command(actor, key, "on")


# the rule: what counts as asking


@pytest.mark.parametrize(
    ("text", "fact"),
    [
        ("remember that I use Fedora 41", "I use Fedora 41"),
        ("Remember: my team is Platform.", "my team is Platform"),
        ("please remember that  I prefer\nmetric units", "I prefer metric units"),
        ("Please, remember, I am vegetarian", "I am vegetarian"),
        ("can you remember that my name is pronounced Ah-na?", "my name is pronounced Ah-na?"),
    ],
)
def test_a_message_that_starts_by_asking_is_a_request(text, fact):
    assert remember_request(text) == fact


@pytest.mark.parametrize(
    "text",
    [
        "do you remember that I use Fedora?",
        "remember when we talked about Rust?",
        "I can't remember that command, what was it?",
        "remember",
        "remember that   ",
        "Remembering things is hard",
    ],
)
def test_other_messages_with_remember_are_not_requests(text):
    assert remember_request(text) is None


# off by default; kept only on the person's yes


async def test_memory_is_off_by_default_and_a_request_then_keeps_nothing(core, fake_router):
    fake_router.queue(text_script("Noted."))
    _, _, out = await ask(core, f"remember that {CANARY}")
    assert await core.store.list_memories("test", "W1", "alice") == []
    assert "Memory is off" in out.full_text() and "/memory on" in out.full_text()
    assert CANARY not in system_prompt(fake_router.requests[-1])
    assert NAME not in tool_names(fake_router.requests[-1])  # nothing may even be proposed
    listing = await core.chat.memory.listing(ALICE, KEY)
    assert not listing.on and listing.facts == []


async def test_a_request_keeps_the_fact_and_the_owners_next_request_carries_it(core, fake_router):
    await memory_on(core)
    fake_router.queue(text_script("Noted."))
    _, _, out = await ask(core, f"Remember that {CANARY}")
    assert [m.fact for m in await core.store.list_memories("test", "W1", "alice")] == [CANARY]
    assert "Kept in your memory" in out.full_text()
    fake_router.queue(text_script("Blue herons, then."))
    await ask(core, "What bird do I like?")
    assert CANARY in system_prompt(fake_router.requests[-1])
    assert system_prompt(fake_router.requests[-1]).index(HEADER) >= 0


async def test_another_person_in_the_same_workspace_never_gets_the_memory(core, fake_router):
    await memory_on(core)
    await core.chat.memory.keep(ALICE, KEY, CANARY)
    await memory_on(core, BOB)  # even with their own memory on
    await core.chat.memory.keep(BOB, KEY, "Bob writes Go")
    fake_router.queue(text_script("Hello Bob."))
    await ask(core, "What do you know about me?", actor=BOB)
    body = fake_router.requests[-1]
    assert CANARY not in str(body) and "Bob writes Go" in system_prompt(body)
    # the same thread, Alice next: hers, and not Bob's
    fake_router.queue(text_script("Hello Alice."))
    await ask(core, "And me?")
    assert CANARY in system_prompt(fake_router.requests[-1])
    assert "Bob writes Go" not in system_prompt(fake_router.requests[-1])
    # Bob sees only his own list, and cannot delete hers by its id
    assert [m.fact for m in (await core.chat.memory.listing(BOB, KEY)).facts] == ["Bob writes Go"]
    [alices] = await core.store.list_memories("test", "W1", "alice")
    assert not await core.chat.memory.forget(BOB, KEY, alices.id)
    assert await core.store.list_memories("test", "W1", "alice") != []


async def test_memory_is_per_workspace(core, fake_router):
    await memory_on(core)
    await core.chat.memory.keep(ALICE, KEY, CANARY)
    await memory_on(core, ALICE_ELSEWHERE, OTHER_WORKSPACE)
    fake_router.queue(text_script("Hi."))
    await ask(core, "Hi", actor=ALICE_ELSEWHERE, key=OTHER_WORKSPACE)
    assert CANARY not in str(fake_router.requests[-1])
    assert (await core.chat.memory.listing(ALICE_ELSEWHERE, OTHER_WORKSPACE)).facts == []


async def test_a_proposal_is_kept_only_on_keep_and_only_its_person_may_answer(core, fake_router):
    await memory_on(core)
    fake_router.queue(tool_calls_script((NAME, {"fact": "Alice maintains the billing service"})))
    fake_router.queue(text_script("Here is how to rotate the keys."))
    out = ProposingSink()
    await ask(core, "I maintain billing; how do I rotate its keys?", out=out)
    assert NAME in tool_names(fake_router.requests[0])
    [proposal] = out.proposals
    assert proposal.fact == "Alice maintains the billing service" and proposal.user_id == "alice"
    assert [m["content"] for m in fake_router.requests[-1]["messages"] if m["role"] == "tool"] == [SUGGESTED]
    assert await core.store.list_memories("test", "W1", "alice") == []  # nothing before the yes
    with pytest.raises(NotAllowed):
        await core.chat.memory.decide(proposal.id, BOB, keep=True)
    assert await core.store.list_memories("test", "W1", "alice") == []
    await core.chat.memory.decide(proposal.id, ALICE, keep=True)
    assert [m.fact for m in await core.store.list_memories("test", "W1", "alice")] == [proposal.fact]
    with pytest.raises(NotFound):  # answered once
        await core.chat.memory.decide(proposal.id, ALICE, keep=True)


async def test_dont_keeps_nothing(core, fake_router):
    await memory_on(core)
    fake_router.queue(tool_calls_script((NAME, {"fact": CANARY})))
    fake_router.queue(text_script("Sure."))
    out = ProposingSink()
    await ask(core, "I like herons", out=out)
    [proposal] = out.proposals
    await core.chat.memory.decide(proposal.id, ALICE, keep=False)
    assert await core.store.list_memories("test", "W1", "alice") == []
    assert core.chat.memory.waiting_for("test", "alice") is None


async def test_off_stops_using_and_clear_erases(core, fake_router):
    await memory_on(core)
    await core.chat.memory.keep(ALICE, KEY, CANARY)
    said = await core.chat.memory.command(ALICE, KEY, "off")
    assert "stay until you `/memory clear`" in said
    fake_router.queue(text_script("Hi."))
    await ask(core, "Hi")
    assert CANARY not in str(fake_router.requests[-1])
    assert [m.fact for m in (await core.chat.memory.listing(ALICE, KEY)).facts] == [CANARY]  # still listed
    with pytest.raises(NotAllowed):  # and nothing new is kept while off
        await core.chat.memory.keep(ALICE, KEY, "something else")
    assert "Deleted all 1 fact" in await core.chat.memory.command(ALICE, KEY, "clear")
    assert await core.store.list_memories("test", "W1", "alice") == []


async def test_list_and_forget_by_number(core):
    await memory_on(core)
    for fact in ("one", "two", "three"):
        await core.chat.memory.keep(ALICE, KEY, fact)
    listed = await core.chat.memory.command(ALICE, KEY, "")
    assert "1. one\n2. two\n3. three" in listed and "**on**" in listed
    assert "“two”" in await core.chat.memory.command(ALICE, KEY, "forget 2")
    assert [m.fact for m in await core.store.list_memories("test", "W1", "alice")] == ["one", "three"]
    with pytest.raises(NotFound):
        await core.chat.memory.command(ALICE, KEY, "forget 7")


# the budget


async def test_a_long_memory_list_stays_within_the_budget(core_factory, fake_router):
    core = await core_factory(fake_router.url, memory_prompt_tokens=120)
    await memory_on(core)
    for n in range(MAX_FACTS):
        await core.chat.memory.keep(ALICE, KEY, f"fact number {n:02d} " + "x" * 120)
    fake_router.queue(text_script("Hi."))
    await ask(core, "Hi")
    prompt = system_prompt(fake_router.requests[-1])
    block = prompt[prompt.index(HEADER) :]
    assert estimate_tokens(block) <= 120
    assert f"fact number {MAX_FACTS - 1:02d}" in block  # the newest first
    assert "fact number 00" not in block


def test_the_fitting_counts_the_memory_and_keeps_it_to_a_quarter_of_the_window():
    facts = [f"fact {n} " + "y" * 200 for n in range(MAX_FACTS)]
    history = [StoredMessage(role="user", content="z" * 900, author_id="alice")]
    fitted = fit_messages(
        history, system_prompt="Be brief.", context_window=1200, max_tokens=200, memory=facts, memory_tokens=10_000
    )
    system = fitted.messages[0]["content"]
    assert system.startswith("Be brief.\n\n" + HEADER)
    assert 0 < fitted.memories < MAX_FACTS
    assert estimate_tokens(system) <= (1200 - 200) // 4 + estimate_tokens("Be brief.") + 2
    assert fitted.prompt_tokens >= estimate_tokens(system)  # counted: the history fits in what is left
    assert fitted.prompt_tokens + fitted.max_tokens <= 1200


def test_memory_block_takes_the_newest_that_fit():
    text, count = memory_block(["old", "middle", "new"], estimate_tokens(HEADER) + 4)
    assert count == 1 and text.endswith("- new")
    assert memory_block(["a"], 0) == ("", 0)


# erasure: the canary leaves the database file


async def test_clear_and_forget_leave_no_trace_in_the_sqlite_files(core, tmp_path):
    await memory_on(core)
    await core.chat.memory.keep(ALICE, KEY, CANARY)
    await core.chat.memory.keep(ALICE, KEY, CANARY + "-second")
    await core.store.close()
    assert sqlite_files_holding(tmp_path, CANARY)
    await core.store.open()
    await core.chat.memory.command(ALICE, KEY, "forget 2")
    await core.chat.memory.command(ALICE, KEY, "clear")
    assert sqlite_files_holding(tmp_path, CANARY) == []


async def test_delete_all_my_data_erases_memory_and_its_switch(core, fake_router, tmp_path):
    await memory_on(core)
    await memory_on(core, ALICE_ELSEWHERE, OTHER_WORKSPACE)
    fake_router.queue(text_script("Noted."))
    await ask(core, f"remember that {CANARY}")
    await core.chat.memory.keep(ALICE_ELSEWHERE, OTHER_WORKSPACE, CANARY + "-w2")
    await memory_on(core, BOB)
    await core.chat.memory.keep(BOB, KEY, "bob-keeps-this")
    assert sqlite_files_holding(tmp_path, CANARY)
    await core.chat.delete_user_data(ALICE)
    assert sqlite_files_holding(tmp_path, CANARY) == []
    assert not await core.chat.memory.is_on("test", "W1", "alice")
    assert not await core.chat.memory.is_on("test", "W2", "alice")
    assert [m.fact for m in await core.store.list_memories("test", "W1", "bob")] == ["bob-keeps-this"]


# the store, on both backends


async def test_the_store_keeps_memories_per_person_and_workspace(store):
    a = await store.add_memory(Memory("discord", "g1", "u1", "fact a"))
    await store.add_memory(Memory("discord", "g1", "u2", "fact b"))
    await store.add_memory(Memory("discord", "g2", "u1", "fact c"))
    await store.add_memory(Memory("slack", "g1", "u1", "fact d"))
    assert [m.fact for m in await store.list_memories("discord", "g1", "u1")] == ["fact a"]
    assert await store.delete_memories("discord", "g1", "u2", a.id) == 0  # not theirs
    assert await store.delete_memories("discord", "g1", "u1", a.id) == 1
    assert await store.delete_memories("discord", "g2", "u1") == 1
    await store.delete_user_data("slack", "u1")
    assert await store.list_memories("slack", "g1", "u1") == []
    assert [m.fact for m in await store.list_memories("discord", "g1", "u2")] == ["fact b"]


async def test_proposals_expire(core):
    memory: MemoryService = core.chat.memory
    await memory_on(core)
    proposal = memory.propose(ALICE, KEY, "a fact", now=0.0)
    with pytest.raises(NotFound):
        await memory.decide(proposal.id, ALICE, keep=True, now=10 * 24 * 3600.0)
    assert await core.store.list_memories("test", "W1", "alice") == []


async def test_an_answer_reads_the_switch_from_its_settings_snapshot(core, fake_router):
    await memory_on(core)
    await core.chat.memory.keep(ALICE, KEY, CANARY)
    await ask(core, "start")
    seen: list[str] = []
    for name in ("get_setting", "get_settings", "list_memories"):
        method = getattr(core.store, name)

        async def counted(*args, _method=method, _name=name, **kwargs):
            seen.append(_name)
            return await _method(*args, **kwargs)

        setattr(core.store, name, counted)
    await ask(core, "hello again")
    assert sorted(seen) == ["get_settings", "get_settings", "list_memories"]  # no query for the switch alone
    assert CANARY in system_prompt(fake_router.requests[-1])
