"""The project's error hierarchy. A class's docstring is its default message.

Driver errors (pika, psycopg2, requests) are translated into these at the I/O edge, so
business code never imports a driver exception.
"""

from __future__ import annotations


class BillingError(Exception):
    """A paas-billing error."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or type(self).__name__).strip())


class ConfigError(BillingError):
    """The configuration is invalid."""


class DatabaseUnavailable(BillingError):
    """The database cannot be reached."""


class DatabaseError(BillingError):
    """The database refused a statement."""

    def __init__(self, message: str | None = None, sqlstate: str = "") -> None:
        super().__init__(message)
        # PostgreSQL's SQLSTATE for the refusal ('' when it gave none).
        self.sqlstate = sqlstate


class BrokerUnavailable(BillingError):
    """The message broker cannot be reached."""


class PublishFailed(BillingError):
    """The broker did not confirm a published message."""


class CloudFoundryUnavailable(BillingError):
    """The Cloud Foundry API did not answer, or answered with a transient error."""

    def __init__(self, message: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CloudFoundryRefused(BillingError):
    """The Cloud Foundry API refused the request; retrying as is will not help."""


class AuthenticationFailed(CloudFoundryRefused):
    """UAA refused the credentials."""


class CursorLost(BillingError):
    """The Cloud Foundry API no longer knows the cursor's event guid (pruned or purged)."""

    def __init__(self, guid: str) -> None:
        super().__init__(f"the API no longer holds event {guid} (pruned or purged)")
        self.guid = guid


class InvalidEvent(BillingError):
    """A usage event failed validation."""


class InvalidRequest(BillingError):
    """A report request failed validation."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidFormula(BillingError):
    """A pricing formula is not valid."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


class FormulaFailed(BillingError):
    """A pricing formula could not be evaluated (a division by zero, an overflow)."""


class InvalidPricing(BillingError):
    """A pricing file was refused; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("pricing refused: " + "; ".join(problems))
        self.problems = problems


class InvalidToken(BillingError):
    """The bearer token is missing, malformed, expired or badly signed."""


class Forbidden(BillingError):
    """The caller may not read what they asked for."""


class SchemaTooNew(BillingError):
    """The database's schema was migrated by a newer paas-billing than this one."""
