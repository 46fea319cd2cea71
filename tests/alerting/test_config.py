"""The Alertmanager configuration format, accepted unchanged, and Watchkeeper's additions;
every error names the file, the line and the field, and says how to fix it."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchkeeper.alerting.routing import Route, receivers_for
from watchkeeper.config.loader import load_config, load_config_text
from watchkeeper.core.errors import ConfigError

ALERTMANAGER_YML = """\
global:
  resolve_timeout: 2m
  smtp_smarthost: 'smtp.example.org:587'
  smtp_from: 'alertmanager@example.org'
  smtp_auth_username: 'alertmanager'
  smtp_auth_password: 'password'
  slack_api_url: 'https://hooks.slack.com/services/T000/B000/XXXX'
templates:
  - '/etc/alertmanager/template/*.tmpl'
route:
  group_by: ['alertname', 'cluster', 'service']
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 3h
  receiver: team-X-mails
  routes:
    - matchers:
        - service=~"foo1|foo2|baz"
      receiver: team-X-mails
      routes:
        - matchers: [severity="critical"]
          receiver: team-X-pager
    - match:
        service: database
      receiver: team-DB-pager
      group_by: [alertname, cluster, database]
      routes:
        - match: {owner: team-X}
          receiver: team-X-pager
          continue: true
        - match_re: {owner: team-Y.*}
          receiver: team-Y-pager
    - matchers: ['alertname="Watchdog"', 'env!="dev", job=~"bb.+"']
      receiver: 'null'
      mute_time_intervals: [offhours]
      active_time_intervals: [workdays]
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [alertname, cluster, service]
  - source_match: {alertname: ClusterDown}
    target_match_re: {severity: warning|info}
time_intervals:
  - name: offhours
    time_intervals:
      - times: [{start_time: '18:00', end_time: '24:00'}]
        location: Europe/Berlin
      - weekdays: ['saturday', 'sunday']
mute_time_intervals:
  - name: workdays
    time_intervals:
      - weekdays: ['monday:friday']
        days_of_month: ['1:-1']
receivers:
  - name: 'team-X-mails'
    email_configs:
      - to: 'team-X+alerts@example.org'
  - name: 'team-X-pager'
    pagerduty_configs:
      - routing_key: '0123456789abcdef0123456789abcdef'
  - name: 'team-Y-pager'
    webhook_configs:
      - url: 'http://127.0.0.1:9/hook'
  - name: 'team-DB-pager'
    slack_configs:
      - channel: '#db'
  - name: 'null'
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_real_alertmanager_file_loads_through_config_file(tmp_path: Path) -> None:
    write(tmp_path, "alertmanager.yml", ALERTMANAGER_YML)
    main = write(
        tmp_path,
        "watchkeeper.yaml",
        "alerting:\n  config_file: alertmanager.yml\n"
        "  escalation_policies:\n    - name: p\n      levels:\n        - receivers: ['null']\n",
    )
    alerting = load_config(main).config.alerting
    assert alerting.global_.smtp_smarthost == "smtp.example.org:587"
    assert alerting.global_.smtp_auth_password is not None
    assert alerting.global_.smtp_auth_password.reveal() == "password"
    assert float(alerting.resolve_timeout) == 120.0
    assert alerting.templates == ["/etc/alertmanager/template/*.tmpl"]
    assert [ti.name for ti in alerting.all_time_intervals()] == ["workdays", "offhours"]
    assert [p.name for p in alerting.escalation_policies] == ["p"]
    root = Route(alerting.route)
    assert receivers_for(root, {"service": "foo2", "severity": "critical"}) == ["team-X-pager"]
    assert receivers_for(root, {"service": "database", "owner": "team-X"}) == ["team-X-pager"]
    assert receivers_for(root, {"service": "database", "owner": "team-Y1"}) == ["team-Y-pager"]
    assert receivers_for(root, {"alertname": "Watchdog", "job": "bbox"}) == ["null"]
    assert receivers_for(root, {"alertname": "Watchdog", "env": "dev", "job": "bbox"}) == [
        "team-X-mails"
    ]
    db = root.routes[1]
    assert db.key == '{}/{service="database"}'
    assert db.routes[1].key == '{}/{service="database"}/{owner=~"^(?:team-Y.*)$"}'
    assert db.opts.group_by == ("alertname", "cluster", "database")
    assert db.opts.repeat_interval == 3 * 3600.0


def test_the_same_file_loads_inline_in_the_alerting_section() -> None:
    indented = "".join(f"  {line}\n" for line in ALERTMANAGER_YML.splitlines())
    alerting = load_config_text("alerting:\n" + indented).config.alerting
    assert len(alerting.receivers) == 5
    assert len(alerting.inhibit_rules) == 2


def test_an_alertmanager_key_beside_config_file_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "alertmanager.yml", ALERTMANAGER_YML)
    main = write(
        tmp_path,
        "watchkeeper.yaml",
        "alerting:\n  config_file: alertmanager.yml\n  route:\n    receiver: x\n",
    )
    with pytest.raises(ConfigError) as info:
        load_config(main)
    assert info.value.problems == [
        f"{main}:1: alerting: config_file replaces Alertmanager's part of the alerting "
        "section; move route into that file"
    ]


def test_a_key_in_both_files_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "alertmanager.yml", ALERTMANAGER_YML + "flapping: {threshold: 3}\n")
    main = write(
        tmp_path,
        "watchkeeper.yaml",
        "alerting:\n  config_file: alertmanager.yml\n  flapping:\n    threshold: 4\n",
    )
    with pytest.raises(ConfigError, match="flapping given both here and in"):
        load_config(main)


