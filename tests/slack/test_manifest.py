"""config/slack-manifest.yaml: its slash commands are the registry's (core/commands/registry.py) and every command
the bot handles, each with a description; the scopes the bot needs."""

from __future__ import annotations

from pathlib import Path

import yaml

from core.commands.registry import SLACK, commands_on

ROOT = Path(__file__).resolve().parents[2]


def test_slack_manifest_commands_are_the_registry():
    manifest = yaml.safe_load((ROOT / "config" / "slack-manifest.yaml").read_text())
    listed = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    expected = {f"/{c.name_on(SLACK)}": c for c in commands_on(SLACK) if " " not in c.name_on(SLACK)}
    assert set(listed) == set(expected)
    for name, command in expected.items():
        assert listed[name]["description"] == command.summary, name
        assert listed[name].get("usage_hint", "") == command.usage, name


def test_every_slack_command_is_in_the_manifest_with_a_description():
    from bots.slack.commands import FEATURE_COMMANDS

    manifest = yaml.safe_load((ROOT / "config" / "slack-manifest.yaml").read_text())
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert set(commands) == {"/model", "/delete", "/hfchat", "/about", *FEATURE_COMMANDS}
    for name, command in commands.items():
        assert 0 < len(command["description"]) <= 2000, name
        assert len(command.get("usage_hint", "")) <= 1000, name
        # the bot reads links and mentions as Slack writes them; /catchup names a channel, which only escaping
        # turns into its id (<#C123|general>)
        assert command["should_escape"] is (name == "/catchup"), name
    assert "files:read" in manifest["oauth_config"]["scopes"]["bot"]  # url_private downloads need it


def test_manifest_uses_the_agent_view():
    """Slack's agent messaging experience: agent_view (new apps cannot have assistant_view), its description and
    the general suggested prompts the AI-app threads also offer; the session events, and none of assistant_view's."""
    from bots.slack.views import SUGGESTED_PROMPTS

    manifest = yaml.safe_load((ROOT / "config" / "slack-manifest.yaml").read_text())
    features = manifest["features"]
    assert "assistant_view" not in features
    assert 0 < len(features["agent_view"]["agent_description"]) <= 300
    assert features["agent_view"]["suggested_prompts"] == SUGGESTED_PROMPTS
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"agent_session_stopped", "agent_session_title_changed", "message.im", "app_home_opened"} <= events
    assert not {"assistant_thread_started", "assistant_thread_context_changed"} & events
