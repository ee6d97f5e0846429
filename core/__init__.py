"""Platform-free heart of the bot: conversations, models, streaming replies and storage.

Nothing under core/ may import discord, slack_bolt or slack_sdk; adapters under bots/ do that.
"""

from core import logs as _logs  # noqa: F401  (caps payload-logging libraries at import)
