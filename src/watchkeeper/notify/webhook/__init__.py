"""The ``webhook`` channel: the Alertmanager webhook payload (version 4)."""
