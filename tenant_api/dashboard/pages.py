"""HTML answers: Jinja2 templates shipped in the package, the headers every page carries,
and errors as pages (never JSON, never a traceback) for the dashboard's paths.

`translated()` turns the project's errors into a `Problem` (a page with a status): a bad
parameter 400, a refusal 403, an outage 503; a token that no longer verifies sends the
browser to sign in again (`SignInNeeded`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any
from urllib.parse import urlencode

import jinja2
import structlog
from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from shared import errors

log = structlog.get_logger()

# Headers of every dashboard answer: nothing loaded from elsewhere, no script at all, never
# framed, never cached (the pages hold a tenant's figures).
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# The stylesheet, read once; its address carries a hash of it so browsers may cache it.
CSS = resources.files("tenant_api.dashboard").joinpath("static/dashboard.css").read_bytes()
CSS_PATH = "/dashboard.css"
CSS_URL = f"{CSS_PATH}?v={hashlib.sha256(CSS).hexdigest()[:12]}"
ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("tenant_api.dashboard", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENVIRONMENT.globals["css_url"] = CSS_URL


class Problem(Exception):
    """An answer other than the page asked for: a status, a title and what to do."""

    def __init__(self, status: int, title: str, message: str, *, sign_in: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message
        self.sign_in = sign_in


class SignInNeeded(Exception):
    """No session, or one whose token no longer verifies: sign in, then come back."""

    def __init__(self, return_to: str) -> None:
        super().__init__("sign in")
        self.return_to = return_to


def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("viewer", None)
    html = ENVIRONMENT.get_template(name).render(**context)
    return HTMLResponse(html, status, headers=dict(PAGE_HEADERS))


def problem_page(request: Request, problem: Problem) -> Response:
    request.state.refusal = problem.message if problem.status == 403 else None
    viewer = getattr(request.state, "viewer", None)
    return render("error.html", problem.status, problem=problem, viewer=viewer)


def sign_in_redirect(_request: Request, needed: SignInNeeded) -> Response:
    target = "/sign-in?" + urlencode({"return_to": needed.return_to})
    return RedirectResponse(target, 303, headers=dict(PAGE_HEADERS))


@contextmanager
def translated(return_to: str = "/") -> Iterator[None]:
    """The project's errors as problem pages (outages logged, never shown in detail)."""
    try:
        yield
    except errors.InvalidRequest as exc:
        raise Problem(400, "That address is not quite right", str(exc)) from None
    except errors.InvalidToken:
        raise SignInNeeded(return_to) from None
    except errors.Forbidden as exc:
        raise Problem(403, "You cannot open this page", str(exc)) from None
    except (errors.DatabaseUnavailable, errors.DatabaseError) as exc:
        log.warning("database_unavailable", error=str(exc))
        raise Problem(
            503,
            "The figures cannot be read just now",
            "The database did not answer; try again in a minute.",
        ) from None
    except (errors.CloudFoundryUnavailable, errors.CloudFoundryRefused) as exc:
        log.warning("cloud_foundry_unavailable", error=str(exc))
        raise Problem(
            503,
            "Sign-in is not available just now",
            "The UAA or the Cloud Controller did not answer; try again in a minute.",
        ) from None
