"""The ``webhook`` channel: the Alertmanager webhook payload (version 4) or a custom body."""
