"""The UAA's clients and users, and the scopes that mean something to usage events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

# Scopes that mean something to usage events (CF API spec §8.3).
ADMIN = "cloud_controller.admin"
ADMIN_READ_ONLY = "cloud_controller.admin_read_only"
GLOBAL_AUDITOR = "cloud_controller.global_auditor"
READ = "cloud_controller.read"
WRITE = "cloud_controller.write"
# Scopes the `cf` client may hand out on a password grant (cf-deployment's list, abridged).
CF_CLIENT_SCOPES = (
    "openid",
    ADMIN,
    ADMIN_READ_ONLY,
    GLOBAL_AUDITOR,
    READ,
    WRITE,
    "uaa.user",
    "scim.read",
    "doppler.firehose",
)
# The dashboard's client (the API signing people in with the authorization-code flow).
DASHBOARD_CLIENT = ("paas-billing-dashboard", "paas-billing-dashboard-simulator-secret")
# Hosts a dashboard client may send browsers back to (any port, any path).
LOCAL_HOSTS = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str
    scopes: tuple[str, ...]  # authorities (client_credentials) or allowed scopes (others)
    grants: tuple[str, ...]
    redirect_hosts: tuple[str, ...] = ()  # authorization_code: where it may send browsers


@dataclass(frozen=True)
class User:
    username: str
    password: str
    groups: tuple[str, ...]
    user_id: str


def default_clients(client_id: str, client_secret: str) -> list[Client]:
    return [
        Client(client_id, client_secret, (ADMIN_READ_ONLY,), ("client_credentials",)),
        Client("auditor", "auditor-secret", (GLOBAL_AUDITOR,), ("client_credentials",)),
        Client("reader", "reader-secret", (READ,), ("client_credentials",)),
        Client("cf", "", CF_CLIENT_SCOPES, ("password", "refresh_token")),
        Client(
            *DASHBOARD_CLIENT,
            ("openid", READ, ADMIN_READ_ONLY, GLOBAL_AUDITOR),
            ("authorization_code", "refresh_token"),
            LOCAL_HOSTS,
        ),
    ]


def user_id_of(username: str) -> str:
    """The id a user gets when none is given: stable across runs."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"simulator-user:{username}"))


def default_users(username: str, password: str) -> list[User]:
    groups = (ADMIN, ADMIN_READ_ONLY, READ, WRITE, "openid", "uaa.user")
    return [User(username, password, groups, user_id_of(username))]
