"""Each person's own Hugging Face account: connecting a token (checked with the Hub's whoami), which token and
bill-to organization a request carries, and the workspace's rule for people who have not connected."""

from core.accounts.hub import HubClient, HubIdentity
from core.accounts.oauth import HubSignIn, SignIn
from core.accounts.sealing import TokenSeal
from core.accounts.service import (
    AccountNeeded,
    AccountService,
    AccountsOff,
    AccountStatus,
    Connected,
    Credentials,
    TokenRefused,
)

__all__ = [
    "AccountNeeded",
    "AccountService",
    "AccountStatus",
    "AccountsOff",
    "Connected",
    "Credentials",
    "HubClient",
    "HubIdentity",
    "HubSignIn",
    "SignIn",
    "TokenRefused",
    "TokenSeal",
]
