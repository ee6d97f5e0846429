"""Settings people choose besides the model: generation settings, system prompt, provider, omni routes.

Every option is a named setting in the store, resolved like the model:
conversation > the conversation's assistant > user > channel > workspace > configured default.
Values are validated when set, so what is stored is always sendable.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from core.config import Settings
from core.errors import InvalidSetting, NotAllowed
from core.keys import Actor, ConversationKey
from core.models import POLICY_SUFFIXES, ModelCatalog, split_suffix
from core.omni import OMNI, ROUTES, fallbacks_for, is_omni, parse_models, pick_route, route_models
from core.store.base import Assistant, Scope, Store
from core.store.snapshot import place_of

CLEAR_WORDS = frozenset({"", "default", "reset", "unset", "clear"})
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high")
PROVIDER_AUTO = "auto"  # the router picks the fastest provider
OMNI_LAST_RESORT = "openai/gpt-oss-120b"  # omni with every route emptied by configuration
MAX_SYSTEM_PROMPT = 8000
ALL_SCOPES = (Scope.CONVERSATION, Scope.USER, Scope.CHANNEL, Scope.WORKSPACE)
PLACE_SCOPES = (Scope.CHANNEL, Scope.WORKSPACE)
# generation settings an assistant may carry besides its model
ASSISTANT_OPTIONS = ("temperature", "top_p", "max_tokens", "reasoning_effort", "provider")


def _number(low: float, high: float, *, integer: bool = False, low_open: bool = False) -> Callable:
    def parse(raw: str, catalog: ModelCatalog, name: str) -> str:
        try:
            value = int(raw) if integer else float(raw)
        except ValueError:
            kind = "a whole number" if integer else "a number"
            raise InvalidSetting(f"`{name}` takes {kind} from {low:g} to {high:g}.") from None
        if not math.isfinite(value) or value > high or value < low or (low_open and value == low):
            bound = f"above {low:g}" if low_open else f"from {low:g}"
            raise InvalidSetting(f"`{name}` must be {bound} to {high:g}; `{raw}` is out of range.")
        return str(value)

    return parse


def _choice(*choices: str) -> Callable:
    def parse(raw: str, catalog: ModelCatalog, name: str) -> str:
        value = raw.lower()
        if value not in choices:
            raise InvalidSetting(f"`{name}` is one of {', '.join(f'`{c}`' for c in choices)}.")
        return value

    return parse


def _text(raw: str, catalog: ModelCatalog, name: str) -> str:
    if len(raw) > MAX_SYSTEM_PROMPT:
        raise InvalidSetting(f"`{name}` is {len(raw):,} characters; the limit is {MAX_SYSTEM_PROMPT:,}.")
    return raw


def _provider(raw: str, catalog: ModelCatalog, name: str) -> str:
    value = raw.lower().removeprefix(":")
    if value == PROVIDER_AUTO or value in POLICY_SUFFIXES:
        return value
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,63}", value):
        raise InvalidSetting(f"`{raw[:80]}` is not a provider name.")
    known = sorted({p.name for m in catalog.models for p in m.providers if p.name})
    if known and value not in known:
        close = difflib.get_close_matches(value, known, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(f'`{c}`' for c in close)}?" if close else ""
        raise InvalidSetting(
            f"No model on the router is served by `{value}`.{hint} Or use auto, fastest, cheapest, preferred."
        )
    return value


def _route(raw: str, catalog: ModelCatalog, name: str) -> str:
    names = parse_models(raw)
    if not names:
        raise InvalidSetting(f"`{name}` is a comma-separated list of models.")
    return ",".join(catalog.validate(n) for n in names if not is_omni(n))


@dataclass(frozen=True, slots=True)
class Option:
    name: str
    help: str
    parse: Callable[[str, ModelCatalog, str], str]
    scopes: tuple[Scope, ...] = ALL_SCOPES


OPTIONS: dict[str, Option] = {
    option.name: option
    for option in (
        Option("temperature", "randomness, 0 to 2", _number(0, 2)),
        Option("top_p", "nucleus sampling, above 0 to 1", _number(0, 1, low_open=True)),
        Option("max_tokens", "longest answer in tokens, 16 to 200000", _number(16, 200_000, integer=True)),
        Option("reasoning_effort", "none, minimal, low, medium or high", _choice(*REASONING_EFFORTS)),
        Option("system_prompt", "instructions added to every answer", _text),
        Option("web_search", "on or off: let models with tools search the web and read links", _choice("on", "off")),
        Option(
            "provider",
            "auto (fastest), cheapest, preferred or a provider's name",
            _provider,
            (Scope.USER, Scope.CHANNEL, Scope.WORKSPACE),
        ),
        *(Option(f"omni_{route}", f"omni's {route} route: models in order", _route, PLACE_SCOPES) for route in ROUTES),
    )
}


def parse_option(name: str, raw: str, catalog: ModelCatalog) -> str | None:
    """The value to store for an option (None clears it); InvalidSetting for a bad name or value."""
    option = OPTIONS.get(name.strip().lower())
    if option is None:
        raise InvalidSetting(f"There is no setting `{name[:40]}`. Settings: {', '.join(OPTIONS)}.")
    raw = raw.strip()
    if raw.lower() in CLEAR_WORDS:
        return None
    return option.parse(raw, catalog, option.name)


def apply_provider(model: str, provider: str | None, catalog: ModelCatalog) -> str:
    """Add the preferred provider as the model's suffix, unless the model already names one.

    A named provider that does not serve this model is skipped (the router chooses), rather than
    sending a request bound to fail.
    """
    base, suffix = split_suffix(model)
    if suffix or not provider or is_omni(model):
        return model
    if provider == PROVIDER_AUTO:
        return f"{base}:fastest"
    if provider in POLICY_SUFFIXES:
        return f"{base}:{provider}"
    info = catalog.get(base)
    if info is not None and info.providers and provider not in {p.name for p in info.providers}:
        return model
    return f"{base}:{provider}"


@dataclass(frozen=True, slots=True)
class Generation:
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    reasoning_effort: str | None = None

    def extra_body(self) -> dict:
        """Fields the OpenAI SDK has no parameter for; reasoning effort only when someone set it."""
        return {"reasoning_effort": self.reasoning_effort} if self.reasoning_effort else {}


@dataclass(slots=True)
class AnswerPlan:
    """Everything `_answer` needs to build the request, decided before the first token."""

    models: list[str]  # candidates in order; the first is asked first
    generation: Generation
    system_prompt: str
    assistant: Assistant | None = None
    route: str = ""  # omni's route, "" for a chosen model
    notes: list[str] = field(default_factory=list)
    web_search: bool = False  # the assistant may search, or someone set web_search on (off wins)

    @property
    def model(self) -> str:
        return self.models[0]


class Preferences:
    """Stores and resolves options; the model itself goes through `ChatService.set_model`."""

    def __init__(self, settings: Settings, store: Store, catalog: ModelCatalog):
        self.settings = settings
        self.store = store
        self.catalog = catalog

    async def set(
        self,
        actor: Actor,
        key: ConversationKey,
        scope: Scope,
        name: str,
        raw: str | None,
        conversation_id: int | None = None,
    ) -> str | None:
        """Validate and store an option at a scope (owner checks for a conversation are the caller's)."""
        name = name.strip().lower()
        value = parse_option(name, raw or "", self.catalog)
        option = OPTIONS[name]
        if scope not in option.scopes:
            where = ", ".join(s.value for s in option.scopes)
            raise InvalidSetting(f"`{name}` can be set for: {where}.")
        if scope in PLACE_SCOPES and not actor.is_admin:
            raise NotAllowed(f"Only an admin can set `{name}` for the {scope.value}.")
        if scope is Scope.CONVERSATION and conversation_id is None:
            raise InvalidSetting("There is no conversation here yet.")
        workspace, scope_id = place_of(key, scope, actor.user_id, conversation_id)
        await self.store.set_setting(key.platform, workspace, scope, scope_id, name, value)
        return value

    async def resolve(
        self,
        name: str,
        key: ConversationKey,
        user_id: str,
        conversation_id: int | None = None,
        assistant: Assistant | None = None,
    ) -> tuple[str | None, str]:
        """(value, where it came from): a scope's name, "assistant", or "" when unset."""
        layers: list[Scope | str] = [Scope.CONVERSATION] if conversation_id is not None else []
        layers += ["assistant", Scope.USER, Scope.CHANNEL]
        if key.workspace:
            layers.append(Scope.WORKSPACE)
        for layer in layers:
            if layer == "assistant":
                value = assistant.option(name) if assistant is not None else None
            else:
                workspace, scope_id = place_of(key, layer, user_id, conversation_id)
                value = await self.store.get_setting(key.platform, workspace, layer, scope_id, name)
            if value is not None:
                return value, str(layer)
        return None, ""

    async def listing(
        self, key: ConversationKey, user_id: str, conversation_id: int | None, assistant: Assistant | None
    ) -> list[tuple[str, str | None, str]]:
        """(name, value, where) for the model and every option, for `/set` with no arguments."""
        rows = []
        for name in ("model", *OPTIONS):
            value, where = await self.resolve(name, key, user_id, conversation_id, assistant)
            if value is None and name == "model":
                value, where = self.settings.default_model, "default"
            elif value is None and name == "max_tokens":
                value, where = str(self.settings.max_tokens), "default"
            elif value is None and name.startswith("omni_"):
                value, where = ",".join(parse_models(getattr(self.settings, f"{name}_models"))), "default"
            rows.append((name, value, where))
        return rows

    async def generation(
        self, key: ConversationKey, user_id: str, conversation_id: int | None, assistant: Assistant | None
    ) -> Generation:
        values = {}
        for name in ("temperature", "top_p", "max_tokens", "reasoning_effort"):
            values[name], _ = await self.resolve(name, key, user_id, conversation_id, assistant)
        return Generation(
            temperature=float(values["temperature"]) if values["temperature"] is not None else None,
            top_p=float(values["top_p"]) if values["top_p"] is not None else None,
            max_tokens=int(values["max_tokens"]) if values["max_tokens"] is not None else self.settings.max_tokens,
            reasoning_effort=values["reasoning_effort"],
        )

    async def plan(
        self,
        key: ConversationKey,
        user_id: str,
        conversation_id: int | None,
        assistant: Assistant | None,
        *,
        has_images: bool = False,
    ) -> AnswerPlan:
        """The models to try, the generation settings and the system prompt for one answer."""
        model, _ = await self.resolve("model", key, user_id, conversation_id, assistant)
        model = model or self.settings.default_model
        provider, _ = await self.resolve("provider", key, user_id, conversation_id, assistant)
        route, notes = "", []
        web, _ = await self.resolve("web_search", key, user_id, conversation_id, assistant)
        web_search = web == "on" or (web is None and bool(assistant and assistant.web_search))
        if is_omni(model):
            route = pick_route(has_images=has_images, tools_enabled=web_search)
            configured, _ = await self.resolve(f"omni_{route}", key, user_id, conversation_id)
            models = route_models(route, configured or getattr(self.settings, f"omni_{route}_models"), self.catalog)
            if not models and route != "default":
                route = "default"
                configured, _ = await self.resolve("omni_default", key, user_id, conversation_id)
                models = route_models(route, configured or self.settings.omni_default_models, self.catalog)
            if not models:  # nothing configured at all: the one model we know exists
                models = [OMNI_LAST_RESORT]
            models = [apply_provider(m, provider, self.catalog) for m in models]
            notes.append(f"🔀 *{OMNI} · {route} route → `{models[0]}`*")
        else:  # a chosen model fails over like omni's routes, to FALLBACK_MODELS (default: omni's default route)
            configured = self.settings.fallback_models
            if not configured.strip():
                configured, _ = await self.resolve("omni_default", key, user_id, conversation_id)
                configured = configured or self.settings.omni_default_models
            models = [model, *fallbacks_for(model, configured, self.catalog)]
            models = [apply_provider(m, provider, self.catalog) for m in models]
        system_prompt, _ = await self.resolve("system_prompt", key, user_id, conversation_id)
        parts = (self.settings.system_prompt, system_prompt or "", assistant.instructions if assistant else "")
        return AnswerPlan(
            models=models,
            generation=await self.generation(key, user_id, conversation_id, assistant),
            system_prompt="\n\n".join(p for p in parts if p),
            assistant=assistant,
            route=route,
            notes=notes,
            web_search=web_search,
        )
