"""The readiness checks, one module each, listed in :mod:`watchkeeper.readiness.registry`."""
