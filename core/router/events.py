"""What the router client is asked (`ChatRequest`) and the events its stream yields: text, reasoning, the model
that started, tool calls asked for, tool progress, the end."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class TextDelta:
    text: str


@dataclass(slots=True)
class ReasoningDelta:
    text: str


@dataclass(slots=True)
class Finished:
    reason: str | None  # "stop", "length", ... or None when the provider never said
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass(slots=True)
class StreamStarted:
    model: str
    provider: str  # from the x-inference-provider header, "" when absent


@dataclass(slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text as the model wrote it (may be invalid)


@dataclass(slots=True)
class ToolCallsRequested:
    """The model asked for tools instead of (or after) answering; sent just before `Finished`."""

    calls: list[ToolCall]
    text: str = ""  # what the model wrote alongside the calls, for the follow-up request


@dataclass(frozen=True, slots=True)
class ToolProgress:
    """One tool call as it happens, for a platform that shows tasks (Slack's task_update chunks): `status` is
    "in_progress", "complete" or "error"; `sources` the (title, URL) pairs it read; `detail` why it failed."""

    id: str
    title: str
    status: str
    sources: tuple[tuple[str, str], ...] = ()
    detail: str = ""
    # which of the model's turns asked for it: the calls of one step were asked for together (the model planned them)
    step: int = 0


@dataclass(slots=True)
class ToolActivity:
    """What the tools are doing now ("" when done), a compact line shown under the answer while streaming; `tasks`
    the same calls one by one, with their status (each ToolActivity says the newest state of the calls it names)."""

    text: str
    tasks: tuple[ToolProgress, ...] = ()


StreamEvent = TextDelta | ReasoningDelta | Finished | StreamStarted | ToolCallsRequested | ToolActivity


@dataclass(slots=True)
class ChatRequest:
    model: str
    messages: list[dict]
    max_tokens: int
    temperature: float | None = None
    top_p: float | None = None
    extra: dict = field(default_factory=dict)  # sent as extra body fields, e.g. reasoning_effort
    max_retries: int | None = None  # None: the client's default; 0 when a fallback model is waiting
    tools: list[dict] | None = None  # OpenAI function-calling specs
    tool_choice: str | None = None
    # a person's own Hugging Face token (core.accounts); None: the client's (HF_TOKEN). Never in a repr or a log.
    token: str | None = field(default=None, repr=False)
    bill_to: str | None = None  # the organization billed (X-HF-Bill-To)
