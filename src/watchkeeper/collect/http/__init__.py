"""The ``http`` synthetic check (blackbox-exporter style ``probe_*`` series)."""
