"""The router's model list: cached, refreshed in the background, enriched by a curated override file."""

from __future__ import annotations

import asyncio
import difflib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import RouterError, UnknownModel

log = logging.getLogger(__name__)

DEFAULT_CONTEXT = 8192
# Provider suffixes the router understands besides a provider's own name.
POLICY_SUFFIXES = ("fastest", "cheapest", "preferred")


@dataclass(slots=True)
class ProviderInfo:
    name: str
    status: str = ""
    context_length: int | None = None
    input_price: float | None = None  # per million tokens
    output_price: float | None = None
    supports_tools: bool | None = None


@dataclass(slots=True)
class ModelInfo:
    id: str
    providers: list[ProviderInfo] = field(default_factory=list)
    context_length: int | None = None  # the largest any provider serves (what the model can do somewhere)
    vision: bool = False
    tools: bool = False
    context_override: int | None = None  # set by the overrides file (or the local server): the one window

    @property
    def context_window(self) -> int:
        """The window a request may count on when the router picks the provider: the smallest one."""
        return self.window_for("")

    def window_for(self, suffix: str) -> int:
        """The context a request to `model:suffix` may fill. A provider's name pins that provider, whose own
        window counts; otherwise (no suffix, :fastest, :cheapest, :preferred) any live provider may serve it,
        so the smallest window among them is the only safe one."""
        if self.context_override:
            return self.context_override
        windows = {p.name: p.context_length for p in self.providers if _positive(p.context_length)}
        if suffix in windows:
            return windows[suffix]
        live = [w for p in self.providers if p.status in ("", "live") and (w := windows.get(p.name))]
        if live or windows:
            return min(live or windows.values())
        return self.context_length or DEFAULT_CONTEXT

    @property
    def smallest_context(self) -> int | None:
        """The window counted when the router picks the provider (None when nothing says)."""
        known = self.context_override or self.context_length or any(_positive(p.context_length) for p in self.providers)
        return self.window_for("") if known else None


