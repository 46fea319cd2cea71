"""Watchkeeper: monitoring, alerting and production-readiness validation for apps on PaaS."""

__version__ = "0.1.0"
