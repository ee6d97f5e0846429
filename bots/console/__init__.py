"""The terminal front end: the quickest way to try the bot, and a fair demo of the core."""