def _positive(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def parse_model(entry: dict, override: dict | None = None) -> ModelInfo:
    """Keep what the router reports (HF router: `providers`, `architecture`), then apply overrides."""
    providers = []
    for raw in entry.get("providers") or []:
        if not isinstance(raw, dict):
            continue
        pricing = raw.get("pricing") or {}
        providers.append(
            ProviderInfo(
                name=str(raw.get("provider", "")),
                status=str(raw.get("status", "")),
                context_length=raw.get("context_length"),
                input_price=pricing.get("input"),
                output_price=pricing.get("output"),
                supports_tools=raw.get("supports_tools"),
            )
        )
    contexts = [p.context_length for p in providers if _positive(p.context_length)]
    meta = entry.get("meta") or {}
    context = max(contexts) if contexts else entry.get("context_length") or meta.get("n_ctx")
    modalities = (entry.get("architecture") or {}).get("input_modalities") or []
    info = ModelInfo(
        id=str(entry["id"]),
        providers=providers,
        context_length=context if isinstance(context, int) else None,
        vision="image" in modalities,
        tools=any(p.supports_tools for p in providers),
    )
    for name, value in (override or {}).items():
        if name in ("context_length", "vision", "tools"):
            setattr(info, name, value)
        if name == "context_length" and _positive(value):
            info.context_override = value
    return info


def split_suffix(name: str) -> tuple[str, str]:
    """`org/model:groq` -> ("org/model", "groq")."""
    base, _, suffix = name.partition(":")
    return base, suffix


class ModelCatalog:
    """What models exist and what they can do. Never blocks a chat on a refresh."""

    def __init__(self, router, overrides_file: Path | None = None, refresh_seconds: float = 600.0):
        self.router = router
        self.refresh_seconds = refresh_seconds
        self.overrides = self._load_overrides(overrides_file)
        self._models: dict[str, ModelInfo] = {}
        self._lower: dict[str, str] = {}
        self.loaded_at = 0.0
        self._task: asyncio.Task | None = None

    @staticmethod
    def _load_overrides(path: Path | None) -> dict[str, dict]:
        if path is None or not path.exists():
            return {}
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("ignoring model overrides file %s: %s", path, exc)
            return {}
        return {k: v for k, v in data.items() if isinstance(v, dict) and not k.startswith("_")}

    @property
    def models(self) -> list[ModelInfo]:
        return list(self._models.values())

    def ids(self) -> list[str]:
        return list(self._models)

    async def refresh(self) -> None:
        entries = await self.router.list_models()
        models = {}
        for entry in entries:
            if isinstance(entry, dict) and entry.get("id"):
                info = parse_model(entry, self.overrides.get(entry["id"]))
                models[info.id] = info
        self._models = models
        self._lower = {name.lower(): name for name in models}
        self.loaded_at = time.time()

    async def start(self) -> None:
        """Load once (a failure is logged, not fatal) and keep refreshing in the background."""
        try:
            await self.refresh()
        except RouterError as exc:
            log.warning("model list unavailable at start (%s); names are not validated until it loads", exc.kind)
        self._task = asyncio.create_task(self._refresh_loop(), name="model-catalog-refresh")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_seconds if self._models else min(30.0, self.refresh_seconds))
            try:
                await self.refresh()
            except Exception as exc:  # keep serving the last good list
                log.warning("model list refresh failed: %s", type(exc).__name__)

    def get(self, name: str) -> ModelInfo | None:
        base, _ = split_suffix(name)
        canonical = self._lower.get(base.lower())
        if canonical:
            return self._models[canonical]
        override = self.overrides.get(base)
        return parse_model({"id": base}, override) if override else None

    def context_window(self, name: str) -> int:
        """The context a request to `name` (with its provider suffix, if any) may fill."""
        info = self.get(name)
        return info.window_for(split_suffix(name)[1]) if info else DEFAULT_CONTEXT

    def validate(self, name: str) -> str:
        """The canonical spelling of a model name (suffix kept), or UnknownModel with suggestions."""
        name = name.strip()
        base, suffix = split_suffix(name)
        if not base or len(name) > 200 or any(ch.isspace() or ord(ch) < 32 for ch in name):
            raise UnknownModel(name[:100], [])
        if not self._models:
            return name  # list not loaded: let the router be the judge
        canonical = self._lower.get(base.lower())
        if canonical is None:
            raise UnknownModel(name, self.suggest(base))
        return f"{canonical}:{suffix}" if suffix else canonical

    def suggest(self, text: str, limit: int = 5) -> list[str]:
        """Closest names: substring matches first, then fuzzy ones."""
        needle = text.lower().strip()
        if not needle:
            return self.ids()[:limit]
        names = self.ids()
        contains = [n for n in names if needle in n.lower()]
        short = {n.split("/")[-1].lower(): n for n in names}
        fuzzy = [short[m] for m in difflib.get_close_matches(needle.split("/")[-1], list(short), n=limit, cutoff=0.4)]
        fuzzy += difflib.get_close_matches(needle, [n.lower() for n in names], n=limit, cutoff=0.4)
        ordered: list[str] = []
        for name in contains + [self._lower.get(n, n) for n in fuzzy]:
            if name not in ordered:
                ordered.append(name)
        return ordered[:limit]


def format_price(value: float) -> str:
    """USD per million tokens: two decimals, three under ten cents."""
    return f"${value:,.2f}" if value >= 0.1 else f"${value:,.3f}"


def provider_prices(info: ModelInfo) -> list[str]:
    """Each provider with its price per million tokens in/out ("groq $0.59/$0.79"), the name alone if unpriced."""
    shown = []
    for provider in info.providers:
        if provider.input_price is not None and provider.output_price is not None:
            shown.append(f"{provider.name} {format_price(provider.input_price)}/{format_price(provider.output_price)}")
        elif provider.name:
            shown.append(provider.name)
    return shown


def describe_model(info: ModelInfo) -> str:
    """One model in one Markdown line: context, providers with prices per million tokens in/out, vision, tools."""
    parts = [f"`{info.id}`", context_range(info)]
    if providers := provider_prices(info):
        parts.append(", ".join(providers))
    if info.vision:
        parts.append("👁 vision")
    if info.tools:
        parts.append("🛠 tools")
    return " · ".join(parts)


def context_range(info: ModelInfo) -> str:
    """The context as people read it: "131,072 tokens", or "32,768–131,072 tokens" when providers differ
    (the smaller counts unless a provider is pinned)."""
    largest, smallest = info.context_override or info.context_length, info.smallest_context
    if not largest:
        return "context unknown"
    if smallest and smallest != largest:
        return f"{smallest:,}–{largest:,} tokens"
    return f"{largest:,} tokens"


def matching_models(catalog: ModelCatalog, needle: str = "") -> list[ModelInfo]:
    """The catalog's models whose id contains `needle` (any case), in the router's order."""
    needle = needle.strip().lower()
    return [info for info in catalog.models if needle in info.id.lower()]
