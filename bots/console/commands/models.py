"""The terminal's /models (the router's list as a table: context, providers with prices, vision, tools) and
/compare (one prompt, several models, one answer after the other)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from core.commands.text import parse_compare
from core.models.catalog import format_price, matching_models

if TYPE_CHECKING:
    from bots.console.app import ConsoleApp


async def show_models(app: ConsoleApp, arg: str) -> None:
    models = matching_models(app.core.catalog, arg)
    if not models:
        app.say(f"No model matches “{arg.strip()}”." if arg.strip() else "The model list is not loaded yet.")
        return
    table = Table("model", "context", "provider", "$/M in", "$/M out", "vision", "tools")
    for info in models:
        context = f"{info.context_length:,}" if info.context_length else "?"
        flags = ("yes" if info.vision else "", "yes" if info.tools else "")
        for number, provider in enumerate(info.providers or [None]):
            priced = provider is not None and provider.input_price is not None and provider.output_price is not None
            table.add_row(
                info.id if number == 0 else "",
                context if number == 0 else "",
                provider.name if provider is not None and provider.name else "-",
                format_price(provider.input_price) if priced else "",
                format_price(provider.output_price) if priced else "",
                *(flags if number == 0 else ("", "")),
            )
    app.console.print(table)


async def compare(app: ConsoleApp, arg: str) -> None:
    """`/compare m1,m2 prompt`."""
    models, prompt = parse_compare(arg)
    results = await app.chat.comparer.compare(app.key, app.actor, prompt, models, lambda model: app.sink())
    app.say(" · ".join(f"{r.model}: {r.state.status}" for r in results), "dim")


HANDLERS = {"models": show_models, "compare": compare}
