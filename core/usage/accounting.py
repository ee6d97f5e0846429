"""Usage: tokens and cost per model, per day and per person, priced with the router's own pricing.

The router reports prices per million tokens per provider. An answer's provider is recorded with its
usage; when it is unknown (older rows) or unpriced, the average of the model's priced providers is
used and the cost is marked as an estimate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from core.errors import NotAllowed
from core.keys import Actor, ConversationKey
from core.models.catalog import ModelCatalog, split_suffix
from core.models.tokens import estimate_tokens
from core.records import UsageRow
from core.store.base import Store

DAY = 86400.0


@dataclass(frozen=True, slots=True)
class Used:
    """The tokens one answer used: the provider's own figures, or, when it reported none, counted from the text."""

    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False


def answer_usage(state, prompt_estimate: int) -> Used | None:
    """What an answer (a core.streaming.ReplyState) used; None when nothing was produced and nothing reported."""
    if state.prompt_tokens or state.completion_tokens:
        return Used(state.prompt_tokens or 0, state.completion_tokens or 0)
    written = state.answer + state.reasoning
    if not written.strip():
        return None
    return Used(prompt_estimate, estimate_tokens(written), estimated=True)


@dataclass(slots=True)
class UsageLine:
    label: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0
    cost: float = 0.0  # USD
    priced: bool = True  # every row had a price
    estimated: bool = False  # some price was an estimate
    counted: bool = False  # some tokens were counted from the text: the provider reported no usage

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, row: UsageRow, cost: float | None, estimated: bool) -> None:
        self.prompt_tokens += row.prompt_tokens
        self.completion_tokens += row.completion_tokens
        self.requests += row.requests
        if cost is None:
            self.priced = False
        else:
            self.cost += cost
        self.estimated = self.estimated or estimated
        self.counted = self.counted or row.estimated > 0


@dataclass(slots=True)
class UsageSummary:
    title: str
    days: int
    total: UsageLine = field(default_factory=lambda: UsageLine("total"))
    by_model: list[UsageLine] = field(default_factory=list)
    by_day: list[UsageLine] = field(default_factory=list)
    by_user: list[UsageLine] = field(default_factory=list)


def price(catalog: ModelCatalog, model: str, provider: str) -> tuple[tuple[float, float] | None, bool]:
    """((input, output) USD per million tokens, estimated) for a model served by a provider."""
    base, suffix = split_suffix(model)
    info = catalog.get(base)
    if info is None:
        return None, False
    priced = {
        p.name: (p.input_price, p.output_price)
        for p in info.providers
        if p.input_price is not None and p.output_price is not None
    }
    for name in (provider, suffix):
        if name and name in priced:
            return priced[name], False
    if not priced:
        return None, False
    inputs, outputs = zip(*priced.values(), strict=True)
    return (sum(inputs) / len(inputs), sum(outputs) / len(outputs)), True


def summarize(rows: list[UsageRow], catalog: ModelCatalog, title: str, days: int) -> UsageSummary:
    summary = UsageSummary(title, days)
    models: dict[str, UsageLine] = {}
    per_day: dict[str, UsageLine] = {}
    users: dict[str, UsageLine] = {}
    for row in rows:
        rate, estimated = price(catalog, row.model, row.provider)
        cost = (row.prompt_tokens * rate[0] + row.completion_tokens * rate[1]) / 1e6 if rate else None
        base = split_suffix(row.model)[0]
        for bucket, label in ((models, base), (per_day, row.day), (users, row.user_id)):
            bucket.setdefault(label, UsageLine(label)).add(row, cost, estimated)
        summary.total.add(row, cost, estimated)
    summary.by_model = sorted(models.values(), key=lambda line: -line.tokens)
    summary.by_day = sorted(per_day.values(), key=lambda line: line.label)
    summary.by_user = sorted(users.values(), key=lambda line: -line.tokens)
    return summary


class UsageService:
    def __init__(self, store: Store, catalog: ModelCatalog):
        self.store = store
        self.catalog = catalog

    async def for_user(self, actor: Actor, days: int = 30) -> UsageSummary:
        """The acting user's usage on this platform, every workspace."""
        rows = await self.store.usage_rows(actor.platform, user_id=actor.user_id, since=_since(days))
        return summarize(rows, self.catalog, "Your usage", days)

    async def for_workspace(self, actor: Actor, key: ConversationKey, days: int = 30) -> UsageSummary:
        """Everyone's usage in this workspace: admins only."""
        if not actor.is_admin or actor.workspace != key.workspace:
            raise NotAllowed("Only an admin of this workspace can see everyone's usage.")
        rows = await self.store.usage_rows(key.platform, workspace=key.workspace, since=_since(days))
        return summarize(rows, self.catalog, "Workspace usage", days)


def _since(days: int) -> float:
    return time.time() - max(1, days) * DAY


def cost_text(line: UsageLine) -> str:
    """`$0.0123`, `~$0.0123` for an estimate, or `no price`."""
    if not line.priced and not line.cost:
        return "no price"
    text = f"${line.cost:,.4f}"
    if line.estimated or not line.priced:
        text = "~" + text
    return text


def _line(line: UsageLine) -> str:
    about = "≈" if line.counted else ""
    return (
        f"`{line.label}`: {about}{line.tokens:,} tokens ({line.prompt_tokens:,} in, {line.completion_tokens:,} out), "
        f"{line.requests:,} answers, {cost_text(line)}"
    )


def format_usage(summary: UsageSummary, *, people: bool = False, user_names: dict[str, str] | None = None) -> str:
    """Markdown every front end can show."""
    if not summary.total.requests:
        return f"**{summary.title}, last {summary.days} days:** nothing yet."
    lines = [
        f"**{summary.title}, last {summary.days} days:** {'≈' if summary.total.counted else ''}"
        f"{summary.total.tokens:,} tokens, "
        f"{summary.total.requests:,} answers, {cost_text(summary.total)}",
        "",
        "**By model**",
        *(f"• {_line(line)}" for line in summary.by_model),
        "",
        "**By day (UTC)**",
        *(f"• {_line(line)}" for line in summary.by_day),
    ]
    if people:
        names = user_names or {}
        lines += ["", "**By person**"]
        for line in summary.by_user:
            shown = UsageLine(names.get(line.label, line.label), line.prompt_tokens, line.completion_tokens)
            shown.requests, shown.cost, shown.priced, shown.estimated, shown.counted = (
                line.requests,
                line.cost,
                line.priced,
                line.estimated,
                line.counted,
            )
            lines.append(f"• {_line(shown)}")
    if summary.total.estimated:
        lines += ["", "*~ marks an estimate: the provider's price was not known.*"]
    if summary.total.counted:
        lines += ["", "*≈ marks tokens counted from the text (estimated): the provider reported no usage.*"]
    return "\n".join(lines)
