"""The UAA's token signing keys: RS256, listed as JWKs at `/token_keys`.

The first key signs; any extra keys are listed too (as a UAA in the middle of a key rotation
lists the old and the new), so clients must pick the key by the token's `kid`. A key may come
from a PEM file (`--signing-key`), so tests and operators can mint tokens of their own.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# The only algorithm the simulator signs with, as a default UAA does.
ALGORITHM = "RS256"
# Size of generated keys, in bits.
KEY_BITS = 2048


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey

    def jwk(self) -> dict[str, Any]:
        """The public half as UAA lists it: a JWK plus the PEM under `value`."""
        public = self.private.public_key()
        listed: dict[str, Any] = dict(jwt.algorithms.RSAAlgorithm.to_jwk(public, as_dict=True))
        pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        listed.update(kid=self.kid, alg=ALGORITHM, use="sig", value=pem.decode())
        return listed


def generate(kid: str) -> SigningKey:
    return SigningKey(kid, rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS))


def load_pem(kid: str, path: Path) -> SigningKey:
    """A private RSA key from a PEM file; ValueError naming the file otherwise."""
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ValueError(f"cannot read an unencrypted PEM private key from {path}: {exc}") from None
    if not isinstance(private, rsa.RSAPrivateKey):
        raise ValueError(f"{path} holds a {type(private).__name__}, not an RSA key")
    return SigningKey(kid, private)


class KeyRing:
    """The signing key and the keys listed beside it; rotate() makes a new key sign."""

    def __init__(self, signing: SigningKey, extra: list[SigningKey]) -> None:
        self._lock = threading.Lock()
        self._signing = signing
        self._listed = {k.kid: k for k in [signing, *extra]}

    @property
    def signing(self) -> SigningKey:
        return self._signing

    def rotate(self, key: SigningKey) -> None:
        """Sign with `key` from now on; the old keys stay listed (tokens they signed verify)."""
        with self._lock:
            self._listed[key.kid] = key
            self._signing = key

    def listing(self) -> dict[str, list[dict[str, Any]]]:
        """The `/token_keys` body."""
        with self._lock:
            keys = list(self._listed.values())
        return {"keys": [key.jwk() for key in keys]}

    def sign(self, claims: Mapping[str, Any], jku: str) -> str:
        key = self._signing
        headers = {"jku": jku, "kid": key.kid, "typ": "JWT"}
        return jwt.encode(dict(claims), key.private, algorithm=ALGORITHM, headers=headers)

    def verify(self, token: str) -> dict[str, Any] | None:
        """The claims of a token one of the listed keys signed (expiry not checked here:
        the simulator's clock may be a test's); None for anything else."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError:
            return None
        with self._lock:
            key = self._listed.get(kid) if isinstance(kid, str) else None
        if key is None:
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.private.public_key(),
                algorithms=[ALGORITHM],
                options={"verify_exp": False, "verify_aud": False, "verify_iat": False},
            )
        except jwt.InvalidTokenError:
            return None
        return claims
