"""The one exception tree of Watchkeeper. Web and CLI map these to HTTP codes and exit
codes at the edge; domain code never imports the web framework.

    WatchkeeperError
    ├── ConfigError                 bad configuration (CLI exit 2, never a traceback)
    ├── UserInputError              a client mistake: 4xx at the edge
    │   ├── NotFoundError           404
    │   ├── ConflictError           409
    │   ├── PermissionDeniedError   403
    │   └── AuthenticationError     401
    ├── LimitExceededError          a configured limit (cardinality, samples, body size): 4xx/422
    ├── QueryError                  PromQL parse or evaluation error
    │   ├── QueryParseError         bad_data (400)
    │   ├── QueryTimeoutError       timeout (503)
    │   └── QueryLimitError         too many samples (422)
    ├── CollectError                a target could not be collected (target down, not a crash)
    ├── DeliveryError               a notification attempt failed; knows if it is retryable
    └── StorageError                the store could not read or write
"""

from __future__ import annotations

from enum import StrEnum


class WatchkeeperError(Exception):
    """Base of every error Watchkeeper raises on purpose."""


class ConfigError(WatchkeeperError):
    """One or more configuration problems. ``problems`` lists each with its location."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class UserInputError(WatchkeeperError):
    """A client sent something we cannot accept. The message says what and how to fix it."""

    status_code = 400


class NotFoundError(UserInputError):
    status_code = 404


class ConflictError(UserInputError):
    status_code = 409


class PermissionDeniedError(UserInputError):
    status_code = 403


class AuthenticationError(UserInputError):
    status_code = 401


class LimitExceededError(UserInputError):
    status_code = 422


class QueryError(WatchkeeperError):
    error_type = "execution"
    status_code = 422


class QueryParseError(QueryError):
    error_type = "bad_data"
    status_code = 400


class QueryTimeoutError(QueryError):
    error_type = "timeout"
    status_code = 503


class QueryLimitError(QueryError):
    error_type = "execution"
    status_code = 422


class CollectError(WatchkeeperError):
    """A target could not be collected. Not a crash: the target is reported down."""


class DeliveryFailure(StrEnum):
    """Why a delivery attempt failed; the reason decides whether to retry."""

    SERVER_ERROR = "server_error"  # 5xx: retryable
    RATE_LIMITED = "rate_limited"  # 429: retryable, honour Retry-After
    TIMEOUT = "timeout"  # retryable
    CONNECTION = "connection"  # refused, DNS, reset: retryable
    CLIENT_ERROR = "client_error"  # 4xx other than 429: permanent
    AUTH = "auth"  # 401/403: permanent, the channel is misconfigured
    BAD_RESPONSE = "bad_response"  # 2xx whose body says it failed, or a malformed answer
    CONFIG = "config"  # the receiver config cannot produce a request: permanent
    OTHER = "other"


RETRYABLE_FAILURES = frozenset(
    {
        DeliveryFailure.SERVER_ERROR,
        DeliveryFailure.RATE_LIMITED,
        DeliveryFailure.TIMEOUT,
        DeliveryFailure.CONNECTION,
        DeliveryFailure.BAD_RESPONSE,
    }
)


class DeliveryError(WatchkeeperError):
    """A notification attempt failed. ``retryable`` follows from ``reason`` unless given."""

    def __init__(
        self,
        message: str,
        *,
        reason: DeliveryFailure,
        status_code: int | None = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.status_code = status_code
        self.retry_after = retry_after
        self.retryable = reason in RETRYABLE_FAILURES if retryable is None else retryable


class StorageError(WatchkeeperError):
    """The store could not read or write."""
