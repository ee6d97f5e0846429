"""Markdown tables drawn as Slack `table` blocks (slack_sdk TableBlock: at most 100 rows of 20 cells), since
whether `markdown` blocks and streamed `markdown_text` render pipe tables is reported both ways. One table block
per message (the conservative reading of Slack's rules); further tables, and tables over the limits, stay text.
Finding tables, and holding a half-streamed one back, is the core's (core.streaming.tables)."""

from __future__ import annotations

from bots.slack.text import neutralize
from core.streaming.tables import Table, table_spans

MAX_ROWS, MAX_CELLS = 100, 20
TABLES_PER_MESSAGE = 1


def table_block(table: Table) -> dict | None:
    """The table as a `table` block (header first), or None when it is over the block's limits."""
    rows = [table.header, *table.rows]
    if len(rows) > MAX_ROWS or len(table.header) > MAX_CELLS:
        return None
    block: dict = {
        "type": "table",
        "rows": [[{"type": "raw_text", "text": neutralize(cell)} for cell in row] for row in rows],
    }
    if any(table.align):
        block["column_settings"] = [{"align": align or "left"} for align in table.align]
    return block


def pieces(text: str, *, after: int = 0, tables: int = TABLES_PER_MESSAGE) -> list[str | dict]:
    """`text[after:]` as Markdown strings and table blocks, in order: the tables that start at or after `after`, up
    to `tables` of them (`text[:after]` is already on screen: a table that began there is not redrawn)."""
    out: list[str | dict] = []
    at = after
    for start, end, table in table_spans(text):
        if start < after or tables <= 0:
            continue
        block = table_block(table)
        if block is None:
            continue
        if start > at:
            out.append(text[at:start])
        out.append(block)
        at, tables = end, tables - 1
    if at < len(text):
        out.append(text[at:])
    return out
