"""Limits a workspace's admins set: messages a minute and tokens a day per person, the longest message,
and which models may be used. Each refusal says when the person can continue.

Limits are stored as workspace settings (`limit_*`), so every process sharing the database sees them.
Messages per minute are counted in this process's memory (a sliding window): with several processes
each allows the rate on its own, which is an acceptable overshoot for a fairness limit. Tokens per day
come from the recorded usage (UTC days), which every process shares.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from core.errors import InvalidSetting, NotAllowed, UserFacingError
from core.keys import Actor, ConversationKey
from core.models.catalog import ModelCatalog, split_suffix
from core.models.omni import OMNI, is_omni, parse_models
from core.records import Scope
from core.store.base import Store

DAY = 86400.0
NAMES = ("messages_per_minute", "tokens_per_day", "max_message_chars", "allowed_models")


class LimitReached(UserFacingError):
    """A workspace limit stops this message; the text says which, and when the person can continue."""


@dataclass(slots=True)
class WorkspaceLimits:
    messages_per_minute: int | None = None
    tokens_per_day: int | None = None
    max_message_chars: int | None = None
    allowed_models: list[str] = field(default_factory=list)  # empty: every model

    def describe(self) -> str:
        def show(value) -> str:
            return f"{value:,}" if value else "no limit"

        models = ", ".join(f"`{m}`" for m in self.allowed_models) or "all models"
        return "\n".join(
            [
                f"• messages per minute per person: {show(self.messages_per_minute)}",
                f"• tokens per day per person: {show(self.tokens_per_day)}",
                f"• longest message in characters: {show(self.max_message_chars)}",
                f"• allowed models: {models}",
            ]
        )


def _wait(seconds: float) -> str:
    seconds = max(1, int(seconds + 0.999))
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = (seconds + 59) // 60
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class LimitsService:
    def __init__(self, store: Store, catalog: ModelCatalog, clock=time.time):
        self.store = store
        self.catalog = catalog
        self.clock = clock
        self._recent: dict[tuple[str, str, str], deque[float]] = defaultdict(deque)

    async def get(self, platform: str, workspace: str) -> WorkspaceLimits:
        limits = WorkspaceLimits()
        if not workspace:
            return limits  # DMs outside any workspace: nobody administers them
        for name in NAMES:
            value = await self.store.get_setting(platform, workspace, Scope.WORKSPACE, workspace, f"limit_{name}")
            if value is None:
                continue
            if name == "allowed_models":
                limits.allowed_models = parse_models(value)
            else:
                setattr(limits, name, int(value))
        return limits

    async def set(self, actor: Actor, key: ConversationKey, name: str, raw: str | None) -> WorkspaceLimits:
        """Set (or with an empty value, clear) one limit of the actor's workspace; admins only."""
        if not key.workspace:
            raise NotAllowed("Limits apply to a workspace or server; there is none here.")
        if not actor.is_admin or actor.workspace != key.workspace:
            raise NotAllowed("Only an admin of this workspace can change its limits.")
        name = name.strip().lower().replace("-", "_")
        if name not in NAMES:
            raise InvalidSetting(f"Unknown limit `{name[:40]}`. Limits: {', '.join(f'`{n}`' for n in NAMES)}.")
        value = (raw or "").strip()
        if value.lower() in ("", "none", "off", "0", "all", "unlimited"):
            stored = None
        elif name == "allowed_models":
            names = [OMNI if is_omni(m) else self.catalog.validate(m) for m in parse_models(value)]
            stored = ",".join(names) or None
        else:
            try:
                number = int(value.replace(",", "").replace("_", ""))
            except ValueError:
                raise InvalidSetting(f"`{name}` takes a whole number (0 or `none` removes it).") from None
            if number < 0 or number > 1_000_000_000:
                raise InvalidSetting(f"`{name}` must be between 0 and 1,000,000,000.")
            stored = str(number) if number else None
        await self.store.set_setting(
            key.platform, key.workspace, Scope.WORKSPACE, key.workspace, f"limit_{name}", stored
        )
        return await self.get(key.platform, key.workspace)

    @staticmethod
    def model_allowed(limits: WorkspaceLimits, model: str) -> bool:
        if not limits.allowed_models:
            return True
        base = OMNI if is_omni(model) else split_suffix(model)[0].lower()
        return any(split_suffix(m)[0].lower() == base for m in limits.allowed_models)

    def check_model(self, limits: WorkspaceLimits, model: str) -> None:
        if not self.model_allowed(limits, model):
            allowed = ", ".join(f"`{m}`" for m in limits.allowed_models)
            raise LimitReached(
                f"`{model}` is not allowed in this workspace. Pick one of {allowed} with `/model`, "
                "or ask an admin to allow it."
            )

    async def check_message(
        self,
        key: ConversationKey,
        actor: Actor,
        text: str,
        model: str | list[str],
        *,
        count: int = 1,
        record: bool = True,
    ) -> None:
        """Raise LimitReached if the workspace's limits stop this message; otherwise count it."""
        limits = await self.get(key.platform, key.workspace)
        if limits.max_message_chars and len(text) > limits.max_message_chars:
            raise LimitReached(
                f"Your message is {len(text):,} characters; this workspace allows {limits.max_message_chars:,}. "
                "Shorten it and send it again."
            )
        for name in model if isinstance(model, list) else [model]:
            self.check_model(limits, name)
        now = self.clock()
        if limits.tokens_per_day:
            day_start = now - now % DAY
            rows = await self.store.usage_rows(
                key.platform, workspace=key.workspace, user_id=actor.user_id, since=day_start
            )
            used = sum(r.prompt_tokens + r.completion_tokens for r in rows)
            if used >= limits.tokens_per_day:
                raise LimitReached(
                    f"You have used {used:,} of your {limits.tokens_per_day:,} tokens for today in this workspace. "
                    f"You can continue at 00:00 UTC, in {_wait(day_start + DAY - now)}."
                )
        if limits.messages_per_minute:
            recent = self._recent[(key.platform, key.workspace, actor.user_id)]
            while recent and recent[0] <= now - 60:
                recent.popleft()
            if len(recent) + count > limits.messages_per_minute:
                wait = (recent[0] + 60 - now) if recent else 60
                raise LimitReached(
                    f"This workspace allows {limits.messages_per_minute} messages a minute per person. "
                    f"You can continue in {_wait(wait)}."
                )
            if record:  # False: only asking whether it would pass (an adapter checking before it shows anything)
                recent.extend([now] * count)
