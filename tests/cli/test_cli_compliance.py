"""`uptake ingest` of a formulary decision file and `uptake compliance`, as a user runs them (in a
child process: Django's settings are read once per process)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys

import pytest


def uptake(*args, home):
    env = {**os.environ, "UPTAKE_HOME": str(home)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("UPTAKE_PUBLISHED", None)
    env.pop("UPTAKE_TODAY", None)
    return subprocess.run([sys.executable, "-m", "uptake", "--home", str(home), *args], env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def home(tiny_warehouse, tmp_path_factory):
    h = tmp_path_factory.mktemp("compliance-home")
    (h / "warehouse").symlink_to(tiny_warehouse.root)
    return h


@pytest.fixture(scope="module")
def decision_file(tiny_warehouse):
    path = tiny_warehouse.root.parent / "files" / "formulary" / "formulary_decisions.csv"
    assert path.exists(), "the synthetic NHS writes formulary decisions"
    return path


def test_ingest_loads_decisions_once_and_compliance_reports_them(home, decision_file, tmp_path):
    first = uptake("ingest", str(decision_file), "--json", home=home)
    assert first.returncode == 0, first.stderr
    rows = list(csv.DictReader(decision_file.open()))
    loaded = json.loads(first.stdout)[0]
    assert (loaded["created"], loaded["changed"], loaded["unchanged"]) == (len(rows), 0, 0)
    again = json.loads(uptake("ingest", str(decision_file), "--json", home=home).stdout)[0]
    assert (again["created"], again["unchanged"]) == (0, len(rows))

    got = uptake("compliance", "--as-of", "2022-09-30", "--json", home=home)
    assert got.returncode == 0, got.stderr
    report = json.loads(got.stdout)
    n = report["national"]
    judged = sum(n["counts"][k] for k in ("on_time", "late", "overdue", "rejected"))
    assert n["judged"] == judged and n["on_time_pct"] == pytest.approx(100 * n["counts"]["on_time"] / judged)
    from datetime import date

    from uptake.catalogue import load_catalogue

    positive = [t for t in load_catalogue().technology_appraisals
                if t.recommendation in ("recommended", "optimised", "cancer_drugs_fund")
                and t.published <= date(2022, 9, 30)]
    assert sum(n["counts"].values()) == n["icbs"] * len(positive)
    ranks = [r["rank"] for r in report["icbs"] if r["rank"] is not None]
    assert ranks == list(range(1, len(ranks) + 1))
    pcts = [r["on_time_pct"] for r in report["icbs"] if r["rank"] is not None]
    assert pcts == sorted(pcts, reverse=True)

    # one pair checked by hand from the file: its latest decision on or before the day
    one = next(r for r in rows if r["decision"] == "included" and ";" not in r["icbs"])
    icb, ta = one["icbs"], one["ta"]
    mine = [r for r in rows if r["formulary"] == one["formulary"] and r["ta"] == ta and r["decision_date"] <= "2022-09-30"]
    latest = max(mine, key=lambda r: r["decision_date"])
    pair = json.loads(uptake("compliance", "--icb", icb, "--ta", ta, "--as-of", "2022-09-30", "--json",
                             home=home).stdout)["statuses"]
    assert len(pair) == 1 and pair[0]["decision_date"] == latest["decision_date"]
    assert pair[0]["decision"] == latest["decision"]

    as_csv = uptake("compliance", "--icb", icb, "--format", "csv", "--as-of", "2022-09-30", home=home)
    assert as_csv.stdout.splitlines()[0].startswith("icb,icb_name,formulary,ta,")


def test_a_bad_decision_file_is_refused_whole_with_its_line(home, decision_file, tmp_path):
    lines = decision_file.read_text().splitlines()
    bad = tmp_path / "bad.csv"
    shutil.copy(decision_file, bad)
    broken = lines[:3] + [lines[3].replace(",20", ",x20", 1)] + lines[4:6]
    bad.write_text("\n".join(broken) + "\n")
    before = uptake("compliance", "--as-of", "2022-09-30", "--json", home=home).stdout
    got = uptake("ingest", str(bad), home=home)
    assert got.returncode == 1 and "Traceback" not in got.stderr
    assert "bad.csv" in got.stderr and ":4:" in got.stderr and "decision_date" in got.stderr
    assert uptake("compliance", "--as-of", "2022-09-30", "--json", home=home).stdout == before


def test_unknown_icb_and_bad_date_are_one_line_errors(home):
    got = uptake("compliance", "--icb", "QZZ", "--as-of", "2022-09-30", home=home)
    assert got.returncode == 1 and "no ICB 'QZZ'" in got.stderr
    got = uptake("compliance", "--as-of", "30/09/2022", home=home)
    assert got.returncode == 1 and "expected a date YYYY-MM-DD" in got.stderr
