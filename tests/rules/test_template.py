"""Prometheus alert templates rendered through Jinja2."""

from __future__ import annotations

import pytest

from watchkeeper.rules.template import (
    QueryResultSample,
    TemplateRenderer,
    TemplateTranslationError,
    go_float,
    humanize,
    humanize_duration,
)


@pytest.fixture
def r() -> TemplateRenderer:
    return TemplateRenderer(query=lambda q: [QueryResultSample({"job": q}, 0.1234)])


@pytest.mark.parametrize(
    ("template", "labels", "value", "expected"),
    [
        ("{{ $labels.instance }} is down", {"instance": "db:5432"}, 0.0, "db:5432 is down"),
        ("value {{ $value }}", {}, 3.0, "value 3"),
        ("{{ $value | humanizePercentage }}", {}, 0.0523, "5.23%"),
        ('{{ printf "%.2f" $value }}', {}, 1.23456, "1.23"),
        ("{{ humanize $value }}", {}, 123456.0, "123.5k"),
        ("{{ if gt $value 1.0 }}high{{ else }}low{{ end }}", {}, 0.5, "low"),
        ("{{ .Labels.job }}/{{ .Value }}", {"job": "api"}, 2.5, "api/2.5"),
        ("{{ $labels.missing }}!", {}, 0.0, "!"),
        (
            "{{ range $k, $v := $labels }}{{ $k }}={{ $v }} {{ end }}",
            {"a": "1", "b": "2"},
            0,
            "a=1 b=2 ",
        ),
        ('{{ with query "up" }}{{ . | first | value | humanize }}{{ end }}', {}, 0.0, "123.4m"),
        ('{{ with query "up" }}{{ . | first | label "job" }}{{ end }}', {}, 0.0, "up"),
        ("a {{- $value -}} b", {}, 1.0, "a1b"),
        ('{{ reReplaceAll "(.*):.*" "$1" $labels.instance }}', {"instance": "h:9"}, 0.0, "h"),
        ("{% raw %} stays literal", {}, 0.0, "{% raw %} stays literal"),
    ],
)
def test_prometheus_templates_render_like_prometheus(
    r: TemplateRenderer, template: str, labels: dict[str, str], value: float, expected: str
) -> None:
    assert r.render(template, labels=labels, value=value) == expected


def test_unknown_function_is_rejected_at_check_time(r: TemplateRenderer) -> None:
    with pytest.raises(TemplateTranslationError, match="unknown template function"):
        r.check("{{ bogus $value }}")


def test_unclosed_block_is_rejected_at_check_time(r: TemplateRenderer) -> None:
    with pytest.raises(TemplateTranslationError, match="missing"):
        r.check("{{ if $value }}x")


def test_a_failing_template_renders_an_error_text_instead_of_raising(r: TemplateRenderer) -> None:
    out = r.render('{{ printf "%d" "x" }}', labels={}, value=0.0)
    assert out.startswith("<error expanding template:")


def test_templates_cannot_reach_python_internals(r: TemplateRenderer) -> None:
    out = r.render("{{ $labels.__class__ }}", labels={"a": "b"}, value=0.0)
    assert "class" not in out or out.startswith("<error")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (3.0, "3"),
        (0.25, "0.25"),
        (1234567.0, "1.234567e+06"),
        (1e-5, "1e-05"),
        (float("nan"), "NaN"),
    ],
)
def test_values_print_like_go(value: float, text: str) -> None:
    assert go_float(value) == text


def test_humanize_helpers() -> None:
    assert humanize(0.001) == "1m"
    assert humanize(2048) == "2.048k"
    assert humanize_duration(3725) == "1h 2m 5s"
    assert humanize_duration(90061) == "1d 1h 1m 1s"
