"""The terminal's /usage: one table of answers, tokens and cost, by model, by day and (the workspace's) by person."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from core.commands.text import parse_usage
from core.usage.accounting import UsageLine, UsageSummary, cost_text

if TYPE_CHECKING:
    from bots.console.app import ConsoleApp


async def usage(app: ConsoleApp, arg: str) -> None:
    command = parse_usage(arg)
    days = command.days
    if command.everyone:
        summary = await app.chat.usage.for_workspace(app.actor, app.key, days)
    else:
        summary = await app.chat.usage.for_user(app.actor, days)
    app.console.print(usage_table(summary, people=command.everyone))


def usage_table(summary: UsageSummary, *, people: bool = False) -> Table | Text:
    """One table: the total, then a section by model, by day and (for admins) by person."""
    if not summary.total.requests:
        return Text(f"{summary.title}, last {summary.days} days: nothing yet.")
    table = Table("", "answers", "tokens in", "tokens out", "cost", title=f"{summary.title}, last {summary.days} days")
    for column in table.columns[1:]:
        column.justify = "right"
    sections = [("by model", summary.by_model), ("by day (UTC)", summary.by_day)]
    if people:
        sections.append(("by person", summary.by_user))
    table.add_row(*_cells(summary.total, "total"), style="bold", end_section=True)
    for heading, lines in sections:
        table.add_row(Text(heading, style="dim italic"))
        for number, line in enumerate(lines, 1):
            table.add_row(*_cells(line, f"  {line.label}"), end_section=number == len(lines))
    if summary.total.estimated:
        table.caption = "~ marks an estimate: the provider's price was not known."
    return table


def _cells(line: UsageLine, label: str) -> list[str]:
    return [label, f"{line.requests:,}", f"{line.prompt_tokens:,}", f"{line.completion_tokens:,}", cost_text(line)]


HANDLERS = {"usage": usage}
