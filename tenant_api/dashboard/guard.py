"""Who is looking: the session cookie to a verified caller, or a sign-in first.

The cookie holds the session sealed (`sessions`, `sealing`): the user's UAA token, which no
one without the key reads, and which is verified again on every page exactly as a `/v1`
bearer token is (`tokens.verify`), so an expired token ends the session. A cookie that does
not open (changed, or sealed with another key) is no session: the page asks to sign in.
Cookies are HttpOnly (no script reads them), SameSite=Lax (another site's form cannot post
with them) and, when the dashboard is served over https, Secure with the `__Host-` prefix
(only this host, only https).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request, Response

from shared import errors
from tenant_api import dependencies, tokens
from tenant_api.dashboard import pages
from tenant_api.dashboard.state import Dashboard

# Cookie names: the session, and the state of a sign-in in progress.
SESSION, STATE = "pb_session", "pb_signin"
# The Secure cookies' prefix (the browser then refuses a Domain attribute or plain http).
HOST_PREFIX = "__Host-"


@dataclass(frozen=True)
class Viewer:
    caller: tokens.Caller
    csrf: str

    @property
    def name(self) -> str:
        return self.caller.user_name or self.caller.subject


def board(request: Request) -> Dashboard:
    found = dependencies.services(request).dashboard
    if found is None:
        raise RuntimeError("the dashboard is not wired")  # main() always wires it
    return found


def cookie_name(request: Request, base: str) -> str:
    return HOST_PREFIX + base if board(request).secure_cookies else base


def set_cookie(request: Request, response: Response, base: str, value: str, max_age: int) -> None:
    response.set_cookie(
        cookie_name(request, base),
        value,
        max_age=max_age,
        path="/",
        secure=board(request).secure_cookies,
        httponly=True,
        samesite="lax",
    )


def clear_cookie(request: Request, response: Response, base: str) -> None:
    response.delete_cookie(
        cookie_name(request, base),
        path="/",
        secure=board(request).secure_cookies,
        httponly=True,
        samesite="lax",
    )


def here(request: Request) -> str:
    """This page's path and query, to come back to after signing in."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def optional_viewer(request: Request) -> Viewer | None:
    """The signed-in viewer, or None (no cookie, one that does not open, a session over)."""
    session = board(request).sessions.get(request.cookies.get(cookie_name(request, SESSION)))
    if session is None:
        return None
    with pages.translated(here(request)):
        try:
            caller = tokens.verify(session.token, dependencies.services(request).keys)
        except errors.InvalidToken:
            return None
    request.state.caller = caller
    found = Viewer(caller, session.csrf)
    request.state.viewer = found
    return found


def viewer(request: Request) -> Viewer:
    """The guard of every dashboard page with figures: a signed-in viewer, or SignInNeeded."""
    found = optional_viewer(request)
    if found is None:
        raise pages.SignInNeeded(here(request))
    return found


setattr(viewer, dependencies.GUARD_MARK, "session")
