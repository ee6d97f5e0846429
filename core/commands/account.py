"""`/account`: connect a Hugging Face account, see who is connected, disconnect; admins choose who pays in their
workspace. The words every front end shows; `connect` itself is each front end's private form (a Discord or Slack
modal, the terminal's prompt that does not echo), which hands the token to `AccountService.connect`."""

from __future__ import annotations

from core.accounts import AccountService, AccountsOff
from core.errors import InvalidSetting
from core.keys import Actor, ConversationKey

ACTIONS = ("connect", "status", "disconnect", "bill", "shared")
USAGE = (
    "`/account connect` (a private form for your token), `/account status`, `/account disconnect`; admins: "
    "`/account bill ORG` or `/account bill off` (the organization billed here), `/account shared on|off` "
    "(whether people who have not connected may use this workspace's token)."
)
TOKEN_HINT = (
    "Create a token at https://huggingface.co/settings/tokens (fine-grained, with “Make calls to Inference "
    "Providers”). It is checked with Hugging Face, stored encrypted, never shown or logged, and erased by "
    "`/account disconnect` or `/delete all`."
)
_OFF, _ON = frozenset({"off", "none", "no", "false", "0"}), frozenset({"on", "yes", "true", "1"})


def action_of(text: str) -> tuple[str, str]:
    """(action, the rest) of what was typed after `/account`; an empty command is `status`."""
    action, _, rest = text.strip().partition(" ")
    return (action.lower() or "status"), rest.strip()


async def account_command(accounts: AccountService, actor: Actor, key: ConversationKey, text: str) -> str:
    """Every `/account` action but `connect` (which needs the front end's private form)."""
    action, rest = action_of(text)
    if not accounts.enabled and action in ("status", "connect", "disconnect"):
        return str(AccountsOff())
    if action == "status":
        return (await accounts.status(actor, key)).text
    if action == "disconnect":
        if await accounts.disconnect(actor):
            return "Disconnected: your token is erased. Answers use this workspace's token again, where allowed."
        return "No Hugging Face account was connected."
    if action == "bill":
        organization = None if rest.lower() in _OFF | {""} else rest
        await accounts.set_bill_to(actor, key, organization)
        if organization is None:
            return "Answers here are no longer billed to an organization."
        return f"Answers here are now billed to the organization **{organization}** (`X-HF-Bill-To`)."
    if action == "shared":
        if rest.lower() not in _ON | _OFF:
            raise InvalidSetting("`/account shared` takes on or off.")
        allowed = rest.lower() in _ON
        await accounts.set_shared_token(actor, key, allowed)
        if allowed:
            return "People who have not connected an account may use this workspace's token."
        return "Each person now connects their own Hugging Face account to ask anything here."
    if action == "connect":
        return "Use `/account connect` on its own: it opens a private form for your token."
    raise InvalidSetting(f"`/account {action[:30]}` is not something I know. " + USAGE)
