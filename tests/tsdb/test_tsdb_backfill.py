"""``watchkeeper tsdb import openmetrics`` and ``watchkeeper tsdb export``: round trips,
malformed input reported by line with nothing stored, and the data directory lock."""

from __future__ import annotations

import io
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from prometheus_client.openmetrics.parser import text_fd_to_metric_families

from conftest import require
from watchkeeper.cli.main import _register, cli
from watchkeeper.core.clock import FakeClock, SystemClock
from watchkeeper.core.errors import UserInputError
from watchkeeper.testing import tools
from watchkeeper.tsdb.base import STALE_NAN
from watchkeeper.tsdb.embedded import EmbeddedStore
from watchkeeper.tsdb.openmetrics import parse_openmetrics

from .tsdb_helpers import L, eq, storage_config

_register()

HISTORY = """\
# HELP http_requests The requests served.
# TYPE http_requests counter
http_requests_total{code="200",path="/a b \\"q\\""} 1 1700000000
http_requests_total{code="200",path="/a b \\"q\\""} 5 1700000015.5
http_requests_total{code="500",path="/x"} 2.5e3 1700000000.001
# TYPE temp gauge
# UNIT temp celsius
temp NaN 1700000000
temp +Inf 1700000015
temp -0.25 1700000030 # {trace_id="abc"} 1.0 1700000030
# EOF
"""


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def config_for(tmp_path: Path, data: Path) -> str:
    """A config whose retention keeps the 2023 history of these tests."""
    path = tmp_path / f"{data.name}.yaml"
    path.write_text(f"storage:\n  path: {data}\n  retention: 20y\n")
    return str(path)


def open_data(data: Path) -> EmbeddedStore:
    return EmbeddedStore.open(
        storage_config(data, retention="20y"), clock=SystemClock(), background=False
    )


def test_import_then_export_round_trips(tmp_path: Path) -> None:
    src = tmp_path / "history.om"
    src.write_text(HISTORY)
    data = tmp_path / "data"
    code, out = run(
        "tsdb", "import", "openmetrics", str(src), "--config", config_for(tmp_path, data)
    )
    assert code == 0, out
    assert f"imported 6 samples of 3 series (3 new) from {src} into {data}" in out
    store = open_data(data)
    try:
        [ok] = store.select([eq("code", "200")], 0, 2 * 10**12)
        assert ok.labels == L("http_requests_total", code="200", path='/a b "q"')
        assert ok.timestamps.tolist() == [1_700_000_000_000, 1_700_000_015_500]
        assert ok.values.tolist() == [1.0, 5.0]
        [temp] = store.select([eq("__name__", "temp")], 0, 2 * 10**12)
        assert math.isnan(temp.values[0])
        assert temp.values[1:].tolist() == [math.inf, -0.25]
    finally:
        store.close()

    out_file = tmp_path / "export.om"
    code, out = run("tsdb", "export", "--data-dir", str(data), "-o", str(out_file))
    assert code == 0, out
    exported = out_file.read_text()
    assert exported == (
        'http_requests_total{code="200",path="/a b \\"q\\""} 1.0 1700000000.000\n'
        'http_requests_total{code="200",path="/a b \\"q\\""} 5.0 1700000015.500\n'
        'http_requests_total{code="500",path="/x"} 2500.0 1700000000.001\n'
        "temp NaN 1700000000.000\n"
        "temp +Inf 1700000015.000\n"
        "temp -0.25 1700000030.000\n"
        "# EOF\n"
    )
    # The export is valid OpenMetrics for the reference parser too.
    families = list(text_fd_to_metric_families(io.StringIO(exported)))
    assert sum(len(f.samples) for f in families) == 6

    # ... and imports again into a fresh directory with the same content.
    again = tmp_path / "again"
    code, out = run(
        "tsdb", "import", "openmetrics", str(out_file), "--config", config_for(tmp_path, again)
    )
    assert code == 0, out
    code, out = run("tsdb", "export", "--data-dir", str(again), "-o", str(tmp_path / "2.om"))
    assert (tmp_path / "2.om").read_text() == exported


def test_export_filters_by_selector_and_time(tmp_path: Path) -> None:
    src = tmp_path / "history.om"
    src.write_text(HISTORY)
    data = tmp_path / "data"
    run("tsdb", "import", "openmetrics", str(src), "--config", config_for(tmp_path, data))
    result = CliRunner().invoke(
        cli,
        [
            "tsdb",
            "export",
            "--data-dir",
            str(data),
            "--match",
            '{code=~"5.."}',
            "--match",
            "temp",
            "--start",
            "1700000000.001",
            "--end",
            "2023-11-14T22:13:35Z",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        'http_requests_total{code="500",path="/x"} 2500.0 1700000000.001',
        "temp +Inf 1700000015.000",
        "# EOF",
    ]
    assert "exported 2 samples of 2 series" in result.stderr


def test_export_rejects_what_is_not_a_selector(tmp_path: Path) -> None:
    code, out = run("tsdb", "export", "--data-dir", str(tmp_path), "--match", "rate(x[5m])")
    assert code == 2
    assert "is not a series selector" in out
    code, out = run("tsdb", "export", "--data-dir", str(tmp_path / "none"))
    assert code == 2
    assert "no time-series data in" in out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "up 1 1700000000\nup{job=} 1 1700000001\n# EOF\n",
            "bad.om:2: not a sample line: 'up{job=} 1 1700000001'; "
            'expected name{label="value",...} value timestamp',
        ),
        (
            "up 1 1700000000\nup 1\n# EOF\n",
            "bad.om:2: sample without a timestamp; every imported sample needs one "
            "(seconds since the epoch, e.g. 1700000000.5)",
        ),
        (
            "up 1 1700000000\nup one 1700000001\n# EOF\n",
            "bad.om:2: value 'one' is not a number (write e.g. 1.5, 2e3, NaN, +Inf)",
        ),
        (
            "up 1 1700000000\n",
            "bad.om:1: the file does not end with '# EOF'; an OpenMetrics file must, "
            "so that a cut-off file is not taken for a complete one",
        ),
        (
            'up{a="1",a="2"} 1 1700000000\n# EOF\n',
            "bad.om:1: a label name appears twice in this sample",
        ),
        (
            "# a remark\n# EOF\n",
            "bad.om:1: unexpected comment '# a remark'; OpenMetrics allows only '# HELP', "
            "'# TYPE', '# UNIT' and the final '# EOF'",
        ),
        (
            "up 1 1700000000\n# EOF\nup 2 1700000001\n",
            "bad.om:3: text after '# EOF'; the end marker must be the last line",
        ),
    ],
)
def test_malformed_input_names_the_line_and_stores_nothing(
    tmp_path: Path, text: str, message: str
) -> None:
    src = tmp_path / "bad.om"
    src.write_text(text)
    data = tmp_path / "data"
    code, out = run("tsdb", "import", "openmetrics", str(src), "--data-dir", str(data))
    assert code == 2
    assert out == f"error: {src.parent}/{message}\n"
    store = EmbeddedStore.open(storage_config(data), clock=SystemClock(), background=False)
    try:
        assert store.stats().series == 0
    finally:
        store.close()


