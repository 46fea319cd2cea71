"""``watchkeeper anomaly score|nab|detectors`` and the CSV reader behind them."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from watchkeeper.anomaly.series_csv import AnomalyInputError, parse_timestamp, read_series
from watchkeeper.cli.anomaly_cmds import anomaly_group
from watchkeeper.cli.main import cli

from .conftest import noisy_series


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    cli.add_command(anomaly_group)  # only this area: the other command modules are not needed
    return CliRunner()


def write_csv(path: Path, values: np.ndarray, start: int = 1_400_000_000) -> Path:
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["timestamp", "value"])
        for i, v in enumerate(values):
            stamp = np.datetime64(start + 300 * i, "s").astype(str).replace("T", " ")
            out.writerow([stamp, repr(float(v))])
    return path


def test_timestamps_parse_in_nab_rfc3339_and_epoch_forms() -> None:
    assert parse_timestamp("2014-04-01 00:05:00") == 1396310700.0
    assert parse_timestamp("2014-04-01T00:05:00Z") == 1396310700.0
    assert parse_timestamp("2014-04-01 02:05:00+02:00") == 1396310700.0
    assert parse_timestamp("1396310700") == 1396310700.0


def test_the_header_is_optional_and_nan_marks_a_gap() -> None:
    data = read_series(io.StringIO("1,2.5\n2,nan\n3,4\n"), "s.csv")
    assert data.timestamps.tolist() == [1.0, 2.0, 3.0]
    assert np.isnan(data.values[1])
    assert data.value_text == ("2.5", "nan", "4")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "timestamp,value\n2014-01-01 00:00:00,abc\n",
            "s.csv, line 2: value 'abc' is not a number",
        ),
        ("timestamp,value\n2014-13-01 00:00:00,1\n", "s.csv, line 2: timestamp '2014-13-01"),
        ("timestamp,value\n1,2,3\n", "s.csv, line 2: expected 2 columns"),
        ("time,val\n1,2\n", "s.csv, line 1: .* the header, if any, must be 'timestamp,value'"),
        ("timestamp,value\n5,1\n4,1\n", "s.csv, line 3: timestamp '4' is earlier"),
        ("timestamp,value\n2014-01-01,\n", "s.csv, line 2: value '' is not a number"),
    ],
)
def test_a_row_that_does_not_parse_names_file_line_and_expectation(text: str, message: str) -> None:
    with pytest.raises(AnomalyInputError, match=message):
        read_series(io.StringIO(text), "s.csv")


def test_a_byte_order_mark_before_the_header_is_accepted(runner: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "bom.csv"
    source.write_bytes(b"\xef\xbb\xbftimestamp,value\n1,2\n2,3\n")
    result = runner.invoke(cli, ["anomaly", "score", str(source)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["timestamp,value,anomaly_score", "1,2,0", "2,3,0"]


def test_score_writes_timestamp_value_and_score_rows(runner: CliRunner, tmp_path: Path) -> None:
    values = noisy_series(1500, seed=2)
    values[1200] += 30
    source = write_csv(tmp_path / "in.csv", values)
    result = runner.invoke(cli, ["anomaly", "score", str(source)])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[0] == ["timestamp", "value", "anomaly_score"]
    assert len(rows) == 1501
    assert rows[1][:2] == list(next(csv.reader(io.StringIO(source.read_text().split("\n")[1]))))
    scores = np.array([float(r[2]) for r in rows[1:]])
    assert scores[1200] >= 0.5
    assert np.all((scores >= 0) & (scores <= 1))


def test_score_can_write_a_file_with_another_detector(runner: CliRunner, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", noisy_series(700, seed=1))
    out = tmp_path / "out.csv"
    result = runner.invoke(
        cli,
        [
            "anomaly",
            "score",
            str(source),
            "-d",
            "windowed_gaussian",
            "-p",
            "window=50",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("timestamp,value,anomaly_score\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["anomaly", "score", "missing.csv"], "missing.csv: no such file"),
        (["anomaly", "score", "{csv}", "-p", "margin"], "write KEY=VALUE"),
        (["anomaly", "score", "{csv}", "-p", "margin=-2"], r"params\.margin"),
        (["anomaly", "score", "{csv}", "-d", "nope"], "Invalid value for '--detector'"),
    ],
)
def test_user_mistakes_end_with_a_message_and_exit_code_2(
    runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    source = write_csv(tmp_path / "in.csv", noisy_series(50, seed=1))
    result = runner.invoke(cli, [a.replace("{csv}", str(source)) for a in args])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert re.search(message, result.output)


def make_corpus(root: Path) -> Path:
    """A two-category NAB-layout folder: one file with a spike in a window, one quiet."""
    quiet = noisy_series(2000, seed=3)
    spiky = noisy_series(2000, seed=4)
    spiky[1500] += 40
    (root / "data" / "withAnomaly").mkdir(parents=True)
    (root / "data" / "artificialNoAnomaly").mkdir(parents=True)
    write_csv(root / "data" / "withAnomaly" / "spike.csv", spiky)
    write_csv(root / "data" / "artificialNoAnomaly" / "quiet.csv", quiet)

    def stamp(i: int) -> str:
        return np.datetime64(1_400_000_000 + 300 * i, "s").astype(str).replace("T", " ") + ".000000"

    windows = {
        "withAnomaly/spike.csv": [[stamp(1450), stamp(1549)]],
        "artificialNoAnomaly/quiet.csv": [],
    }
    (root / "windows.json").write_text(json.dumps(windows))
    return root


def test_nab_prints_the_three_profiles_and_the_plain_counts(
    runner: CliRunner, tmp_path: Path
) -> None:
    root = make_corpus(tmp_path)
    result = runner.invoke(
        cli, ["anomaly", "nab", str(root / "data"), "--windows", str(root / "windows.json")]
    )
    assert result.exit_code == 0, result.output
    for text in (
        "standard",
        "reward_low_FP_rate",
        "reward_low_FN_rate",
        "windows hit          1 of 1",
        "windows missed       0",
        "alert starts outside windows 0",
        "false alerts on artificialNoAnomaly: 0",
    ):
        assert text in result.output


def test_nab_json_report_carries_scores_at_both_thresholds(
    runner: CliRunner, tmp_path: Path
) -> None:
    root = make_corpus(tmp_path)
    result = runner.invoke(
        cli,
        ["anomaly", "nab", str(root / "data"), "--windows", str(root / "windows.json"), "--json"],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    standard = next(p for p in doc["profiles"] if p["profile"] == "standard")
    # One hit at the middle of the window and no false alarm.
    assert standard["score"] == pytest.approx(100 * (0.8603 + 1) / 2, abs=0.1)
    assert standard["best_score"] >= standard["score"]
    assert doc["counts"]["windows_hit"] == 1
    assert doc["params"]["margin"] == 0.1


def test_nab_reports_a_window_timestamp_missing_from_its_file(
    runner: CliRunner, tmp_path: Path
) -> None:
    root = make_corpus(tmp_path)
    (root / "windows.json").write_text(
        json.dumps({"withAnomaly/spike.csv": [["2030-01-01 00:00:00", "2030-01-02 00:00:00"]]})
    )
    result = runner.invoke(
        cli, ["anomaly", "nab", str(root / "data"), "--windows", str(root / "windows.json")]
    )
    assert result.exit_code == 2
    assert "window timestamp '2030-01-01 00:00:00' is not a row of" in result.output


def test_detectors_lists_every_detector_with_its_defaults(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["anomaly", "detectors"])
    assert result.exit_code == 0
    assert "novelty:" in result.output
    assert "windowed_gaussian:" in result.output
    assert "margin = 0.1" in result.output
