"""RS256 access tokens: listed keys verify them, a forged or refresh token never passes."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from simulator import keys
from tests.simulator import fixtures

TIMEOUT = 10


def pem_file(tmp_path: Path) -> tuple[Path, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "signing.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path, key


def test_token_keys_verify_the_tokens_the_simulator_signs(url: str) -> None:
    listing = requests.get(url + "/token_keys", timeout=TIMEOUT).json()
    token = fixtures.admin_token(url)
    kid = jwt.get_unverified_header(token)["kid"]
    listed = {k["kid"]: k for k in listing["keys"]}
    assert listed[kid]["kty"] == "RSA" and listed[kid]["alg"] == "RS256"
    assert listed[kid]["value"].startswith("-----BEGIN PUBLIC KEY-----")
    claims = jwt.decode(
        token, jwt.PyJWK(listed[kid]).key, algorithms=["RS256"], options={"verify_aud": False}
    )
    assert "cloud_controller.admin" in claims["scope"]
    assert claims["user_name"] == "admin" and claims["user_id"] == claims["sub"]
    assert claims["exp"] > time.time()


def test_token_keys_list_extra_keys_and_a_given_signing_key(tmp_path: Path) -> None:
    path, private = pem_file(tmp_path)
    with fixtures.in_process(events=50, signing_key=path, extra_token_keys=2) as simulator:
        listing = requests.get(simulator.url + "/token_keys", timeout=TIMEOUT).json()
        assert [k["kid"] for k in listing["keys"]] == ["key-1", "key-2", "key-3"]
        token = fixtures.token(simulator.url)
        assert jwt.get_unverified_header(token)["kid"] == "key-1"
        jwt.decode(token, private.public_key(), algorithms=["RS256"], options={"verify_aud": False})
        # A token minted elsewhere with the same key is as good as one from /oauth/token.
        minted = jwt.encode(
            {"jti": "x", "scope": ["cloud_controller.admin_read_only"], "client_id": "mine",
             "exp": int(time.time()) + 60},
            private, algorithm="RS256", headers={"kid": "key-1"},
        )  # fmt: skip
        ok = requests.get(
            simulator.url + "/v3/app_usage_events", headers=fixtures.bearer(minted), timeout=TIMEOUT
        )
        assert ok.status_code == 200 and ok.headers["X-USER-GUID"] == "mine"


def test_token_keys_refuse_a_token_of_another_key_with_the_same_kid(url: str) -> None:
    other = keys.generate("key-1")
    forged = jwt.encode(
        {"jti": "x", "scope": ["cloud_controller.admin"], "client_id": "evil",
         "exp": int(time.time()) + 60},
        other.private, algorithm="RS256", headers={"kid": "key-1"},
    )  # fmt: skip
    refused = requests.get(
        url + "/v3/app_usage_events", headers=fixtures.bearer(forged), timeout=TIMEOUT
    )
    assert refused.status_code == 401


def test_token_keys_rotation_keeps_old_tokens_valid() -> None:
    with fixtures.in_process(events=50) as simulator:
        url = simulator.url
        old = fixtures.token(url)
        simulator.authority.keys.rotate(keys.generate("key-rotated"))
        new = fixtures.token(url)
        assert jwt.get_unverified_header(new)["kid"] == "key-rotated"
        listing = requests.get(url + "/token_keys", timeout=TIMEOUT).json()
        assert [k["kid"] for k in listing["keys"]] == ["key-1", "key-rotated"]
        for token in (old, new):
            headers = fixtures.bearer(token)
            response = requests.get(url + "/v3/app_usage_events", headers=headers, timeout=TIMEOUT)
            assert response.status_code == 200


def test_token_keys_a_bad_key_file_stops_the_simulator(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-key.pem"
    bad.write_text("hello")
    try:
        fixtures.start_simulator(events=50, signing_key=bad, timeout=30)
    except RuntimeError as exc:
        assert "configuration error" in str(exc) and "not-a-key.pem" in str(exc)
    else:
        raise AssertionError("the simulator started with a key file that holds no key")
