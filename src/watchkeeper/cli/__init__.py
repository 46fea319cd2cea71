"""The ``watchkeeper`` command."""
