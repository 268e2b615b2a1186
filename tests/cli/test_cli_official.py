"""`uptake official` as a user runs it: the published ISC files checked (real data in
shared/data), a catalogue TA from the tiny synthetic warehouse, and one-line errors."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from uptake.cli import app

runner = CliRunner()
STP = "innovation_scorecard/isc_oct22_breast_cancer_meds_stp_quarterly.csv"
NAT = "innovation_scorecard/isc_oct22_breast_cancer_meds_national_quarterly.csv"


@pytest.fixture(scope="module")
def home(tiny_warehouse, tmp_path_factory):
    h = tmp_path_factory.mktemp("official-home")
    (h / "warehouse").symlink_to(tiny_warehouse.root)
    return h


def test_published_files_checked(shared_data):
    args = ["official", "--published", str(shared_data / STP), "--published", str(shared_data / NAT)]
    got = runner.invoke(app, [*args, "--json"])
    assert got.exit_code == 0, got.output
    c = json.loads(got.stdout)
    assert c["sum_counts"] == {"exact": 17, "within rounding": 38} and c["organisations"] == 42
    assert c["population"]["organisations_add_up_to_national"] and c["population"]["national"] == 56550138
    assert c["catalogue"]["tucatinib"] == ["TA786"] and len(c["rates"]) == 1823
    table = runner.invoke(app, args)
    text = " ".join(table.stdout.split())
    assert "17 exact, 38 within rounding; largest difference 5 daily doses" in text
    assert "palbociclib, primary care" in text and "tucatinib: catalogue TA786" in text
    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, [*args, "--format", "csv"]).stdout)))
    assert len(rows) == 55 and {"medicine", "quarter", "organisation_sum", "national", "status"} <= set(rows[0])


def test_a_catalogue_ta_from_the_warehouse(home):
    got = runner.invoke(app, ["--home", str(home), "official", "TA275", "--level", "region", "--json"])
    assert got.exit_code == 0, got.output
    f = json.loads(got.stdout)
    assert (f["ta"], f["unit"], f["level"]) == ("TA275", "DDD", "region")
    assert len(f["england"]) == 6 and {r["quarter"] for r in f["rows"]} == set(f["quarters"])
    table = runner.invoke(app, ["--home", str(home), "official", "TA275"])
    assert table.exit_code == 0 and "2022/23 Q2" in table.stdout


def test_errors_are_one_line(home, tmp_path):
    for args, message in ((["official"], "name catalogue TAs"),
                          (["official", "TA495", "--level", "sub_icb"], "cannot be attributed below an ICB"),
                          (["official", "--published", str(tmp_path / "none.csv")], "no such file")):
        got = runner.invoke(app, ["--home", str(home), *args])
        assert got.exit_code == 1 and message in got.output and "Traceback" not in got.output
