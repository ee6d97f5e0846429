"""Omni: a virtual model that picks a route per message, and failover along that route (or, for a model
chosen by name, along its fallbacks: the same path).

Policy, in order: a message with images takes the vision route, a conversation whose assistant may
use tools (web search) takes the tools route, anything else the default route. Each route is an
ordered list of models (config `OMNI_*_MODELS`, or an admin's channel/workspace setting). When a model
fails before its first token with an error another model may not share (5xx, 429, not served,
timeout, a cut before any token), the next model of the route answers and the user is told; errors
about the account (401, 402, 403) or the request itself are never failed over.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator, Callable

from core.errors import RouterError
from core.models.catalog import ModelCatalog, split_suffix
from core.router.client import ChatRequest, ReasoningDelta, StreamEvent, StreamStarted, TextDelta

OMNI = "omni"
NO_FALLBACK = frozenset({"none", "off"})
ROUTES = ("default", "vision", "tools")
FAILOVER_KINDS = frozenset({"provider_down", "rate_limited", "unknown_model", "timeout", "stream_cut"})
# errors a provider reports inside its stream that a moment later may not repeat: the last model is asked once more
RETRY_IN_STREAM = frozenset({"provider_down", "rate_limited"})
IN_STREAM_RETRY_SECONDS = 1.0
_REASONS = {
    "provider_down": "its provider is having trouble",
    "rate_limited": "it is rate limited",
    "unknown_model": "it is not served right now",
    "timeout": "it did not answer in time",
    "stream_cut": "its connection was cut",
    "context": "the conversation is too long for it",
    "bad_request": "it refused the request",
    "tool_failed": "its tool call failed",
}


def is_omni(name: str | None) -> bool:
    return bool(name) and name.strip().lower() == OMNI


def pick_route(*, has_images: bool = False, tools_enabled: bool = False) -> str:
    if has_images:
        return "vision"
    if tools_enabled:
        return "tools"
    return "default"


def parse_models(text: str | None) -> list[str]:
    """`a, b\nc` -> [a, b, c], duplicates dropped, order kept."""
    names: list[str] = []
    for name in re.split(r"[,\s]+", text or ""):
        if name and name not in names:
            names.append(name)
    return names


def route_models(route: str, configured: str, catalog: ModelCatalog) -> list[str]:
    """The route's models the router serves (all of them while the model list is not loaded).

    On the vision route a model the catalog knows to be text-only is skipped, unless nothing else is left.
    """
    names = [n for n in parse_models(configured) if not is_omni(n)]
    if not catalog.models:
        return names
    known = [n for n in names if catalog.get(n) is not None]
    if route == "vision":
        known = [n for n in known if catalog.get(n).vision] or known
    return known or names


def fallbacks_for(model: str, configured: str, catalog: ModelCatalog) -> list[str]:
    """The models that stand in for a chosen `model`: `configured` as a route, without `model` itself.

    "none" or "off" means no failover for chosen models.
    """
    if configured.strip().lower() in NO_FALLBACK:
        return []
    base = split_suffix(model)[0].lower()
    return [m for m in route_models("default", configured, catalog) if split_suffix(m)[0].lower() != base]


def standing_in(
    models: list[str],
    catalog: ModelCatalog,
    *,
    allowed: Callable[[str], bool] | None = None,
    tools: bool = False,
    vision: bool = False,
    prompt_tokens: int = 0,
) -> list[str]:
    """`models[0]`, then those of the others that can take its place in this answer.

    A fallback must be allowed here, support tools when the answer runs them (their specs are in the
    request) and see images when the first model would have, and its context must hold the prompt,
    which was fitted to the first model's window.
    """

    def usable(name: str) -> bool:
        info = catalog.get(name)
        if allowed is not None and not allowed(name):
            return False
        if (tools and not (info and info.tools)) or (vision and not (info and info.vision)):
            return False
        return info is None or catalog.context_window(name) > prompt_tokens

    return models[:1] + [m for m in models[1:] if usable(m)]


def can_fail_over(error: RouterError) -> bool:
    return error.before_first_token and error.kind in FAILOVER_KINDS


Failures = list[tuple[str, RouterError]]  # (model, why it could not answer), in the order they were asked


def _why(error: RouterError) -> str:
    reason = _REASONS.get(error.kind, "it failed")
    return f"{reason} ({error.status})" if error.status else reason


def failover_note(failures: Failures, answered_by: str) -> str:
    """The note under an answer a stand-in wrote: each model that could not answer, and the one that did."""
    failed = " ".join(f"`{model}` could not answer: {_why(error)}." for model, error in failures)
    return f"↪️ *{failed} `{answered_by}` answered instead.*"


def none_answered(failures: Failures) -> RouterError:
    """One error for an answer every model failed: what was tried, then the last error as it was."""
    last = failures[-1][1]
    tried = ", ".join(f"`{model}` ({_why(error)})" for model, error in failures)
    error = RouterError(
        last.kind, f"None of the models could answer. Tried {tried}. The last error: {last}", status=last.status
    )
    error.retry_after = last.retry_after
    return error


async def failover_stream(
    router,
    request: ChatRequest,
    models: list[str],
    on_failover: Callable[[Failures, str], None] | None = None,
) -> AsyncIterator[StreamEvent]:
    """`router.stream_chat` over `models` in order: the next one answers when one fails before its first token.

    A model is announced (its `StreamStarted`, and `on_failover(failures, model)` for a stand-in) only once it
    produces something, so nothing credits a model that never answered. When every model fails, the error
    lists each. While another model is waiting, a failing one is not retried (the next model is the retry);
    the last one keeps the client's usual retries.
    """
    models = models or [request.model]
    failures: Failures = []
    index, retried = 0, False
    while index < len(models):
        model = models[index]
        last = index == len(models) - 1
        attempt = dataclasses.replace(request, model=model, max_retries=None if last else 0)
        started = False
        held: StreamStarted | None = None
        try:
            async for event in router.stream_chat(attempt):
                if isinstance(event, StreamStarted):
                    held = event
                    continue
                if held is not None:  # this model answers
                    if failures and on_failover is not None:
                        on_failover(list(failures), model)
                    yield held
                    held = None
                if isinstance(event, (TextDelta, ReasoningDelta)):
                    started = True
                yield event
            return
        except RouterError as error:
            if started:
                raise
            if last and not retried and error.in_stream and error.kind in RETRY_IN_STREAM:
                # the client retries HTTP errors itself, not what a provider says inside a 200 stream
                retried = True
                await asyncio.sleep(min(error.retry_after or IN_STREAM_RETRY_SECONDS, 5.0))
                continue
            if last or not can_fail_over(error):
                if failures:
                    raise none_answered([*failures, (model, error)]) from error
                raise
            failures.append((model, error))
            index += 1
