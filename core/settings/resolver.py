"""The one settings order, for every reader and writer: conversation > the conversation's assistant > user >
channel > workspace > configured default. What `/model` and `/settings` show and what an answer sends come from
here, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.config import Settings
from core.errors import InvalidSetting, NotAllowed
from core.keys import Actor, ConversationKey
from core.models.catalog import ModelCatalog
from core.models.omni import OMNI, fallbacks_for, is_omni, parse_models, pick_route, route_models
from core.records import Assistant, Scope
from core.settings.options import OPTIONS, PLACE_SCOPES, Generation, apply_provider, parse_option
from core.settings.places import place_of
from core.store.base import Store

OMNI_LAST_RESORT = "openai/gpt-oss-120b"  # omni with every route emptied by configuration


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
    clarify: bool = True  # the model may ask a clarifying question (an admin can turn it off for the workspace)

    @property
    def model(self) -> str:
        return self.models[0]


class Preferences:
    """Stores and resolves options; the model itself goes through `SettingsService.set_model`."""

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
        clarify, _ = await self.resolve("clarify", key, user_id, conversation_id)
        parts = (self.settings.system_prompt, system_prompt or "", assistant.instructions if assistant else "")
        return AnswerPlan(
            models=models,
            generation=await self.generation(key, user_id, conversation_id, assistant),
            system_prompt="\n\n".join(p for p in parts if p),
            assistant=assistant,
            route=route,
            notes=notes,
            web_search=web_search,
            clarify=clarify != "off",
        )
