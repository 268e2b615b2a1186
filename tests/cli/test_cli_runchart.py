"""`uptake runchart` as a user runs it, on the tiny synthetic NHS: JSON equal to the service, the
table, CSV, and one-line errors."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from uptake.cli import app
from uptake.services.analysis import open_analysis

runner = CliRunner()


@pytest.fixture(scope="module")
def home(tiny_warehouse, tmp_path_factory):
    h = tmp_path_factory.mktemp("runchart-home")
    (h / "warehouse").symlink_to(tiny_warehouse.root)
    return h


def run(home, *args):
    return runner.invoke(app, ["--home", str(home), "runchart", *args])


def test_json_is_the_chart_of_the_engine_values(home, tiny_warehouse):
    got = run(home, "TA275", "--org", "QHM", "--json")
    assert got.exit_code == 0, got.output
    c = json.loads(got.stdout)
    assert (c["subject"], c["org"], c["level"], c["improvement"]) == ("TA275", "QHM", "icb", "increase")
    with open_analysis(tiny_warehouse) as an:
        rows = an.ta_table(["TA275"], an.months(), ("icb",)).to_pylist()
    v = np.array([r["value"] for r in sorted((r for r in rows if r["org"] == "QHM"), key=lambda r: r["month"])])
    np.testing.assert_allclose([p["value"] for p in c["points"]], v, rtol=1e-12)
    assert c["upper_limit"] == pytest.approx(v.mean() + 2.66 * np.abs(np.diff(v)).mean(), rel=1e-12)
    assert set(c["points"][0]) >= {"month", "value", "moving_range", "special_cause", "label", "rules"}
    assert c["summary"].endswith(".") and "Latest month (2022-09)" in c["summary"]


def test_baseline_level_and_england(home):
    c = json.loads(run(home, "TA275", "--org", "Y60", "--level", "region", "--baseline", "6", "--json").stdout)
    assert (c["level"], c["baseline"], c["baseline_from"], c["baseline_to"]) == ("region", 6, "2021-04", "2021-09")
    eng = json.loads(run(home, "TA275", "--json").stdout)  # England unless --org says otherwise
    assert (eng["org"], eng["level"], eng["name"]) == ("ENG", "england", "England")


def test_table_and_csv(home):
    table = run(home, "doac_share", "--org", "QHM")
    assert table.exit_code == 0, table.output
    text = " ".join(table.stdout.split())  # the console wraps long lines
    assert "process limits" in text and "higher is better" in text and "Latest month (2022-09)" in text
    got = run(home, "doac_share", "--org", "QHM", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(got.stdout)))
    assert len(rows) == 18 and rows[0]["month"] == "2021-04"
    assert {"value", "moving_range", "label", "rules"} <= set(rows[0])


def test_errors_are_one_line(home):
    for args, message in ((("TA275", "--org", "ZZZ99"), "no organisation 'ZZZ99'"),
                          (("TA275", "--org", "QHM", "--baseline", "1"), "--baseline 1"),
                          (("TA9999", "--org", "QHM"), "TA9999")):
        got = run(home, *args)
        assert got.exit_code == 1 and message in got.output and "Traceback" not in got.output
