"""The README a new user reads first: quick start on top, a picture of the real terminal chat, links that
stay inside the repository, and commands that work as written."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_quick_start_comes_first_with_the_command_and_the_picture():
    sections = re.findall(r"^## (.+)$", README, flags=re.M)
    assert sections[0] == "Quick start" and sections[1] == "Features"
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "./scripts/run console" in quick and ".venv" in quick and "activate" in quick
    assert "![" in quick and "docs/terminal-chat.png" in quick


def test_every_link_and_image_points_inside_the_repository():
    targets = re.findall(r"\]\(([^)]+)\)", README) + re.findall(r"<(https?://[^>]+)>", README)
    assert targets
    for target in targets:
        assert not re.match(r"[a-z]+:", target), target
        if not target.startswith("#"):
            assert (ROOT / target).is_file(), target
    prose = re.sub(r"`[^`]*`", "", re.sub(r"```.*?```", "", README, flags=re.S))
    assert "http://" not in prose and "https://" not in prose  # GitHub would make a bare URL a link


def test_the_docker_command_gives_the_terminal_chat_a_terminal():
    runs = [line for line in README.splitlines() if "docker run" in line]
    assert runs and all(" -it " in line for line in runs)


def test_discord_explains_both_installs_and_the_privileged_intents_review():
    discord = README.split("### Discord", 1)[1].split("\n### ", 1)[0]
    assert "Add to a server" in discord and "Install to your" in discord  # the two links the bot prints
    assert "5 follow-up messages and 15 minutes" in discord
    assert "10,000 users" in discord and "June 2026" in discord and "every year" in discord
    assert "ALLOW_BOTS" in discord
