"""Signing in and out: the UAA's authorization-code flow, the session cookie, sign-out.

`GET /sign-in` starts a sign-in: a random `state` and a PKCE verifier sealed, with the page
to come back to, in a short-lived cookie of this browser (`sessions`), and a redirect to the
UAA. `GET /auth/callback`, on whichever replica it lands, accepts only the `state` this
browser's cookie holds, within ten minutes (a forged callback is refused; the cookie is
cleared whatever the outcome, and the UAA takes a code once), trades the code for the
user's token, verifies it as `/v1` verifies a bearer token, and starts a session: a sealed
cookie. `POST /sign-out` (a form carrying the session's CSRF token) clears it.
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
from tenant_api.dashboard import guard, oauth, pages, sessions

log = structlog.get_logger()
router = APIRouter(include_in_schema=False)

# Paths anyone may open (the pages with figures take `guard.viewer`).
PUBLIC_PATHS = frozenset({"/sign-in", oauth.CALLBACK_PATH, "/sign-out"})
# Seconds the sign-in cookie lives (as long as a sign-in in progress).
STATE_COOKIE_SECONDS = sessions.PENDING_TTL
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
    board = guard.board(request)
    state, sealed = board.sessions.begin_sign_in(verifier, safe_return(return_to))
    with pages.translated():
        target = uaa.authorize_url(state, verifier)
    response = _redirect(target)
    guard.set_cookie(request, response, guard.STATE, sealed, STATE_COOKIE_SECONDS)
    return response


@router.get(oauth.CALLBACK_PATH)
def callback(
    request: Request,
    code: Annotated[str | None, Query(max_length=4000)] = None,
    state: Annotated[str | None, Query(max_length=200)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Starts the session; a refused callback's page clears the sign-in cookie too."""
    try:
        response = _finish_sign_in(request, code, state, error)
    except pages.Problem as problem:
        response = pages.problem_page(request, problem)
    guard.clear_cookie(request, response, guard.STATE)
    return response


def _finish_sign_in(
    request: Request, code: str | None, state: str | None, error: str | None
) -> Response:
    board = guard.board(request)
    cookie = request.cookies.get(guard.cookie_name(request, guard.STATE))
    pending = board.sessions.finish_sign_in(cookie, state)
    if pending is None:
        log.warning("sign_in_state_refused", cookie=bool(cookie), state=bool(state))
        raise pages.Problem(
            400,
            "This sign-in did not start here",
            "The sign-in was not started in this browser, or it has already been used. "
            "Sign in again.",
            sign_in=True,
        )
    if pending.expired:
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
    request.state.caller = caller
    try:
        sealed, session = board.sessions.start(token, caller.expires_at or 0.0)
    except sessions.CookieTooLarge as exc:
        log.error("session_cookie_too_large", user_id=caller.user_id, chars=exc.chars)
        raise pages.Problem(
            500,
            "Your sign-in could not be kept",
            "Your account's token is too large for a browser cookie. Tell the operator: the "
            "API's log says how large.",
        ) from None
    log.info("signed_in", user_id=caller.user_id, client_id=caller.client_id)
    response = _redirect(pending.return_to)
    max_age = max(int(session.expires_at - board.now().timestamp()), 1)
    guard.set_cookie(request, response, guard.SESSION, sealed, max_age)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    """Clears the session cookie when the form carries its CSRF token; then the front page."""
    body = await request.body()
    found = await run_in_threadpool(guard.optional_viewer, request)
    if found is not None:
        form = dict(parse_qsl(body[:MAX_FORM_BYTES].decode("utf-8", "replace")))
        sent = form.get("csrf", "")
        if not hmac.compare_digest(sent.encode(), found.csrf.encode()):
            raise pages.Problem(403, "You were not signed out", "Use the Sign out button.")
        log.info("signed_out", user_id=found.caller.user_id)
    response = _redirect("/")
    guard.clear_cookie(request, response, guard.SESSION)
    return response
