"""The command line on the cases that crashed (issue 17.7; issue 24 items 5 and 12): each is one
line on stderr naming file, line and column, exit code 1, and the warehouse as it was."""

from __future__ import annotations

import csv
import gzip
import json

import pytest
from typer.testing import CliRunner

from uptake.catalogue import load_catalogue
from uptake.cli import app

runner = CliRunner()


def test_catalogue_show_works_for_every_ta():
    """TAs with no sourced eligible fraction or expected share (34 of 40 today) printed a TypeError."""
    cat = load_catalogue()
    unstated = [ta.id for ta in cat if ta.eligible_population.fraction is None or ta.expected_uptake.share is None]
    assert "TA495" in unstated
    for ta in cat:
        result = runner.invoke(app, ["catalogue", "show", ta.id])
        assert result.exit_code == 0, (ta.id, result.output)
        assert result.output.startswith(ta.id)
    shown = runner.invoke(app, ["catalogue", "show", "TA495"]).output
    assert "Eligible: an unstated share (no sourced figure)" in " ".join(shown.split())
    assert "Expected uptake: an unstated share (no sourced figure)" in " ".join(shown.split())


def test_catalogue_show_json_keeps_the_unstated_share_as_null():
    data = json.loads(runner.invoke(app, ["catalogue", "show", "TA495", "--json"]).stdout)
    assert data["expected_uptake"]["share"] is None


@pytest.mark.parametrize("change", ["nan_cost", "future", "huge_items", "forced_org"])
def test_ingest_refusals_are_one_line_and_leave_the_warehouse(shared_data, tmp_path, change):
    home = tmp_path / "home"
    good = shared_data / "epd/openprescribing_e2e_EPD_201709_4practices.csv.gz"
    assert runner.invoke(app, ["--home", str(home), "ingest", str(good)]).exit_code == 0
    before = (home / "warehouse" / "state.json").read_bytes()
    with gzip.open(shared_data / "epd/openprescribing_e2e_EPD_201710_4practices.csv.gz", "rt", newline="") as f:
        rows = [r for _, r in zip(range(6), csv.reader(f))]
    header = rows[0]
    args = []
    if change == "nan_cost":
        rows[2][header.index("ACTUAL_COST")] = "NaN"
        where = ":3: column ACTUAL_COST: 'NaN' is not a finite number"
    elif change == "future":
        for r in rows[1:]:
            r[header.index("YEAR_MONTH")] = "209912"
        where = ":2: column YEAR_MONTH: '209912' is a month in the future"
    elif change == "huge_items":
        rows[4][header.index("ITEMS")] = "12345678901234567890"
        where = ":5: column ITEMS: '12345678901234567890' is too large"
    else:
        args = ["--format", "prescribing_org"]
        where = ":1: missing columns org_code (or ods_code, row_id, pct_id, practice_code, practice), bnf_code"
        rows = [[r[0], r[1]] for r in rows]
    path = tmp_path / "bad.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    result = runner.invoke(app, ["--home", str(home), "ingest", *args, str(path)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert lines[0].startswith(f"error: {path}{where}"), lines[0]
    assert (home / "warehouse" / "state.json").read_bytes() == before


@pytest.mark.parametrize("args", [["scorecard", "TA275", "--min-items", "99999999999999999999"],
                                  ["alerts", "log", "--limit", "99999999999999999999"],
                                  ["runchart", "TA275", "--baseline", "99999999999999999999"],
                                  ["demo", "--seed", "99999999999999999999"],
                                  ["serve", "--port", "99999999999999999999"]])
def test_an_integer_option_too_large_is_a_usage_error_not_a_traceback(tmp_path, args):
    """Issue 24.12: a number too large for int64 reached SQLite/DuckDB and gave a traceback."""
    result = runner.invoke(app, ["--home", str(tmp_path / "h"), *args])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    text = " ".join(result.output.replace("│", " ").split())
    assert "Invalid value for" in text and "Input should be less than or equal to" in text
    assert "Traceback" not in result.output
