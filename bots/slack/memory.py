"""Memory on Slack (core.memory): `/memory` (also `/hfchat memory`), answered only to the person who typed it: what is
kept, each fact with a Delete button, and Delete all; `on`, `off`, `forget N`, `clear`. A fact the model suggests
comes as "Remember this?" with Keep / Don't in a message only the person sees (`chat.postEphemeral`), in the answer's
thread. Every click is one call on the core, which checks whose memory it is."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bots.slack.adapter import PLATFORM, SlackAdapter
from bots.slack.calls import slack_error
from bots.slack.invocation import Invocation
from bots.slack.middleware import ACK_FIRST
from bots.slack.text import neutralize
from core.keys import ConversationKey
from core.memory import Proposal
from core.memory.service import USAGE, Listing

log = logging.getLogger(__name__)

DELETE_ONE, DELETE_ALL = "hfchat_memory_delete", "hfchat_memory_clear"
KEEP, DROP = "hfchat_memory_keep", "hfchat_memory_drop"


def _plain(text: str) -> dict:
    """A fact as plain text: whatever it says, Slack shows it as written (no mentions, no links)."""
    return {"type": "plain_text", "text": text[:3000], "emoji": False}


def listing_blocks(listing: Listing) -> list[dict]:
    """The facts, each with its Delete button, then Delete all (Block Kit: at most 50 blocks; core.memory keeps 24)."""
    blocks: list[dict] = [
        {
            "type": "section",
            "block_id": f"hfchat_memory_{memory.id}",
            "text": _plain(line),
            "accessory": {
                "type": "button",
                "action_id": DELETE_ONE,
                "value": str(memory.id),
                "text": {"type": "plain_text", "text": "Delete"},
            },
        }
        for memory, line in zip(listing.facts, listing.numbered(), strict=True)
    ]
    if listing.facts:
        blocks.append(
            {
                "type": "actions",
                "block_id": "hfchat_memory_all",
                "elements": [
                    {
                        "type": "button",
                        "action_id": DELETE_ALL,
                        "value": "all",
                        "style": "danger",
                        "text": {"type": "plain_text", "text": "Delete all"},
                    }
                ],
            }
        )
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": USAGE}]})
    return blocks


def proposal_blocks(proposal: Proposal) -> list[dict]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": "🧠 *Remember this?*"}},
        {"type": "section", "text": _plain(proposal.fact)},
        {
            "type": "actions",
            "block_id": "hfchat_memory_proposal",
            "elements": [
                {
                    "type": "button",
                    "action_id": KEEP,
                    "value": proposal.id,
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Keep"},
                },
                {
                    "type": "button",
                    "action_id": DROP,
                    "value": proposal.id,
                    "text": {"type": "plain_text", "text": "Don't"},
                },
            ],
        },
    ]


async def memory_command(slack: SlackAdapter, invocation: Invocation, text: str) -> None:
    actor = await slack.actor(invocation.team, invocation.user)
    key = ConversationKey(PLATFORM, invocation.team, invocation.channel, "")
    if text.strip().lower() in ("", "list", "show"):
        listing = await slack.chat.memory.listing(actor, key)
        await invocation.reply(listing.header(), blocks=listing_blocks(listing))
        return
    await invocation.reply(await slack.chat.memory.command(actor, key, text))


async def show(sink: Any, proposal: Proposal) -> None:
    """How a suggestion shows on Slack: only its person sees it, in the answer's thread (SlackSink's place)."""
    try:
        await sink.client.chat_postEphemeral(
            channel=sink.channel,
            user=proposal.user_id,
            thread_ts=sink.thread_ts,
            text=neutralize(f"🧠 Remember this? {proposal.fact}"),
            blocks=proposal_blocks(proposal),
        )
    except SlackApiError as exc:
        log.warning("memory suggestion not shown: %s", slack_error(exc))


class MemoryButtons:
    """Delete and Delete all under `/memory`'s list; Keep and Don't under a suggestion."""

    def __init__(self, slack: SlackAdapter):
        self.slack = slack

    def register(self, app: Any) -> None:
        self.slack.chat.memory_proposals.show_with(PLATFORM, show)
        app.action(DELETE_ONE, middleware=ACK_FIRST)(self.on_delete)
        app.action(DELETE_ALL, middleware=ACK_FIRST)(self.on_delete_all)
        app.action(KEEP, middleware=ACK_FIRST)(self.on_decide)
        app.action(DROP, middleware=ACK_FIRST)(self.on_decide)

    async def _who(self, body: dict) -> tuple[Any, ConversationKey]:
        team = body["team"]["id"]
        return await self.slack.actor(team, body["user"]["id"]), ConversationKey(PLATFORM, team, "", "")

    async def _show_list(self, respond: Any, actor: Any, key: ConversationKey, said: str) -> None:
        listing = await self.slack.chat.memory.listing(actor, key)
        text = neutralize(f"{said}\n{listing.header()}")
        await respond(text=text, blocks=[_mrkdwn(text), *listing_blocks(listing)], replace_original=True)

    async def on_delete(self, body: dict, respond: Any) -> None:
        actor, key = await self._who(body)
        value = str(body["actions"][0].get("value") or "")
        gone = value.isdigit() and await self.slack.chat.memory.forget(actor, key, int(value))
        await self._show_list(respond, actor, key, "Deleted." if gone else "That was already gone.")

    async def on_delete_all(self, body: dict, respond: Any) -> None:
        actor, key = await self._who(body)
        count = await self.slack.chat.memory.clear(actor, key)
        await self._show_list(respond, actor, key, self.slack.chat.memory.cleared(count))

    async def on_decide(self, body: dict, respond: Any) -> None:
        actor, _ = await self._who(body)
        action = body["actions"][0]
        keep = action["action_id"] == KEEP
        proposal = await self.slack.chat.memory.decide(str(action.get("value") or ""), actor, keep)
        said = "🧠 Kept in your memory here." if keep else "🧠 Not kept."
        await respond(
            text=said, blocks=[_mrkdwn(said), {"type": "section", "text": _plain(proposal.fact)}], replace_original=True
        )


def _mrkdwn(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}
