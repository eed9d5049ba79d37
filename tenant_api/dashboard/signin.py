"""Signing in and out: the UAA's authorization-code flow, the session cookie, sign-out.

`GET /sign-in` starts a sign-in: a random `state` kept on the server with a PKCE verifier and
the page to come back to, the same `state` in a short-lived cookie of this browser, and a
redirect to the UAA. `GET /auth/callback` accepts only the `state` this browser started,
once, within ten minutes (a forged or replayed callback is refused), trades the code for the
user's token, verifies it as `/v1` verifies a bearer token, and starts a session. `POST
/sign-out` (a form carrying the session's CSRF token) ends it.
"""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import parse_qsl

import structlog
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from tenant_api import dependencies, tokens
from tenant_api.dashboard import guard, oauth, pages

log = structlog.get_logger()
router = APIRouter(include_in_schema=False)

# Paths anyone may open (the pages with figures take `guard.viewer`).
PUBLIC_PATHS = frozenset({"/sign-in", oauth.CALLBACK_PATH, "/sign-out"})
# Seconds the sign-in cookie lives (as long as a sign-in in progress).
STATE_COOKIE_SECONDS = 600
# Most of a sign-out form read (it holds one token).
MAX_FORM_BYTES = 4096


def safe_return(target: str | None) -> str:
    """A path on this site to come back to; anything else (another site, `//host`) is `/`."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(not ch.isprintable() for ch in target) or len(target) > 2000:
        return "/"
    return target


def _redirect(target: str) -> Response:
    return RedirectResponse(target, 303, headers=dict(pages.PAGE_HEADERS))


@router.get("/sign-in")
def sign_in(
    request: Request, return_to: Annotated[str | None, Query(max_length=2000)] = None
) -> Response:
    uaa = guard.board(request).uaa
    if uaa is None:
        raise pages.Problem(
            503,
            "Sign-in is not set up",
            "This server has no UAA client for the dashboard yet: the operator sets "
            "DASHBOARD_CLIENT_ID, DASHBOARD_CLIENT_SECRET and DASHBOARD_URL.",
        )
    verifier = oauth.new_verifier()
    state = guard.board(request).sessions.begin_sign_in(verifier, safe_return(return_to))
    with pages.translated():
        target = uaa.authorize_url(state, verifier)
    response = _redirect(target)
    guard.set_cookie(request, response, guard.STATE, state, STATE_COOKIE_SECONDS)
    return response


@router.get(oauth.CALLBACK_PATH)
def callback(
    request: Request,
    code: Annotated[str | None, Query(max_length=4000)] = None,
    state: Annotated[str | None, Query(max_length=200)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    board = guard.board(request)
    expected = request.cookies.get(guard.cookie_name(request, guard.STATE)) or ""
    if not state or not hmac.compare_digest(state.encode(), expected.encode()):
        log.warning("sign_in_state_refused", cookie=bool(expected), state=bool(state))
        raise pages.Problem(
            400,
            "This sign-in did not start here",
            "The sign-in was not started in this browser, or it has already been used. "
            "Sign in again.",
            sign_in=True,
        )
    pending = board.sessions.finish_sign_in(state)
    if pending is None:
        raise pages.Problem(
            400, "This sign-in has expired", "Sign-ins expire after ten minutes. Sign in again.",
            sign_in=True,
        )  # fmt: skip
    if error or not code or board.uaa is None:
        raise pages.Problem(
            401, "You did not sign in", "The sign-in was cancelled or refused.", sign_in=True
        )
    with pages.translated():
        token = board.uaa.exchange(code, pending.verifier)
        caller = tokens.verify(token, dependencies.services(request).keys)
    session_id, session = board.sessions.start(token, caller.expires_at or 0.0)
    request.state.caller = caller
    log.info("signed_in", user_id=caller.user_id, client_id=caller.client_id)
    response = _redirect(pending.return_to)
    max_age = max(int(session.expires_at - board.now().timestamp()), 1)
    guard.set_cookie(request, response, guard.SESSION, session_id, max_age)
    guard.clear_cookie(request, response, guard.STATE)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    """Ends the session when the form carries its CSRF token; then back to the front page."""
    body = await request.body()
    found = await run_in_threadpool(guard.optional_viewer, request)
    if found is not None:
        form = dict(parse_qsl(body[:MAX_FORM_BYTES].decode("utf-8", "replace")))
        sent = form.get("csrf", "")
        if not hmac.compare_digest(sent.encode(), found.csrf.encode()):
            raise pages.Problem(403, "You were not signed out", "Use the Sign out button.")
        guard.board(request).sessions.end(found.session_id)
        log.info("signed_out", user_id=found.caller.user_id)
    response = _redirect("/")
    guard.clear_cookie(request, response, guard.SESSION)
    return response
