"""Scheduled prompts: a prompt answered on a schedule in a channel, each run in a fresh thread."""