def test_import_refuses_while_the_store_is_open_elsewhere(tmp_path: Path) -> None:
    src = tmp_path / "h.om"
    src.write_text(HISTORY)
    data = tmp_path / "data"
    running = EmbeddedStore.open(storage_config(data), clock=SystemClock(), background=False)
    try:
        code, out = run("tsdb", "import", "openmetrics", str(src), "--data-dir", str(data))
    finally:
        running.close()
    assert code == 2
    assert "is in use by another Watchkeeper process" in out
    assert "stop it first" in out


def test_import_merges_with_existing_data_and_old_windows_get_rollups(tmp_path: Path) -> None:
    clock = FakeClock()
    data = tmp_path / "data"
    store = EmbeddedStore.open(storage_config(data), clock=clock, background=False)
    now = int(clock.now() * 1000)
    store.append([(L("cpu"), now, 9.0)])
    ts = now - 86_400_000 + np.arange(0, 3600_000, 60_000, dtype=np.int64)
    result = store.import_series({L("cpu"): (ts, np.arange(ts.size, dtype=np.float64))})
    assert (result.series, result.new_series, result.samples) == (1, 0, 60)
    [cpu] = store.select([eq("__name__", "cpu")], 0, now)
    assert cpu.values.tolist() == [*range(60), 9.0]
    [r] = store.select_rollups([eq("__name__", "cpu")], 0, now - 3_600_000, 3_600_000)
    assert int(r.count.sum()) == 60
    store.close()


def test_parser_keeps_samples_of_a_series_together_and_ignores_exemplars() -> None:
    parsed = parse_openmetrics(io.StringIO(HISTORY), "h.om")
    assert parsed.samples == 6
    assert len(parsed.series) == 3
    temp = parsed.series[L("temp")]
    assert temp.values[2] == -0.25


def test_staleness_markers_are_left_out_of_exports(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = EmbeddedStore.open(storage_config(data), clock=SystemClock(), background=False)
    store.append([(L("up"), 1_000, 1.0), (L("up"), 2_000, STALE_NAN)])
    store.close()
    result = CliRunner().invoke(cli, ["tsdb", "export", "--data-dir", str(data)])
    assert result.stdout.splitlines() == ["up 1.0 1.000", "# EOF"]


def test_parse_errors_are_user_errors() -> None:
    with pytest.raises(UserInputError, match=r"^x\.om:1: "):
        parse_openmetrics(io.StringIO("bad line\n"), "x.om")


def test_a_relative_storage_path_is_taken_from_the_config_files_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "conf").mkdir()
    cfg = tmp_path / "conf" / "watchkeeper.yaml"
    cfg.write_text("storage:\n  path: data\n  retention: 20y\n")
    src = tmp_path / "h.om"
    src.write_text(HISTORY)
    monkeypatch.chdir(tmp_path)
    code, out = run("tsdb", "import", "openmetrics", str(src), "--config", str(cfg))
    assert code == 0, out
    assert (tmp_path / "conf" / "data" / "tsdb" / "chunks.sqlite").is_file()
    assert not (tmp_path / "data").exists()


@pytest.mark.prometheus
def test_promtool_reads_our_export(tmp_path: Path) -> None:
    promtool = tools.find_binary("promtool")
    require(promtool is not None, "promtool (Prometheus 2.42)", "apt-get install prometheus")
    assert promtool is not None
    src = tmp_path / "history.om"
    src.write_text(HISTORY)
    data = tmp_path / "data"
    run("tsdb", "import", "openmetrics", str(src), "--config", config_for(tmp_path, data))
    exported = tmp_path / "export.om"
    code, out = run("tsdb", "export", "--data-dir", str(data), "-o", str(exported))
    assert code == 0, out
    done = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(exported), str(tmp_path / "b")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    (tmp_path / "b" / "wal").mkdir()  # dump opens the directory as a (stopped) server's
    dumped = subprocess.run(
        [promtool, "tsdb", "dump", str(tmp_path / "b")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dumped.returncode == 0, dumped.stderr
    lines = [line for line in dumped.stdout.splitlines() if line.strip()]
    assert len(lines) == 6
    assert any('code="500"' in line and "2500 1700000000001" in line for line in lines)
