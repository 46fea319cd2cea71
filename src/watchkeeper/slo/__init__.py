"""Service level objectives: config, generated burn-rate rules, and status.

    config   the ``slos:`` section (SLOConfig: service, SLI, objective, window, alerting)
    rules    the generated recording and alerting rules (multiwindow, multi-burn-rate,
             with the low-traffic guard), as Prometheus rule-file data and YAML
    status   error budget remaining, burn rates and compliance of each SLO, read from the
             recorded series

The rule groups reach the rule manager through :func:`watchkeeper.rules.slo.slo_rule_groups`.
"""
