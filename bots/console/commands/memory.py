"""The terminal's /memory (core.memory): what is kept for you, numbered (`/memory forget N` deletes item N,
`/memory clear` all of it), and `/memory on|off`. A fact the model suggests is asked about after its answer, with a
y/n prompt (bots.console.app)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bots.console.app import ConsoleApp


async def memory(app: ConsoleApp, arg: str) -> None:
    if arg.strip().lower() in ("", "list", "show"):
        listing = await app.chat.memory.listing(app.actor, app.key)
        app.say(listing.header().replace("**", ""))
        for line in listing.numbered():
            app.say(f"  {line}")
        app.say("/memory forget N deletes item N · /memory clear deletes them all · /memory on|off", "dim")
        return
    app.say((await app.chat.memory.command(app.actor, app.key, arg)).replace("**", "").replace("`", ""))


HANDLERS = {"memory": memory}
