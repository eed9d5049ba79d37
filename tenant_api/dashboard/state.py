"""The dashboard's collaborators, built in main() and kept on `Services.dashboard`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from tenant_api.dashboard.figures import Figures
from tenant_api.dashboard.oauth import UaaClient
from tenant_api.dashboard.sessions import Sessions


@dataclass(frozen=True)
class Dashboard:
    sessions: Sessions
    figures: Figures
    uaa: UaaClient | None  # None: DASHBOARD_CLIENT_ID is not set, nobody can sign in
    secure_cookies: bool  # the dashboard is served over https: cookies only go there
    now: Callable[[], datetime]
