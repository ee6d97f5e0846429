"""A Slack bot wired to a fake Slack (Socket Mode on loopback) and the scripted fake router."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.web.async_client import AsyncWebClient

from bots.slack.adapter import SlackAdapter
from bots.slack.app import build_adapter
from core.app import Core
from core.streaming import PlatformLimits
from core.streaming.tables import Table, table_source
from tests.fakes.fake_router import FakeRouter, chunk
from tests.fakes.slack import FakeSlack, StoredMessage

CHANNEL, DM = "C0CHAN0001", "D0DM000001"
ALICE, BOB, ADMIN = "U0USER0001", "U0USER0002", "U0ADMIN001"
# fast pacing for tests; the real values live in bots.slack.tiers
FAST_NATIVE = PlatformLimits(max_chars=11_000, edit_interval=0.05, native_append=True)
FAST_EDIT = PlatformLimits(max_chars=3_900, edit_interval=0.05)


def _drawn(parts: list) -> str:
    """Markdown text and table blocks as one text, each table written back as Markdown."""
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif part.get("type") == "markdown":
            out.append(part["text"])
        elif part.get("type") == "table":
            rows = [[cell["text"] for cell in row] for row in part["rows"]]
            settings = part.get("column_settings") or []
            align = [s.get("align") if s else None for s in settings] + [None] * len(rows[0])
            align = [None if a == "left" else a for a in align[: len(rows[0])]]
            out.append(table_source(Table(rows[0], align, rows[1:])))
    return "".join(out)


def visible(message: StoredMessage) -> str:
    """What a person sees in a bot message: its markdown (and table) blocks if it has any, else the streamed text
    (with the tables streamed as blocks in their places), each table written back as Markdown."""
    drawn = [b for b in message.blocks or [] if b.get("type") in ("markdown", "table")]
    if drawn:
        return _drawn(drawn)
    if message.stream is not None and any(isinstance(p, dict) for p in message.stream.parts):
        return _drawn(message.stream.parts)
    return message.final_text


def buttons(blocks: list[dict] | None) -> list[dict]:
    """The buttons (and other elements) of a message's or view's actions blocks."""
    return [e for b in blocks or [] if b.get("type") == "actions" for e in b["elements"]]


def reasoning_script(reasoning: str, answer: str) -> list:
    """A model that reasons (in `reasoning_content` pieces) before it answers."""
    steps = [chunk("")]
    steps += [chunk(reasoning=reasoning[i : i + 50]) for i in range(0, len(reasoning), 50)]
    return [*steps, chunk(answer), chunk(finish="stop")]


@dataclass
class Harness:
    fake: FakeSlack
    router: FakeRouter
    core: Core
    adapter: SlackAdapter
    handler: AsyncSocketModeHandler | None = None

    async def settle(self, within: float = 10.0) -> None:
        await asyncio.sleep(0.05)
        await self.adapter.idle(within)

    def answers(self, channel: str, thread_ts: str) -> list[StoredMessage]:
        return [m for m in self.fake.bot_messages(channel, thread_ts) if not m.text.startswith("Hi! Ask me")]

    def answer_text(self, channel: str, thread_ts: str) -> str:
        return "\n".join(visible(m) for m in self.answers(channel, thread_ts))

    async def send(self, payload: dict, **kw) -> str:
        envelope = await self.fake.socket_send_event(payload, **kw)
        await self.fake.wait_ack(envelope)
        return envelope

    async def command(self, command: str, text: str = "", **kw) -> dict:
        payload = self.fake.build_slash_command(command, text, **kw)
        await self.fake.wait_ack(await self.fake.socket_send_command(payload))
        await self.settle()
        return payload

    async def interact(self, payload: dict) -> None:
        await self.fake.wait_ack(await self.fake.socket_send_interactive(payload))
        await self.settle()

    def responses(self) -> list[str]:
        return [str(p["body"].get("text", "")) for p in self.fake.response_url_posts if isinstance(p["body"], dict)]

    def ephemeral_texts(self) -> list[str]:
        return [e.get("text", "") for e in self.fake.ephemerals]


@contextlib.asynccontextmanager
async def running_bot(core_factory, router: FakeRouter, fake: FakeSlack, *, socket: bool = True, **options):
    core = await core_factory(router.url)
    options.setdefault("native_limits", FAST_NATIVE)
    options.setdefault("edit_limits", FAST_EDIT)
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    adapter = build_adapter(core, client=client, signing_secret=fake.signing_secret, **options)
    harness = Harness(fake, router, core, adapter)
    if socket:
        harness.handler = AsyncSocketModeHandler(adapter.app, fake.app_token, web_client=client)
        await harness.handler.connect_async()
        await fake.wait_socket_connected()
    try:
        yield harness
    finally:
        with contextlib.suppress(Exception):
            await adapter.idle(5)
        if harness.handler is not None:
            await harness.handler.close_async()
