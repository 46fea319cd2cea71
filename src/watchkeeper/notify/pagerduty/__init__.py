"""The ``pagerduty`` channel: Events API v2 (trigger, acknowledge, resolve)."""
