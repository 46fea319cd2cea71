"""The ``scrape`` collector: Prometheus text format 0.0.4 and OpenMetrics."""
