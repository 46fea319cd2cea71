"""Generate an SLO's recording and alerting rules, in Prometheus rule-file form.

Per SLO, one rule group ``slo:<name>`` (evaluated in order, so later rules read what
earlier ones recorded this evaluation):

* events per window, for the burn-rate windows up to 6 h, from the raw SLI::

      slo:sli_total:increase<w>     all events in the window
      slo:sli_errors:increase<w>    bad events in the window
      slo:sli_error:ratio_rate<w>   bad / all

* the same for 1 d, 3 d and the compliance window (e.g. 30 d), summed from the 5-minute
  records at 5-minute steps (a subquery, ``sum_over_time(x5m[30d:5m])``), so that a
  30-day figure does not read 30 days of raw samples on every evaluation, and a window
  only counts the events it has seen (nothing is extrapolated from a young history);
* Sloth-compatible summaries: ``slo:objective:ratio``, ``slo:error_budget:ratio``,
  ``slo:time_period:days``, ``slo:current_burn_rate:ratio`` (over the last hour),
  ``slo:period_burn_rate:ratio`` and ``slo:period_error_budget_remaining:ratio``;
* two alerts (the Google SRE workbook's multiwindow, multi-burn-rate alerts): *page*
  when 2 % of the budget burns in 1 h (and still in the last 5 m) or 5 % in 6 h (and
  still in the last 30 m); *ticket* for 10 % in 1 d (and 2 h) or 10 % in 3 d (and 6 h).
  For a 30-day window those are burn rates 14.4, 6, 3 and 1; other windows scale them
  so each alert still means the same share of the budget.

Low traffic: each window pair also requires its long window to hold ``min_events``
events and ``error_floor`` bad events, so a handful of failures among a handful of
requests (2 of 3 at night) never pages, however high the ratio.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import yaml

from watchkeeper.core.durations import format_duration
from watchkeeper.slo.config import WINDOW_PLACEHOLDER, SLOConfig

SOURCE_NAME = "slos"
TOTAL = "slo:sli_total:increase"
ERRORS = "slo:sli_errors:increase"
RATIO = "slo:sli_error:ratio_rate"
OBJECTIVE = "slo:objective:ratio"
BUDGET = "slo:error_budget:ratio"
PERIOD_DAYS = "slo:time_period:days"
CURRENT_BURN = "slo:current_burn_rate:ratio"
PERIOD_BURN = "slo:period_burn_rate:ratio"
BUDGET_REMAINING = "slo:period_error_budget_remaining:ratio"
ALERT_KIND_LABEL = "slo_alert"
BASE_WINDOW = 300.0  # the 5 m records the long windows are computed from
RAW_WINDOWS = (300.0, 1800.0, 3600.0, 7200.0, 21600.0)
LONG_WINDOWS = (86400.0, 259200.0)


class BurnSeverity(StrEnum):
    PAGE = "page"
    TICKET = "ticket"


@dataclass(frozen=True, slots=True)
class BurnWindow:
    severity: BurnSeverity
    long: float  # seconds
    short: float
    budget_share: float  # share of the whole window's budget burnt in ``long``

    def factor(self, window: float) -> float:
        """The burn rate that consumes ``budget_share`` of the budget in ``long``."""
        return round(self.budget_share * window / self.long, 4)


BURN_WINDOWS = (
    BurnWindow(BurnSeverity.PAGE, 3600.0, 300.0, 0.02),
    BurnWindow(BurnSeverity.PAGE, 21600.0, 1800.0, 0.05),
    BurnWindow(BurnSeverity.TICKET, 86400.0, 7200.0, 0.10),
    BurnWindow(BurnSeverity.TICKET, 259200.0, 21600.0, 0.10),
)


def w(seconds: float) -> str:
    """A window as PromQL writes it: 5m, 1h, 1d, 30d."""
    return format_duration(seconds)


def num(value: float) -> str:
    text = f"{value:.12g}"
    return text


def _selector(base: str, matchers: str) -> str:
    return f"{base}{{{matchers}}}" if matchers else base


def sli_queries(slo: SLOConfig, window: str) -> tuple[str, str]:
    """PromQL for (all events, bad events) of the SLI over ``window`` (e.g. ``"5m"``),
    each returning one series without labels."""
    sli = slo.sli
    default = f'service="{slo.service}"'
    if sli.events is not None:
        ev = sli.events

        def count(query: str) -> str:
            if WINDOW_PLACEHOLDER in query:
                return f"sum({query.replace(WINDOW_PLACEHOLDER, window)})"
            return f"sum(increase({query}[{window}]))"

        total = count(ev.total)
        if ev.bad is not None:
            return total, f"({count(ev.bad)} or vector(0))"
        return total, f"clamp_min({total} - ({count(str(ev.good))} or vector(0)), 0)"
    if sli.availability is not None:
        av = sli.availability
        sel = _selector(av.metric, av.matchers if av.matchers is not None else default)
        total = f"sum(count_over_time({sel}[{window}]))"
        return total, f"clamp_min({total} - sum(sum_over_time({sel}[{window}])), 0)"
    if sli.latency is not None:
        lat = sli.latency
        matchers = lat.matchers if lat.matchers is not None else default
        total = f"sum(increase({_selector(lat.metric + '_count', matchers)}[{window}]))"
        bucket_matchers = ", ".join(m for m in (matchers, f'le="{lat.le}"') if m)
        good = f"sum(increase({lat.metric}_bucket{{{bucket_matchers}}}[{window}]))"
        return total, f"clamp_min({total} - ({good} or vector(0)), 0)"
    raise ValueError(f"SLO {slo.name!r} has no SLI")  # the config model prevents this


def _labels(slo: SLOConfig) -> dict[str, str]:
    return {**slo.labels, "slo": slo.name, "service": slo.service}


def _record(name: str, expr: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"record": name, "expr": expr, "labels": dict(labels)}


def _window_records(slo: SLOConfig) -> list[dict[str, Any]]:
    labels = _labels(slo)
    sel = f'{{slo="{slo.name}"}}'
    out: list[dict[str, Any]] = []
    for seconds in RAW_WINDOWS:
        total, errors = sli_queries(slo, w(seconds))
        out.append(_record(TOTAL + w(seconds), total, labels))
        out.append(_record(ERRORS + w(seconds), errors, labels))
    for seconds in (*LONG_WINDOWS, float(slo.window)):
        for name in (TOTAL, ERRORS):
            base = f"{name}{w(BASE_WINDOW)}{sel}"
            step = w(BASE_WINDOW)
            out.append(
                _record(name + w(seconds), f"sum_over_time({base}[{w(seconds)}:{step}])", labels)
            )
    for seconds in (*RAW_WINDOWS, *LONG_WINDOWS, float(slo.window)):
        out.append(
            _record(
                RATIO + w(seconds),
                f"{ERRORS}{w(seconds)}{sel} / {TOTAL}{w(seconds)}{sel}",
                labels,
            )
        )
    return out


def _summary_records(slo: SLOConfig) -> list[dict[str, Any]]:
    labels = _labels(slo)
    sel = f'{{slo="{slo.name}"}}'
    budget = num(slo.error_budget)
    period = w(float(slo.window))
    return [
        _record(OBJECTIVE, f"vector({num(slo.objective / 100)})", labels),
        _record(BUDGET, f"vector({budget})", labels),
        _record(PERIOD_DAYS, f"vector({slo.window_days})", labels),
        _record(CURRENT_BURN, f"{RATIO}1h{sel} / {budget}", labels),
        _record(PERIOD_BURN, f"{RATIO}{period}{sel} / {budget}", labels),
        _record(BUDGET_REMAINING, f"1 - {PERIOD_BURN}{sel}", labels),
    ]


def burn_condition(slo: SLOConfig, bw: BurnWindow) -> str:
    """One window pair: both windows burn faster than the factor, and the long window
    has enough events and bad events (the low-traffic guard)."""
    sel = f'{{slo="{slo.name}"}}'
    budget = num(slo.error_budget)
    factor = num(bw.factor(float(slo.window)))
    long, short = w(bw.long), w(bw.short)
    terms = [
        f"{RATIO}{long}{sel} / {budget} > {factor}",
        f"{RATIO}{short}{sel} / {budget} > {factor}",
    ]
    guard = slo.alerting
    if guard.min_events > 0:
        terms.append(f"{TOTAL}{long}{sel} >= {num(guard.min_events)}")
    if guard.error_floor > 0:
        terms.append(f"{ERRORS}{long}{sel} >= {num(guard.error_floor)}")
    return "(\n  " + "\n  and ".join(f"({t})" for t in terms) + "\n)"


def _alert(slo: SLOConfig, severity: BurnSeverity) -> dict[str, Any] | None:
    cfg = slo.alerting.page if severity is BurnSeverity.PAGE else slo.alerting.ticket
    if not cfg.enabled:
        return None
    pairs = [bw for bw in BURN_WINDOWS if bw.severity is severity]
    expr = "\nor\n".join(burn_condition(slo, bw) for bw in pairs)
    described = ", ".join(
        f"{num(bw.factor(float(slo.window)))}x over {w(bw.long)} and {w(bw.short)}" for bw in pairs
    )
    annotations = {
        "summary": f"SLO {slo.name} ({slo.service}) burns its error budget "
        '{{ $value | printf "%.1f" }} times too fast',
        "description": f"Objective {num(slo.objective)} % over {w(float(slo.window))}; "
        f"this {severity.value} alert fires at a burn rate of {described}.",
        **cfg.annotations,
    }
    rule: dict[str, Any] = {
        "alert": cfg.name,
        "expr": expr,
        "labels": {**_labels(slo), ALERT_KIND_LABEL: severity.value, **cfg.labels},
        "annotations": annotations,
    }
    if float(slo.alerting.for_):
        rule["for"] = w(float(slo.alerting.for_))
    return rule


def group_name(slo: SLOConfig) -> str:
    return f"slo:{slo.name}"


def slo_group(slo: SLOConfig, default_interval: float) -> dict[str, Any]:
    rules = [*_window_records(slo), *_summary_records(slo)]
    for severity in BurnSeverity:
        alert = _alert(slo, severity)
        if alert is not None:
            rules.append(alert)
    interval = float(slo.interval) if slo.interval is not None else default_interval
    return {"name": group_name(slo), "interval": w(interval), "rules": rules}


def rule_file(slos: Sequence[SLOConfig], default_interval: float) -> dict[str, Any]:
    """Every SLO's group, as the data of a Prometheus rule file."""
    return {"groups": [slo_group(slo, default_interval) for slo in slos]}


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def rule_file_yaml(slos: Sequence[SLOConfig], default_interval: float) -> str:
    """The generated rules as Prometheus rule-file YAML (what ``watchkeeper slo rules``
    prints and what the rule manager loads)."""
    header = "# Generated by Watchkeeper from the slos: section; edit the SLOs, not this file.\n"
    if not slos:
        return header + "groups: []\n"
    body = yaml.dump(
        rule_file(slos, default_interval),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
    return header + body