def test_resolve_timeout_given_twice_differently_is_an_error() -> None:
    with pytest.raises(ConfigError, match="resolve_timeout is given twice"):
        load_config_text("alerting:\n  resolve_timeout: 1m\n  global:\n    resolve_timeout: 2m\n")


BAD = """\
alerting:
  route:
    receiver: ops
    group_by: [alertname, '...']
    group_interval: 0s
    routes:
      - matchers: ['severity=~"(crit"']
        receiver: ops
      - matchers: ['bad matcher']
        receiver: ops
      - match_re: {service: "a("}
        receiver: ops
  receivers:
    - name: ops
  time_intervals:
    - name: nights
      time_intervals:
        - times: [{start_time: '25:00', end_time: '24:00'}]
          weekdays: ['friday:monday']
          days_of_month: ['-1:5', 0]
          months: ['smarch']
          location: Mars/Olympus
  maintenance_windows:
    - name: m
      matchers: ['service="db"']
      cron: '0 3 * *'
"""


def test_format_errors_are_pinned_with_file_line_and_field() -> None:
    with pytest.raises(ConfigError) as info:
        load_config_text(BAD, "wk.yaml")
    ti = "alerting.time_intervals[0].time_intervals[0]"
    assert info.value.problems == [
        "wk.yaml:4: alerting.route.group_by: cannot have wildcard group_by ('...') and "
        "other labels at the same time; '...' alone groups by every label",
        "wk.yaml:5: alerting.route.group_interval: cannot be zero; use a duration such as 5m",
        "wk.yaml:7: alerting.route.routes[0].matchers[0]: bad matcher "
        "'severity=~\"(crit\"': invalid regular expression: missing ), unterminated "
        "subpattern at position 0",
        "wk.yaml:9: alerting.route.routes[1].matchers[0]: bad matcher 'bad matcher': write "
        'name="value" with one of the operators =, !=, =~, !~ (e.g. severity="critical" or '
        'service=~"api|db")',
        "wk.yaml:11: alerting.route.routes[2].match_re.service: invalid regular expression "
        "'a(': missing ), unterminated subpattern at position 1",
        f"wk.yaml:18: {ti}.times[0].start_time: invalid time '25:00': write HH:MM in "
        "24-hour form, e.g. 09:00 or 17:30",
        f"wk.yaml:19: {ti}.weekdays[0]: weekday range 'friday:monday' ends before it starts "
        "(weeks run sunday to saturday); split it into two ranges",
        f"wk.yaml:20: {ti}.days_of_month[0]: days of month '-1:5': the end must be negative "
        "if the start is",
        f"wk.yaml:20: {ti}.days_of_month[1]: 0 is not a valid day of the month: use 1..31, "
        "or -1..-31 to count from the end of the month",
        f"wk.yaml:21: {ti}.months[0]: 'smarch' is not a valid month (january ... december "
        "or 1 ... 12)",
        f"wk.yaml:22: {ti}.location: unknown time zone 'Mars/Olympus': use an IANA name "
        "such as Europe/Berlin or UTC",
        "wk.yaml:26: alerting.maintenance_windows[0].cron: invalid cron expression "
        "'0 3 * *': use five fields, e.g. '0 3 * * SUN' for Sundays at 03:00",
    ]


SEMANTIC = """\
alerting:
  route:
    receiver: oncall
    matchers: ['a="b"']
    escalation_policy: nope
    routes:
      - receiver: ops
        mute_time_intervals: [weekend]
  receivers:
    - name: ops
    - name: ops
  escalation_policies:
    - name: p
      levels:
        - receivers: [nobody]
  oncall_rotations:
    - name: ops
      members: [ghost]
      start: 2026-01-05T09:00:00
  maintenance_windows:
    - name: m
      matchers: ['service="db"']
      time_intervals: [nights]
"""


def test_cross_reference_errors_are_pinned() -> None:
    with pytest.raises(ConfigError) as info:
        load_config_text(SEMANTIC, "wk.yaml")
    known = "ops"
    assert info.value.problems == [
        "wk.yaml:11: alerting.receivers[1].name: duplicate receiver name 'ops'",
        "wk.yaml:17: alerting.oncall_rotations[0].name: on-call rotation 'ops' has a "
        "receiver's name",
        "wk.yaml:2: alerting.route: the top-level route must not have matchers: it catches "
        "every alert",
        "wk.yaml:3: alerting.route.receiver: route references undefined receiver 'oncall'; "
        f"define it under alerting.receivers or use one of: {known}",
        "wk.yaml:8: alerting.route.routes[0].mute_time_intervals[0]: undefined time interval "
        "'weekend'; define it under alerting.time_intervals or use one of: (none defined)",
        "wk.yaml:23: alerting.maintenance_windows[0].time_intervals[0]: undefined time "
        "interval 'nights'; define it under alerting.time_intervals or use one of: "
        "(none defined)",
        "wk.yaml:15: alerting.escalation_policies[0].levels[0].receivers[0]: escalation "
        "level references undefined receiver 'nobody'; define it under alerting.receivers "
        f"or use one of: {known}",
        "wk.yaml:5: alerting.route.escalation_policy: unknown escalation policy 'nope'; "
        "define it under alerting.escalation_policies or use one of: p",
        "wk.yaml:18: alerting.oncall_rotations[0].members[0]: rotation references undefined "
        f"receiver 'ghost'; define it under alerting.receivers or use one of: {known}",
    ]


def test_route_receivers_may_name_an_on_call_rotation() -> None:
    cfg = load_config_text(
        """
alerting:
  route:
    receiver: primary
  receivers:
    - name: alice
    - name: bob
  oncall_rotations:
    - name: primary
      members: [alice, bob]
      handoff: daily
      start: 2026-01-05T09:00:00
"""
    ).config
    assert cfg.alerting.oncall_rotations[0].name == "primary"
