"""`/about`: what the bot is, which model answers here, and how what people write is kept and erased, in the words
every front end shows."""

from __future__ import annotations

import importlib.metadata

from core.config import Settings
from core.settings.service import ModelChoice

PACKAGE = "hfchat-bots"


def version() -> str:
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def about_text(settings: Settings, choice: ModelChoice) -> str:
    if settings.use_local_model:
        served = "a small open model running on this machine (llama.cpp)"
    else:
        served = "open models through the Hugging Face router"
    if settings.retention_days:
        kept = f"Conversations idle for {settings.retention_days:g} days are erased on their own."
    else:
        kept = "They are kept until you erase them."
    return "\n".join(
        [
            f"**HuggingChat bot {version()}**: {served}.",
            f"Model here: `{choice.model}` ({choice.source}). Change it with `/model`.",
            "",
            "**Your data**",
            "• Conversations are stored only so you can come back to them, and never used for training. " + kept,
            "• Logs hold ids, counts and timings, never what you write or the answers.",
            "• `/delete` erases a conversation for real, `/delete all` everything stored about you; "
            "an erased thread starts fresh.",
            "• Memory is off until you turn it on (`/memory on`); it keeps only what you say yes to, for you alone, "
            "and `/memory` shows and deletes it.",
        ]
    )
