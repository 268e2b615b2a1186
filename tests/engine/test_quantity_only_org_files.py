"""An organisation-level file with quantities but no items (issue 17.8): TA figures, which come
from quantities, are those of the same file with its items; items, and measures counted in
items, are unknown — never 0."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from uptake.cli import app

DOAC = "epd/doacs_warfarin_subicb_monthly_201710_202209.csv.gz"
runner = CliRunner()


def _scorecard(home, subject):
    result = runner.invoke(app, ["--home", str(home), "scorecard", subject, "--level", "sub_icb",
                                 "--month", "2022-09", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    return data["england"], {r["org"]: r for r in data["rows"]}


def test_quantities_only_give_the_same_ta_figures_and_unknown_items(shared_data, tmp_path):
    full = shared_data / DOAC
    df = pd.read_csv(full, dtype=str)
    no_items = tmp_path / "doac_quantities.csv"
    df.drop(columns=["items"]).to_csv(no_items, index=False)
    homes = {}
    for name, path in (("full", full), ("quantities", no_items)):
        homes[name] = tmp_path / name
        assert runner.invoke(app, ["--home", str(homes[name]), "ingest", str(path)]).exit_code == 0

    eng_full, rows_full = _scorecard(homes["full"], "TA275")
    eng_q, rows_q = _scorecard(homes["quantities"], "TA275")
    assert set(rows_q) == set(rows_full) and len(rows_q) == 106
    assert eng_q["patients"] == pytest.approx(eng_full["patients"], rel=1e-12)
    assert eng_full["items"] == float(df[(df.date == "2022-09-01") & (df.chemical == "Apixaban")]["items"]
                                      .astype(int).sum())
    assert eng_q["items"] is None
    for org, row in rows_q.items():
        assert row["patients"] == pytest.approx(rows_full[org]["patients"], rel=1e-12)
        assert row["value"] == pytest.approx(rows_full[org]["value"], rel=1e-12)
        assert row["items"] is None and rows_full[org]["items"] > 0

    eng, rows = _scorecard(homes["quantities"], "doac_share")  # a measure of items
    assert eng["value"] is None and eng["numerator"] is None
    assert all(r["value"] is None and r["numerator"] is None for r in rows.values())
    eng_full, _ = _scorecard(homes["full"], "doac_share")
    assert eng_full["value"] == pytest.approx(eng_full["numerator"] / eng_full["denominator"])
