"""core.commands.text: the words of the commands the terminal and Slack share, read once."""

from __future__ import annotations

import pytest

from core.commands.text import (
    AssistantCommand,
    ModelCommand,
    SetCommand,
    is_assistant_command,
    is_set_command,
    parse_assistant,
    parse_compare,
    parse_export,
    parse_limits,
    parse_model,
    parse_set,
    parse_usage,
)
from core.errors import InvalidSetting
from core.records import Scope


def test_model():
    assert parse_model("") == ModelCommand(show=True)
    assert parse_model("list Gemma") == ModelCommand(show=True, search="gemma")
    assert parse_model("org/m:fastest") == ModelCommand(name="org/m:fastest")
    assert parse_model("Channel org/m") == ModelCommand(scope=Scope.CHANNEL, name="org/m")
    assert parse_model("server org/m") == ModelCommand(scope=Scope.WORKSPACE, name="org/m")
    assert parse_model("channel") == parse_model("channel reset") == ModelCommand(scope=Scope.CHANNEL)
    assert parse_model("reset") == parse_model("default") == ModelCommand()
    assert parse_model("me") == ModelCommand(name="me")  # only a place's default is a scope here
    # where the choice goes (the place asked for, else the conversation, else the person's default): model_scope,
    # tested with the other shared rules in tests/core/test_shared_rules.py


def test_set():
    assert parse_set("") == SetCommand(Scope.USER)
    assert parse_set("temperature 0.3") == SetCommand(Scope.USER, "temperature", "0.3")
    assert parse_set("channel top_p 0.9") == SetCommand(Scope.CHANNEL, "top_p", "0.9")
    assert parse_set("here system_prompt Be   brief.") == SetCommand(Scope.CONVERSATION, "system_prompt", "Be   brief.")
    assert parse_set("Workspace Provider cheapest") == SetCommand(Scope.WORKSPACE, "provider", "cheapest")
    assert parse_set("temperature default") == SetCommand(Scope.USER, "temperature", None)
    assert parse_set("model reset", default_scope=Scope.CONVERSATION) == SetCommand(Scope.CONVERSATION, "model", None)
    assert parse_set("me temperature 1", default_scope=Scope.CONVERSATION).scope is Scope.USER
    with pytest.raises(InvalidSetting, match="Write /settings"):
        parse_set("temperature", usage="/settings")
    with pytest.raises(InvalidSetting):
        parse_set("channel")


def test_a_set_command_is_told_from_a_prompt():
    assert is_set_command("temperature 0.2") and is_set_command("channel top_p 1")
    assert not is_set_command("up a python project for me")
    assert not is_set_command("temperature") and not is_set_command("")


def test_assistant():
    assert parse_assistant("") == AssistantCommand("list")
    command = parse_assistant('new "Chef bot" instructions="Cook." temperature=0.6 starter=A starter=B web=yes')
    assert command.action == "new" and command.name == "Chef bot"
    assert command.fields == {
        "instructions": "Cook.",
        "starters": ["A", "B"],
        "web_search": True,
        "options": {"temperature": "0.6"},
    }
    assert parse_assistant("create X").action == "new"
    assert parse_assistant("use none") == AssistantCommand("use", None)
    assert parse_assistant("channel Off") == AssistantCommand("channel", None)
    assert parse_assistant("sharing ON") == AssistantCommand("sharing", "on")
    # typed (“curly”) double quotes work like straight ones; an apostrophe inside stays
    assert parse_assistant("new Chef instructions=“Don’t burn it.”").fields == {"instructions": "Don’t burn it."}
    assert parse_assistant("new", form=True) == AssistantCommand("new")
    with pytest.raises(InvalidSetting, match="Write /assistant new NAME"):
        parse_assistant("new")
    with pytest.raises(InvalidSetting, match="sharing on"):
        parse_assistant("sharing maybe")
    with pytest.raises(InvalidSetting, match="Use /hfchat assistant list"):
        parse_assistant("bake", usage="/hfchat assistant")
    with pytest.raises(InvalidSetting, match="quote a name with spaces"):
        parse_assistant("use Chef bot")
    with pytest.raises(InvalidSetting, match="Could not read that"):
        parse_assistant('new "Chef')
    assert is_assistant_command("") and is_assistant_command("use X") and is_assistant_command("create X")
    assert not is_assistant_command("help me write an email")


def test_usage_limits_compare_export():
    assert (parse_usage("").everyone, parse_usage("").days) == (False, 30)
    assert (parse_usage("workspace 7").everyone, parse_usage("7 workspace").days) == (True, 7)
    assert parse_usage("0").days == 1 and parse_usage("99999").days == 3650
    assert parse_limits("") == (None, "")
    assert parse_limits("messages_per_minute 5") == ("messages_per_minute", "5")
    assert parse_limits("allowed_models a/b, c/d") == ("allowed_models", "a/b, c/d")
    assert parse_compare("a/b,c/d What is DNS?") == (["a/b", "c/d"], "What is DNS?")
    assert parse_compare("a/b, c/d,  e/f  Why?") == (["a/b", "c/d", "e/f"], "Why?")
    for bad in ("What is DNS?", "a/b,c/d", ""):
        with pytest.raises(InvalidSetting, match="MODEL1,MODEL2 PROMPT"):
            parse_compare(bad)
    assert parse_export("") == ("", "md")
    assert parse_export("3 JSON") == ("3", "json")
    assert parse_export("<https://x.slack.com/archives/C1/p1700000000000100> markdown")[1] == "md"
