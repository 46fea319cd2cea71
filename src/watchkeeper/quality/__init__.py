"""Alert quality and reports.

incidents  firing episodes of alerts, rebuilt from the alert history
labels     operators' verdicts on resolved alerts (actionable, noise, duplicate)
metrics    per rule: precision, false-positive rate, MTTA, MTTR, flapping
config     the ``reports:`` section (digest schedules, response targets)
digest     daily and weekly digests
scheduler  sends digests on their cron through the notification outbox; stores them
uptime     uptime / SLA report of a service for a period (page, CSV, print-ready HTML)
overhead   what monitoring costs (CPU, memory, series, evaluations)
service    ReportService: everything above behind one object for the runtime and web
"""
