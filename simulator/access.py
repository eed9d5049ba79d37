"""Who the caller is and what they may do (CF API spec §1.1, §3.5, §4.4)."""

from __future__ import annotations

from simulator import accounts, cferrors
from simulator.exchange import Request
from simulator.uaa import Grant, TokenAuthority


def authenticate(request: Request, authority: TokenAuthority) -> Grant | cferrors.CFError:
    """The caller's grant, or the error: no header → NotAuthenticated, else InvalidAuthToken."""
    header = request.header("authorization")
    if header is None:
        return cferrors.NOT_AUTHENTICATED
    if header[:6].upper() != "BEARER":
        return cferrors.INVALID_AUTH_TOKEN
    grant = authority.check(header[6:].strip())
    return cferrors.INVALID_AUTH_TOKEN if grant is None else grant


def is_admin(grant: Grant) -> bool:
    return accounts.ADMIN in grant.scopes


def reads_globally(grant: Grant, auditor: bool = True) -> bool:
    """admin or admin_read_only, and global_auditor when `auditor`."""
    scopes = grant.scopes
    return (
        accounts.ADMIN in scopes
        or accounts.ADMIN_READ_ONLY in scopes
        or (auditor and accounts.GLOBAL_AUDITOR in scopes)
    )


def may_read(grant: Grant) -> bool:
    """The v3 before_action for GET: a global reader or cloud_controller.read."""
    return reads_globally(grant) or accounts.READ in grant.scopes
