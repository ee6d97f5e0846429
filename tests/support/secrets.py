"""Canary secrets, and the check that none of them shows anywhere."""

from __future__ import annotations

CANARIES = {
    "hf": "hf_CANARYhfTOKEN0123456789",
    "discord": "CANARY.discord.TOKEN-0123456789",
    "slack_bot": "xoxb-CANARY-slack-bot-0123456789",
    "slack_app": "xapp-1-CANARY-slack-app-0123456789",
    "signing": "CANARYsigningSECRET0123456789",
    "client": "CANARYclientSECRET0123456789",
}


def assert_no_canary(texts: list[str], where: str) -> None:
    for text in texts:
        for name, canary in CANARIES.items():
            assert canary not in text and "CANARY" not in text, f"{name} secret in {where}: {text[:200]}"
