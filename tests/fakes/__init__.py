"""In-process fakes of external services (Discord, Slack, HuggingChat) for tests."""
