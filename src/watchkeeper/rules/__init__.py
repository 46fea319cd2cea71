"""Rules: Prometheus rule files (alerting and recording), evaluated on their interval and as
soon as samples arrive for a series they read, with the alert state machine
(inactive -> pending -> firing -> resolved) persisted across restarts."""
