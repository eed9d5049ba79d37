"""Sessions and sign-ins in progress as sealed cookies: expiry, tampering, another key, key
rotation, size; the PKCE challenge; months; safe return paths."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from shared import errors
from tenant_api.dashboard import oauth, sealing, sessions, signin
from tenant_api.dashboard.months import Month


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


KEY = "k" * 40
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJ1c2VyX25hbWUiOiJiaWxsaW5nLW1hbmFnZXIifQ.c2lnbmF0dXJl"


def store(clock: Clock, *keys: str, ttl: float = 3600) -> sessions.Sessions:
    return sessions.Sessions(sealing.Sealer(keys or (KEY,)), ttl=ttl, clock=clock)


def flip(value: str, at: int) -> str:
    """`value` with the character at `at` changed (still base64url)."""
    return value[:at] + ("A" if value[at] != "A" else "B") + value[at + 1 :]


def test_sessions_end_at_the_tokens_expiry_or_the_ttl_whichever_first() -> None:
    clock = Clock()
    kept = store(clock)
    short_cookie, short = kept.start("token-a", token_expires_at=clock.now + 60)
    long_cookie, long = kept.start("token-b", token_expires_at=clock.now + 86400)
    assert short.expires_at == 1060 and long.expires_at == 4600
    assert short_cookie != long_cookie and short.csrf != long.csrf and len(short.csrf) >= 40
    assert kept.get(long_cookie) == long
    clock.now += 61
    assert kept.get(short_cookie) is None and kept.get(long_cookie) == long
    clock.now = 4599.0
    assert kept.get(long_cookie) == long
    clock.now = 4600.0
    assert kept.get(long_cookie) is None
    assert "token-b" not in repr(long)


def test_sessions_a_lowered_ttl_ends_sessions_begun_under_the_old_one() -> None:
    clock = Clock()
    cookie, _ = store(clock, ttl=8 * 3600).start(TOKEN, token_expires_at=clock.now + 86400)
    clock.now += 2 * 3600
    assert store(clock, ttl=8 * 3600).get(cookie) is not None
    assert store(clock, ttl=3600).get(cookie) is None


def test_sessions_a_cookie_issued_ahead_of_this_clock_is_refused() -> None:
    clock = Clock()
    cookie, _ = store(clock).start(TOKEN, token_expires_at=clock.now + 600)
    clock.now -= sessions.CLOCK_LEEWAY + 1
    assert store(clock).get(cookie) is None


def test_sessions_the_cookie_holds_the_token_sealed_not_readable() -> None:
    clock = Clock()
    cookie, session = store(clock).start(TOKEN, token_expires_at=clock.now + 600)
    assert session.token == TOKEN and store(clock).get(cookie) == session
    raw = base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
    for part in TOKEN.split("."):
        assert part not in cookie
        assert base64.urlsafe_b64decode(part + "==") not in raw
    assert b"billing-manager" not in raw and b"RS256" not in raw
    assert session.csrf not in cookie


def test_sessions_a_changed_cookie_or_another_keys_is_no_session() -> None:
    clock = Clock()
    kept = store(clock)
    cookie, _ = kept.start(TOKEN, token_expires_at=clock.now + 600)
    for at in (0, 2, 20, len(cookie) // 2, len(cookie) - 1):
        assert kept.get(flip(cookie, at)) is None, at
    assert kept.get(cookie[:-4]) is None
    assert kept.get(cookie + "AAAA") is None
    assert store(clock, "another-key-" * 4).get(cookie) is None
    foreign, _ = store(clock, "another-key-" * 4).start(TOKEN, token_expires_at=clock.now + 600)
    assert kept.get(foreign) is None


@pytest.mark.parametrize(
    "value", [None, "", "not base64!", "A", "AQ", "A" * 60, "=" * 10, "x" * 5000, "é" * 10]
)
def test_sessions_garbage_is_no_session(value: str | None) -> None:
    assert store(Clock()).get(value) is None
    assert store(Clock()).finish_sign_in(value, "state") is None


def test_sessions_a_sign_in_cookie_is_no_session_and_a_session_no_sign_in() -> None:
    clock = Clock()
    kept = store(clock)
    state, pending = kept.begin_sign_in("verifier", "/orgs/x")
    cookie, _ = kept.start(TOKEN, token_expires_at=clock.now + 600)
    assert kept.get(pending) is None
    assert kept.finish_sign_in(cookie, state) is None


def test_sessions_rotation_the_first_key_seals_every_key_opens() -> None:
    clock = Clock()
    old_cookie, old = store(clock, "old-" * 10).start(TOKEN, token_expires_at=clock.now + 600)
    rotating = store(clock, "new-" * 10, "old-" * 10)
    assert rotating.get(old_cookie) == old
    new_cookie, new = rotating.start(TOKEN, token_expires_at=clock.now + 600)
    assert store(clock, "new-" * 10).get(new_cookie) == new
    assert store(clock, "new-" * 10).get(old_cookie) is None
    assert store(clock, "old-" * 10).get(new_cookie) is None


def test_sessions_a_sign_in_state_is_this_cookies_and_good_for_ten_minutes() -> None:
    clock = Clock()
    kept = store(clock)
    state, cookie = kept.begin_sign_in("verifier", "/orgs/x")
    assert state not in cookie and "verifier" not in cookie and len(state) >= 40
    pending = kept.finish_sign_in(cookie, state)
    assert pending == sessions.Pending("verifier", "/orgs/x", expired=False)
    other_state, other_cookie = kept.begin_sign_in("verifier", "/")
    assert kept.finish_sign_in(cookie, other_state) is None
    assert kept.finish_sign_in(other_cookie, state) is None
    assert kept.finish_sign_in(cookie, None) is None and kept.finish_sign_in(None, state) is None
    clock.now += sessions.PENDING_TTL
    late = kept.finish_sign_in(cookie, state)
    assert late is not None and late.expired


@pytest.mark.parametrize(
    "token",
    [
        TOKEN,
        "opaque-token-of-another-uaa",
        "a.b",
        "eyJh.not base64.x",
        TOKEN.replace("fQ.", "fR."),  # base64url that decodes but is not canonical
    ],
)
def test_sessions_keep_any_token_exactly(token: str) -> None:
    assert sessions.unpack_token(sessions.pack_token(token)) == token
    clock = Clock()
    cookie, _ = store(clock).start(token, token_expires_at=clock.now + 600)
    found = store(clock).get(cookie)
    assert found is not None and found.token == token


def test_sessions_a_jwt_is_kept_a_quarter_smaller_than_its_text() -> None:
    assert sum(len(p) for p in sessions.pack_token(TOKEN)) < len(TOKEN) * 0.8
    odd = TOKEN.replace("fQ.", "fR.")  # not canonical: kept as its text, exactly
    assert len(sessions.pack_token(TOKEN)) == 3 and sessions.pack_token(odd) == [odd.encode()]


def test_sessions_a_session_too_large_for_a_cookie_is_refused() -> None:
    clock = Clock()
    huge = "x" * sessions.MAX_COOKIE_CHARS
    with pytest.raises(sessions.CookieTooLarge) as refused:
        store(clock).start(huge, token_expires_at=clock.now + 600)
    assert refused.value.chars > sessions.MAX_COOKIE_CHARS and "x" * 20 not in str(refused.value)


def test_sealing_a_purpose_opens_only_its_own_values() -> None:
    sealer = sealing.Sealer([KEY])
    sealed = sealer.seal("session", b"plain")
    assert sealer.open("session", sealed) == b"plain"
    assert sealer.open("signin", sealed) is None
    assert sealer.seal("session", b"plain") != sealed  # a nonce of its own each time


def test_sealing_keys_come_from_the_session_key_else_the_client_secret() -> None:
    sealed = sealing.Sealer(["client-secret-" * 3]).seal("session", b"x")
    derived = sealing.for_settings((), "client-secret-" * 3)
    assert derived.open("session", sealed) == b"x"
    dedicated = sealing.for_settings(("s" * 44,), "client-secret-" * 3)
    assert dedicated.open("session", sealed) is None
    assert sealing.for_settings((), None).open("session", sealed) is None


def test_oauth_challenge_is_rfc_7636s_s256() -> None:
    # RFC 7636 appendix B
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert oauth.challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/orgs/a?month=2026-10", "/orgs/a?month=2026-10"),
        (None, "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/x\nSet-Cookie: a=b", "/"),
    ],
)
def test_signin_returns_only_to_a_path_on_this_site(target: str | None, safe: str) -> None:
    assert signin.safe_return(target) == safe


def test_months_parse_default_and_step() -> None:
    now = datetime(2026, 12, 5, tzinfo=UTC)
    assert Month.parse(None, now) == Month.parse(" ", now) == Month(2026, 12)
    october = Month.parse("2026-10", now)
    assert (october.start, october.end) == (
        datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
    )  # fmt: skip
    assert Month(2026, 12).next() == Month(2027, 1)
    assert Month(2027, 1).previous() == Month(2026, 12)
    assert len(Month(2028, 2).days()) == 29 and october.label == "October 2026"
    for bad in ("2026-13", "10/2026", "2026-1", "1999-12", "2027-01"):
        with pytest.raises(errors.InvalidRequest) as refused:
            Month.parse(bad, now)
        assert refused.value.field == "month"
