"""What the fake router streams in a benchmark run: answers made of tokens, and how they are timed.

Answers are built from a fixed vocabulary (plain words, accented and CJK words, an emoji, Markdown bold and
inline code) so "the final text equals the model's text byte for byte" is tested on more than ASCII. Nothing
in it is something the adapters rewrite on purpose (Slack's mention guards touch only `<!`, `<@` and
`@here`-like words), so any difference on the platform is a real loss.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

VOCABULARY = (
    "the model writes an answer that streams into the thread while people read it as it grows "
    "rate limits decide when text appears every platform has its own budget and the bot must share it "
    "café naïve résumé déjà vu smörgåsbord 日本語 中文 한국어 🙂 **bold** `code` (see above), note: 42 3.14 "
    "first second third because therefore however meanwhile latency throughput fairness budget"
).split()


@dataclass(frozen=True)
class StreamProfile:
    """How one answer streams: time to first token, pace, chunking and jitter (the fake router's schedule)."""

    tokens: int = 300  # tokens per answer (~5.5 characters each: 300 stays under Discord's 2,000)
    ttft: float = 0.4  # seconds from the request to the first token
    tokens_per_second: float = 20.0
    tokens_per_chunk: tuple[int, int] = (1, 3)  # each SSE chunk carries a random number of tokens in this range
    jitter: float = 0.3  # each chunk moves by up to this fraction of its nominal gap
    seed: int = 7

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> StreamProfile:
        values = dict(data)
        values["tokens_per_chunk"] = tuple(values.get("tokens_per_chunk", (1, 3)))
        return cls(**values)

    @property
    def seconds(self) -> float:
        """How long one answer streams."""
        return self.ttft + self.tokens / self.tokens_per_second


def answer_tokens(index: int, profile: StreamProfile) -> list[str]:
    """The tokens of answer `index`: a leading marker word, then words from the vocabulary, space-separated."""
    rng = random.Random(profile.seed * 1_000_003 + index)
    words = [f"Answer{index}"] + [rng.choice(VOCABULARY) for _ in range(profile.tokens - 1)]
    return [words[0]] + [" " + w for w in words[1:]]


def prompt(index: int) -> str:
    """The user's message for conversation `index`; the marker lets the fakes pair requests and threads."""
    return f"[bench {index}] please answer"
