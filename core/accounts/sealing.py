"""Tokens at rest: encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) under ACCOUNTS_KEY.

The key lives in the settings (the environment), never in the database: a copy of the database alone opens no
token. Several comma-separated keys rotate: the first encrypts, each may decrypt (MultiFernet).
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class TokenSeal:
    def __init__(self, keys: str):
        try:
            self._fernet = MultiFernet([Fernet(key.strip()) for key in keys.split(",") if key.strip()])
        except (ValueError, TypeError):
            # never the value: it is the secret
            raise ValueError(
                "ACCOUNTS_KEY is not a Fernet key (32 url-safe base64-encoded bytes); make one with "
                "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
            ) from None

    def seal(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode("ascii")

    def open(self, sealed: str) -> str | None:
        """The token, or None when no configured key opens it (the key was changed without keeping the old one)."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, ValueError):
            return None
