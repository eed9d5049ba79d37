"""The HTTP API (`paas-billing api`, `python -m tenant_api`): usage reports for people and
tools that cannot reach the broker, behind UAA tokens and the Cloud Controller's org roles.

Modules: `settings`, `main` (wiring), `server` (uvicorn, signals), `app` (the FastAPI
application, the start-up guard check), `problems` (errors as JSON), `routes` (the `/v1`
handlers), `dependencies` (the guard every `/v1` route takes), `queries` (query strings to
requests), `tokens` and `token_keys` (who is asking), `roles` and `access` (what they may
read: decided in `access` alone), `reports` and `pool` (the reporters' usage code over a
pool of read-only connections), `access_log` and `metrics` (what was answered); `dashboard`
(the pages at `/` for people in a browser, issue 17: docs/dashboard.md).
"""
