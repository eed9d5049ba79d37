"""The UAA's sign-in for web applications: `/oauth/authorize` and a plain login page.

`GET /oauth/authorize?response_type=code&client_id=...&redirect_uri=...&state=...` (and PKCE's
`code_challenge`, `code_challenge_method`) shows a login page; posting it with a user's
password sends the browser back to `redirect_uri` with `code` and `state`, and the client
exchanges the code at `/oauth/token` (`simulator.codes`). A real UAA keeps its own session
and shows the page at `/login`; here every sign-in asks for the password.

The client and its redirect address are checked before anything else: a request naming an
unknown client or an address the client may not use gets an error page, never a redirect.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qsl, urlencode, urlsplit

from simulator import codes
from simulator.exchange import Request, Response
from simulator.uaa import TokenAuthority

# The authorization request's parameters that the login form carries along.
CARRIED = (
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "scope",
    "code_challenge",
    "code_challenge_method",
)
# Headers of every page: never cached, never framed.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    # No form-action: the form's answer redirects the browser to the client, elsewhere.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'",
}
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - Cloud Foundry (simulator)</title>
<style>body{{font:1rem/1.5 system-ui,sans-serif;max-width:24rem;margin:2rem auto;padding:0 1rem;
color:#1b1b1b}}label{{display:block;margin-top:1rem;font-weight:600}}input{{width:100%;
padding:.5rem;font-size:1rem;box-sizing:border-box}}button{{margin-top:1.25rem;padding:.6rem 1.2rem;
font-size:1rem}}.error{{color:#a4000f;font-weight:600}}</style></head>
<body><main><h1>{title}</h1>{body}</main></body></html>"""


class Login:
    def __init__(self, authority: TokenAuthority) -> None:
        self._authority = authority

    def authorize(self, request: Request) -> Response:
        if request.method == "GET":
            params = dict(request.query)
        elif request.method == "POST":
            params = dict(parse_qsl(request.body.decode("utf-8", "replace"), True))
        else:
            return _page(405, "Method not allowed", "<p>Use GET or POST.</p>")
        problem = self._client_problem(params)
        if problem is not None:
            return _page(400, "Sign-in refused", f"<p class=error>{html.escape(problem)}</p>")
        if params.get("response_type") != "code":
            return _back(params, {"error": "unsupported_response_type"})
        method = params.get("code_challenge_method") or "plain"
        if params.get("code_challenge") and method not in codes.CHALLENGE_METHODS:
            return _back(params, {"error": "invalid_request"})
        if request.method == "GET":
            return _form(params, 200, "")
        if "cancel" in params:
            return _back(params, {"error": "access_denied"})
        return self._sign_in(params, method)

    def _client_problem(self, params: dict[str, str]) -> str | None:
        client = self._authority.client(params.get("client_id", ""))
        if client is None or "authorization_code" not in client.grants:
            return "No such client, or it may not use the authorization-code flow."
        target = urlsplit(params.get("redirect_uri", ""))
        if (
            target.scheme not in ("http", "https")
            or target.username is not None
            or target.hostname not in client.redirect_hosts
        ):
            return "The redirect_uri is not registered for this client."
        return None

    def _sign_in(self, params: dict[str, str], method: str) -> Response:
        user = self._authority.sign_in(params.get("username", ""), params.get("password", ""))
        if user is None:
            return _form(params, 401, "<p class=error role=alert>Bad credentials.</p>")
        client = self._authority.client(params["client_id"])
        assert client is not None  # checked by _client_problem
        scopes = frozenset(s for s in client.scopes if s in user.groups)
        requested = params.get("scope")
        if requested:
            scopes = frozenset(s for s in requested.split() if s in scopes)
        code = self._authority.codes.issue(
            codes.Code(
                client.client_id,
                params["redirect_uri"],
                user.username,
                scopes,
                params.get("code_challenge") or None,
                method,
                self._authority.now() + codes.CODE_TTL,
            )
        )
        return _back(params, {"code": code})


def _back(params: dict[str, str], answer: dict[str, str]) -> Response:
    """Send the browser back to the client's (checked) redirect address."""
    if params.get("state"):
        answer["state"] = params["state"]
    target = params["redirect_uri"]
    location = target + ("&" if "?" in target else "?") + urlencode(answer)
    return Response(302, b"", None, {"Location": location, "Cache-Control": "no-store"})


def _form(params: dict[str, str], status: int, message: str) -> Response:
    hidden = "".join(
        f'<input type=hidden name="{name}" value="{html.escape(params[name])}">'
        for name in CARRIED
        if params.get(name)
    )
    body = (
        f"{message}<form method=post action=/oauth/authorize>{hidden}"
        "<label for=username>Username</label>"
        "<input id=username name=username autocomplete=username required autofocus>"
        "<label for=password>Password</label>"
        "<input id=password name=password type=password autocomplete=current-password required>"
        "<button type=submit>Sign in</button> "
        "<button type=submit name=cancel value=1 formnovalidate>Cancel</button></form>"
    )
    return _page(status, "Sign in", body)


def _page(status: int, title: str, body: str) -> Response:
    text = PAGE.format(title=html.escape(title), body=body)
    return Response(status, text.encode(), "text/html; charset=utf-8", dict(PAGE_HEADERS))
