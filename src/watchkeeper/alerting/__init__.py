"""Alert management: routing, grouping, inhibition, silences, acknowledgement, escalation,
maintenance windows and history, modelled as pipeline stages."""
