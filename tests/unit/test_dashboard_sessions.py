"""Sessions and sign-ins in progress: random ids, expiry, one use; months; safe return paths."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared import errors
from tenant_api.dashboard import oauth, sessions, signin
from tenant_api.dashboard.months import Month


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sessions_end_at_the_tokens_expiry_or_the_ttl_whichever_first() -> None:
    clock = Clock()
    store = sessions.Sessions(ttl=3600, clock=clock)
    short_id, short = store.start("token-a", token_expires_at=clock.now + 60)
    long_id, long = store.start("token-b", token_expires_at=clock.now + 86400)
    assert short.expires_at == 1060 and long.expires_at == 4600
    assert short_id != long_id and len(short_id) >= 40 and short.csrf != long.csrf
    clock.now += 61
    assert store.get(short_id) is None and store.get(long_id) == long
    store.end(long_id)
    assert store.get(long_id) is None
    assert "token-b" not in repr(long)


def test_sessions_a_sign_in_state_is_good_once_and_for_ten_minutes() -> None:
    clock = Clock()
    store = sessions.Sessions(ttl=3600, clock=clock)
    state = store.begin_sign_in("verifier", "/orgs/x")
    pending = store.finish_sign_in(state)
    assert pending is not None and pending.return_to == "/orgs/x"
    assert store.finish_sign_in(state) is None
    late = store.begin_sign_in("verifier", "/")
    clock.now += sessions.PENDING_TTL + 1
    assert store.finish_sign_in(late) is None


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
