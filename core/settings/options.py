"""The settings people choose besides the model, defined once: their names, help, where they may be set and how
a typed value is checked. What is stored is always sendable; a bad name or value is a clear refusal.

Every option is a named setting in the store, resolved like the model (core.settings.resolver).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import InvalidSetting
from core.models.catalog import POLICY_SUFFIXES, ModelCatalog, split_suffix
from core.models.omni import ROUTES, is_omni, parse_models
from core.records import Scope

CLEAR_WORDS = frozenset({"", "default", "reset", "unset", "clear"})
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high")
PROVIDER_AUTO = "auto"  # the router picks the fastest provider
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
        Option(
            "clarify",
            "on or off: the model may ask a question with choices when a request is ambiguous (admins, per workspace)",
            _choice("on", "off"),
            (Scope.WORKSPACE,),
        ),
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
