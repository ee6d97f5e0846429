"""Markdown pipe tables in answers: where they are, and how much of a streaming text to hold back so a table is
never shown half-made. A front end that draws tables itself (Slack's table block) renders what `segments` finds.

A table is a header row, a separator row (`| --- | :-: |`, as many cells) and the rows under it; every row starts
with `|` (as models write them), and nothing inside a code fence is a table."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.streaming.splitting import open_fence_at_end

_SEPARATOR_CELL = re.compile(r"^:?-+:?$")


@dataclass(frozen=True, slots=True)
class Table:
    header: list[str]
    align: list[str | None]  # "left" | "center" | "right" | None, per column
    rows: list[list[str]]


def _is_row(line: str) -> bool:
    return line.lstrip().startswith("|")


def cells(line: str) -> list[str]:
    """A row's cells: the outer pipes dropped, split at pipes not escaped (`\\|` stays a pipe in its cell)."""
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", body)]


def _alignment(line: str, columns: int) -> list[str | None] | None:
    """The separator row's alignment per column, or None when `line` is not a separator for `columns` columns."""
    if not _is_row(line):
        return None
    parts = cells(line)
    if len(parts) != columns or not all(_SEPARATOR_CELL.match(part.replace(" ", "")) for part in parts):
        return None
    align: list[str | None] = []
    for part in (p.replace(" ", "") for p in parts):
        left, right = part.startswith(":"), part.endswith(":")
        align.append("center" if left and right else "right" if right else "left" if left else None)
    return align


def table_spans(text: str) -> list[tuple[int, int, Table]]:
    """Every table in `text`: (where it starts, where its last row's line ends, the table), in order."""
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    spans: list[tuple[int, int, Table]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        # (whether a fence is open is asked only of lines that could start a table: few)
        header = cells(line) if _is_row(line) and open_fence_at_end(text[: offsets[i]]) is None else None
        align = _alignment(lines[i + 1], len(header)) if header is not None and i + 1 < len(lines) else None
        if header is None or align is None:
            i += 1
            continue
        j = i + 2
        while j < len(lines) and _is_row(lines[j]):
            j += 1
        rows = [(cells(row) + [""] * len(header))[: len(header)] for row in lines[i + 2 : j]]
        spans.append((offsets[i], min(offsets[j], len(text)), Table(header, align, rows)))
        i = j
    return spans


def segments(text: str) -> list[str | Table]:
    """`text` as Markdown pieces and the tables between them, in order (each table in place of its source)."""
    out: list[str | Table] = []
    at = 0
    for start, end, table in table_spans(text):
        if start > at:
            out.append(text[at:start])
        out.append(table)
        at = end
    if at < len(text):
        out.append(text[at:])
    return out


def open_table_at_end(text: str) -> tuple[int, bool] | None:
    """A table (or what may become one) still being written at the end of a streaming `text`: (where it starts,
    whether its separator row has arrived). None when the text does not end in table rows (a line of text after a
    table ends it; a line still being written that does not start with `|` is not a row)."""
    lines = text.split("\n")
    end = len(lines) - 1
    if lines[end] and not _is_row(lines[end]):
        return None
    last = end if lines[end] else end - 1  # an empty last line: the row before may be followed by more rows
    start = last
    while start >= 0 and _is_row(lines[start]):
        start -= 1
    start += 1
    if start > last:
        return None
    offset = sum(len(line) + 1 for line in lines[:start])
    if open_fence_at_end(text[:offset]) is not None:
        return None  # rows inside a code block are code
    header = cells(lines[start])
    has_separator = start + 1 <= end and _alignment(lines[start + 1], len(header)) is not None
    still_written = start + 1 == end and bool(lines[end])  # the separator row itself may be half-written
    if not has_separator and start + 1 <= last and not still_written:
        return None  # a header and a second row that is no separator: not a table
    return offset, has_separator


def table_source(table: Table) -> str:
    """A table written back as Markdown, the way `segments` reads it (for a platform that cannot draw it)."""
    marks = {"left": ":--", "center": ":-:", "right": "--:", None: "---"}
    lines = [table.header, [marks[a] for a in table.align], *table.rows]
    return "".join("| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |\n" for line in lines)
