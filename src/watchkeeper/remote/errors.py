"""Errors of push ingestion and remote storage, in Watchkeeper's one exception tree::

    UserInputError (400)
    └── PushError                    a push the receiver refuses as a whole (400)
        ├── UnsupportedPushError     wrong Content-Encoding, Content-Type or protocol (415)
        └── PushTooLargeError        body or decoded body over the configured limit (413)
    LimitExceededError
    └── SeriesLimitError             new series beyond the cardinality limits (400)
    QueryError
    └── RemoteQueryError             the remote TSDB could not be asked (503 unavailable)
    StorageError
    └── RemoteWriteQueueError        the persistent queue cannot be read or written

Every refusal of a push is a 4xx other than 429, so a remote-write sender drops the batch
instead of retrying it forever; 5xx and 429 are only for what a retry can fix.
"""

from __future__ import annotations

from watchkeeper.core.errors import (
    LimitExceededError,
    QueryError,
    StorageError,
    UserInputError,
)


class PushError(UserInputError):
    """A push refused as a whole: nothing of it was stored."""

    status_code = 400


class UnsupportedPushError(PushError):
    status_code = 415


class PushTooLargeError(PushError):
    status_code = 413


class SeriesLimitError(LimitExceededError):
    """The push would create series beyond ``storage.max_series`` or
    ``storage.max_series_per_target``; nothing of it was stored."""

    status_code = 400


class RemoteQueryError(QueryError):
    """The remote TSDB behind ``storage.query_url`` did not answer (connection refused,
    timeout, 5xx): the query may succeed later."""

    error_type = "unavailable"
    status_code = 503


class RemoteWriteQueueError(StorageError):
    """The remote-write queue's directory cannot be read or written."""
