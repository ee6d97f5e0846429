"""The Discord front end: a thin adapter from discord.py events to `core` calls.

app (build and run) · client (who acts, where, and how an answer is handed to the core) · events (messages, edits,
deletions) · interrupted (answers a dead process left, closed in place) · tree (each command once, refusals, sync
only on change) · commands/ (the registry's commands, by family) · buttons (persistent reply buttons) · sink (the
streaming engine's calls to Discord).
"""

PLATFORM = "discord"
