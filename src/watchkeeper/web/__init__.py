"""The ASGI app: JSON API, Prometheus and Alertmanager compatible APIs, dashboard and
public status page."""
