"""What Discord defines: gateway intents, permission bits, channel types, message flags and error codes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

API_PREFIX = "/api/v10"
CDN_ROUTE = "/attachments/{channel_id}/{attachment_id}/{filename}"  # where the fake serves uploaded files
DISCORD_EPOCH_MS = 1420070400000


class Intents:
    """Gateway intent bits (https://discord.com/developers/docs/events/gateway#gateway-intents)."""

    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    GUILD_MESSAGE_TYPING = 1 << 11
    DIRECT_MESSAGES = 1 << 12
    DIRECT_MESSAGE_REACTIONS = 1 << 13
    DIRECT_MESSAGE_TYPING = 1 << 14
    MESSAGE_CONTENT = 1 << 15
    PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT
    # Every bit Discord currently defines; anything else is closed with 4013.
    VALID = (1 << 17) - 1 | 1 << 20 | 1 << 21 | 1 << 24 | 1 << 25


class Perm:
    """Permission bits (https://discord.com/developers/docs/topics/permissions)."""

    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    SEND_MESSAGES_IN_THREADS = 1 << 38
    ALL = ((1 << 53) - 1) & ~(1 << 47)
    DEFAULT_EVERYONE = (
        VIEW_CHANNEL
        | SEND_MESSAGES
        | READ_MESSAGE_HISTORY
        | ADD_REACTIONS
        | EMBED_LINKS
        | ATTACH_FILES
        | USE_APPLICATION_COMMANDS
        | CREATE_PUBLIC_THREADS
        | CREATE_PRIVATE_THREADS
        | SEND_MESSAGES_IN_THREADS
    )
    DEFAULT_BOT = DEFAULT_EVERYONE | MANAGE_THREADS | MANAGE_MESSAGES


class ChannelType:
    GUILD_TEXT = 0
    DM = 1
    GROUP_DM = 3
    GUILD_CATEGORY = 4
    ANNOUNCEMENT_THREAD = 10
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    THREADS = (10, 11, 12)


# Message flags used below.
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7


class Context:
    """Where an interaction was used (interaction `context`, a command's `contexts`)."""

    GUILD = 0
    BOT_DM = 1
    PRIVATE_CHANNEL = 2  # group DMs, and DMs other than with the app's bot user


class Install:
    """How the app was installed (`integration_types`, `authorizing_integration_owners` keys)."""

    GUILD = 0
    USER = 1
    USER_KEY = "1"


# A command of a user-installed app used where the bot is not present may create at most this many follow-ups
# (Discord changelog, "User-Installed Apps General Availability", June 2024); the next one is refused with 40094.
USER_INSTALL_FOLLOWUPS = 5
INTERACTION_TOKEN_SECONDS = 15 * 60  # an interaction token (follow-ups, edits) is valid this long
# In a DM or group DM the app's permissions are these (Discord: interaction `app_permissions`)
PRIVATE_APP_PERMISSIONS = (1 << 15) | (1 << 14) | (1 << 17)  # ATTACH_FILES, EMBED_LINKS, MENTION_EVERYONE


# Routes authenticated by the token in the URL (or not at all) rather than "Authorization: Bot".
_NO_AUTH_ROUTES = {
    "/gateway",
    "/interactions/{interaction_id}/{interaction_token}/callback",
    "/webhooks/{webhook_id}/{webhook_token}",
    "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
    "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
}


class DiscordHTTPError(Exception):
    """Raised by handlers; becomes a Discord-style JSON error response."""

    def __init__(self, status: int, code: int, message: str, errors: dict | None = None):
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message, self.errors = status, code, message, errors

    def body(self) -> dict:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body


def _err(status: int, code: int, message: str) -> Callable[[], DiscordHTTPError]:
    return lambda: DiscordHTTPError(status, code, message)


UNKNOWN_CHANNEL = _err(404, 10003, "Unknown Channel")
UNKNOWN_GUILD = _err(404, 10004, "Unknown Guild")
UNKNOWN_MEMBER = _err(404, 10007, "Unknown Member")
UNKNOWN_MESSAGE = _err(404, 10008, "Unknown Message")
UNKNOWN_USER = _err(404, 10013, "Unknown User")
UNKNOWN_WEBHOOK = _err(404, 10015, "Unknown Webhook")
UNKNOWN_INTERACTION = _err(404, 10062, "Unknown interaction")
UNKNOWN_COMMAND = _err(404, 10063, "Unknown application command")
MISSING_ACCESS = _err(403, 50001, "Missing Access")
MISSING_PERMISSIONS = _err(403, 50013, "Missing Permissions")
CANNOT_DM = _err(403, 50007, "Cannot send messages to this user")
CANNOT_EDIT_OTHERS = _err(403, 50005, "Cannot edit a message authored by another user")
EMPTY_MESSAGE = _err(400, 50006, "Cannot send an empty message")
WRONG_CHANNEL_TYPE = _err(400, 50024, "Cannot execute action on this channel type")
ALREADY_ACKNOWLEDGED = _err(400, 40060, "Interaction has already been acknowledged.")
MAX_FOLLOWUPS = _err(400, 40094, "This interaction has hit the maximum number of follow up messages")
INVALID_WEBHOOK_TOKEN = _err(401, 50027, "Invalid Webhook Token")
THREAD_EXISTS = _err(400, 160004, "A thread has already been created for this message")
INVALID_JSON = _err(400, 50109, "The request body contains invalid JSON.")
UNAUTHORIZED = _err(401, 0, "401: Unauthorized")
NOT_FOUND = _err(404, 0, "404: Not Found")


def _form_error(location: str, code: str, message: str) -> DiscordHTTPError:
    """Discord's 50035 'Invalid Form Body' with the nested errors object."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for part in reversed([p for p in location.split("/") if p]):
        errors = {part: errors}
    return DiscordHTTPError(400, 50035, "Invalid Form Body", errors)
