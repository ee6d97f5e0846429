"""Slack front end: a thin Bolt (AsyncApp) adapter over the core."""
