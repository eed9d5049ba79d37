"""The dashboard's cookies sealed: AES-256-GCM, with keys every replica of the API shares.

A sealed value is `base64url(version | nonce | ciphertext | tag)`: nobody without the key
reads it (the user's token travels inside) and any change to it is refused. The cookie's
purpose (`session`, `signin`) is bound as associated data, so one cookie cannot stand in for
another. The first key seals; every key opens, so a key is rotated by putting the new one
first, and the old one is dropped once the longest session has run out. Keys are derived
with HKDF-SHA256 from DASHBOARD_SESSION_KEY's secrets, or from DASHBOARD_CLIENT_SECRET when
that is unset (`for_settings`).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

log = structlog.get_logger()

# The format's version, first byte of every sealed value (and part of the associated data).
VERSION = b"\x01"
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32
# HKDF's salt and info: a key for this purpose only, whatever else the secret is used for.
HKDF_SALT = b"paas-billing dashboard"
HKDF_INFO = b"paas-billing dashboard cookies v1"
# Longest sealed value opened, in characters (a browser keeps 4096 bytes of a cookie).
MAX_SEALED_CHARS = 4096
# Shortest client secret trusted to derive the key without a warning.
STRONG_SECRET_CHARS = 32


def derive(secret: str) -> bytes:
    """The AES-256 key of a secret."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=HKDF_SALT, info=HKDF_INFO)
    return hkdf.derive(secret.encode("utf-8"))


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes | None:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return None


class Sealer:
    """Seals and opens cookie values; thread-safe (no state beyond the keys)."""

    def __init__(self, secrets: Sequence[str]) -> None:
        if not secrets:
            raise ValueError("a Sealer needs at least one secret")
        self._keys = tuple(AESGCM(derive(secret)) for secret in secrets)

    def seal(self, purpose: str, plaintext: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[0].encrypt(nonce, plaintext, VERSION + purpose.encode("ascii"))
        return _encode(VERSION + nonce + sealed)

    def open(self, purpose: str, value: str) -> bytes | None:
        """What `seal(purpose, ...)` sealed with one of the keys; None for anything else."""
        if len(value) > MAX_SEALED_CHARS:
            return None
        raw = _decode(value)
        if raw is None or len(raw) < 1 + NONCE_BYTES + TAG_BYTES or raw[:1] != VERSION:
            return None
        nonce, sealed = raw[1 : 1 + NONCE_BYTES], raw[1 + NONCE_BYTES :]
        associated = VERSION + purpose.encode("ascii")
        for key in self._keys:
            try:
                return key.decrypt(nonce, sealed, associated)
            except InvalidTag:
                continue
        return None


def for_settings(session_keys: Sequence[str], client_secret: str | None) -> Sealer:
    """The API's sealer: DASHBOARD_SESSION_KEY's secrets, else DASHBOARD_CLIENT_SECRET's
    (every replica has it), else a key of this process alone (nobody can sign in anyway)."""
    if session_keys:
        log.info("dashboard_cookie_keys", source="DASHBOARD_SESSION_KEY", keys=len(session_keys))
        return Sealer(session_keys)
    if client_secret:
        if len(client_secret) < STRONG_SECRET_CHARS:
            log.warning(
                "dashboard_cookie_key_weak",
                source="DASHBOARD_CLIENT_SECRET",
                secret_chars=len(client_secret),
                advice="set DASHBOARD_SESSION_KEY (openssl rand -base64 32)",
            )
        else:
            log.info("dashboard_cookie_keys", source="DASHBOARD_CLIENT_SECRET", keys=1)
        return Sealer([client_secret])
    return Sealer([_encode(os.urandom(KEY_BYTES))])
