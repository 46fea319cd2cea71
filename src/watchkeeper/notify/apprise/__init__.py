"""The ``apprise`` channel: any Apprise URL (ntfy, Gotify, Matrix, Pushover, …)."""
