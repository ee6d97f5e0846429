"""Token counts without the model's tokenizer, for fitting prompts and for usage a provider did not report."""

from __future__ import annotations


def estimate_tokens(text: str) -> int:
    """A conservative count without the model's tokenizer: ~3 characters per token.

    Router models use many tokenizers; over-estimating drops an old message a little early instead of
    having the provider reject the request for overflowing its context.
    """
    return len(text) // 3 + 1
