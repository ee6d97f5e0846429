"""The Discord front end: a thin adapter from discord.py events to `core` calls."""

PLATFORM = "discord"
