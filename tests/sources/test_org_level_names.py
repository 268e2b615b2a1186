"""Organisation names in org-level prescribing files (issue 17.8): the DOAC sub-ICB extract names
every sub-ICB location, and those names reach the scorecard (they came out blank)."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from uptake.cli import app
from uptake.sources import read_file

DOAC = "epd/doacs_warfarin_subicb_monthly_201710_202209.csv.gz"


def _latest_names(path) -> dict[str, str]:
    df = pd.read_csv(path, dtype=str)
    latest = df.sort_values("date").groupby("ods_code").tail(1)
    return dict(zip(latest.ods_code, latest.name))


def test_the_doac_extract_names_its_sub_icbs(shared_data):
    path = shared_data / DOAC
    orgs = read_file(path).tables["organisations"].to_pylist()
    want = _latest_names(path)
    assert len(want) == 106
    assert {o["code"]: o["name"] for o in orgs} == want
    assert {o["type"] for o in orgs} == {"sub_icb"}
    assert {o["source"] for o in orgs} == {f"prescribing_org {path.name}"}
    assert want["00L"] == "NHS North East and North Cumbria ICB - 00L"


def test_sub_icb_names_reach_the_scorecard(shared_data, tmp_path):
    path = shared_data / DOAC
    runner = CliRunner()
    home = ["--home", str(tmp_path / "home")]
    assert runner.invoke(app, [*home, "ingest", str(path)]).exit_code == 0
    result = runner.invoke(app, [*home, "scorecard", "TA275", "--level", "sub_icb", "--month", "2022-09", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    assert len(rows) == 106
    assert {r["org"]: r["name"] for r in rows} == _latest_names(path)


def test_a_file_without_names_adds_no_organisations(shared_data, tmp_path):
    df = pd.read_csv(shared_data / DOAC, dtype=str, nrows=500).drop(columns=["name"])
    path = tmp_path / "unnamed.csv"
    df.to_csv(path, index=False)
    result = read_file(path)
    assert result.tables["organisations"].num_rows == 0
    assert result.table.num_rows == 500
