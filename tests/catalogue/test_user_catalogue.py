"""A user's own catalogue folder ($UPTAKE_CATALOGUE or --catalogue), merged with the built-in one
(issue 17.8): a methotrexate measure and TA defined by a user, computed end to end on the real
4-practice EPD extract and checked against pandas on the same file."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from uptake.catalogue import DATA_DIR
from uptake.cli import app

runner = CliRunner()
EPD = "epd/openprescribing_e2e_EPD_201710_4practices.csv.gz"
INJECTION, ORAL = "0801030P0", "1001030U0"  # methotrexate, BNF Code Information Feb 2020

MEASURE = {
    "id": "methotrexate_injectable_share",
    "title": "Injectable methotrexate as a share of methotrexate items",
    "description": "Methotrexate injection items as a share of injection plus oral methotrexate items.",
    "why_it_matters": "A user's own measure: where injectable methotrexate is prescribed in primary care.",
    "numerator": {"unit": "items", "bnf_codes": [INJECTION]},
    "denominator": {"unit": "items", "bnf_codes": [INJECTION, ORAL]},
    "direction": "none",
    "technology_appraisals": [],
    "clinical_area": "rheumatology",
    "sources": ["BNF chemical codes from NHSBSA BNF Code Information, Feb 2020 "
                "(shared/data/bnf_dmd/BNF_Code_Information_2020-02.csv.gz)."],
    "reviewed": "2026-12-07",
    "verified": False,
}


def _user_ta() -> dict:
    """A user's TA for oral methotrexate in primary care: TA249's entry as the template (the same
    schema), with the user's own id, area, product and units per day (one 2.5 mg tablet a day is
    the user's assumption, not a sourced dose)."""
    doc = yaml.safe_load((DATA_DIR / "technology_appraisals" / "TA249.yaml").read_text())
    doc.update(id="TA9901", url="https://www.nice.org.uk/guidance/ta9901", clinical_area="rheumatology",
               title="Methotrexate in primary care (a user's own entry)", published="2017-01-01")
    product = doc["products"][0]
    product.update(name="methotrexate", bnf_chemical=ORAL, atc="L04AX03", dmd_vmps=[], setting="both",
                   presentations=[{"bnf_code": f"{ORAL}AAABAB", "name": "Methotrexate_Tab 2.5mg", "strength": 2.5,
                                   "strength_unit": "mg", "units_per_day": 1}])
    product["notes"] = "User's assumption: one tablet a day."
    doc["products"] = [product]
    return doc


@pytest.fixture
def user_catalogue(tmp_path, monkeypatch) -> Path:
    # `--catalogue` sets $UPTAKE_CATALOGUE for the rest of the process (one command per process);
    # setenv first so that monkeypatch unsets it again after the test (delenv of an unset
    # variable records nothing to undo)
    monkeypatch.setenv("UPTAKE_CATALOGUE", "")
    monkeypatch.delenv("UPTAKE_CATALOGUE")
    root = tmp_path / "my_catalogue"
    (root / "measures").mkdir(parents=True)
    (root / "technology_appraisals").mkdir()
    (root / "areas.yaml").write_text(yaml.safe_dump({"areas": [{
        "id": "rheumatology", "name": "Rheumatology", "description": "A user's own area.",
        "nic_priority": False, "source": "user"}]}))
    (root / "measures" / "methotrexate_injectable_share.yaml").write_text(yaml.safe_dump(MEASURE))
    (root / "technology_appraisals" / "TA9901.yaml").write_text(yaml.safe_dump(_user_ta()))
    return root


def _cli(*args, home: Path, catalogue: Path | None = None):
    pre = ["--home", str(home)] + (["--catalogue", str(catalogue)] if catalogue else [])
    return runner.invoke(app, [*pre, *args])


def test_catalogue_list_shows_user_entries_with_their_origin(user_catalogue, tmp_path):
    result = _cli("catalogue", "list", "--json", home=tmp_path / "h", catalogue=user_catalogue)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    mine = {t["id"]: t for t in data["rheumatology"]}
    assert mine["TA9901"]["origin"] == str(user_catalogue.resolve() / "technology_appraisals" / "TA9901.yaml")
    assert {t["origin"] for t in data["stroke"]} == {"built-in"}
    measures = {m["id"]: m["origin"] for m in data["measures"]}
    assert measures["methotrexate_injectable_share"].endswith("measures/methotrexate_injectable_share.yaml")
    assert measures["doac_share"] == "built-in"
    table = _cli("catalogue", "list", home=tmp_path / "h", catalogue=user_catalogue).stdout
    assert "origin" in table and "built-in" in table


def test_user_measure_and_ta_end_to_end_on_the_real_epd(shared_data, user_catalogue, tmp_path):
    home = tmp_path / "home"
    path = shared_data / EPD
    assert _cli("ingest", str(path), home=home, catalogue=user_catalogue).exit_code == 0
    epd = pd.read_csv(path, dtype={"BNF_CODE": str})
    epd["PRACTICE_CODE"] = epd["PRACTICE_CODE"].str.strip()

    result = _cli("scorecard", "methotrexate_injectable_share", "--level", "practice", "--month", "2017-10",
                  "--min-items", "0", "--json", home=home, catalogue=user_catalogue)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    inj = epd[epd.BNF_CODE.str.startswith(INJECTION)].groupby("PRACTICE_CODE").ITEMS.sum()
    both = epd[epd.BNF_CODE.str.startswith((INJECTION, ORAL))].groupby("PRACTICE_CODE").ITEMS.sum()
    rows = {r["org"]: r for r in data["rows"]}
    assert set(rows) == set(both.index)
    for practice, den in both.items():
        assert rows[practice]["denominator"] == den
        assert rows[practice]["numerator"] == inj.get(practice, 0)
        assert rows[practice]["value"] == pytest.approx(inj.get(practice, 0) / den)
    assert data["england"]["numerator"] == inj.sum() == 1 and data["england"]["denominator"] == both.sum() == 66

    result = _cli("scorecard", "TA9901", "--level", "practice", "--month", "2017-10", "--min-items", "0",
                  "--json", home=home, catalogue=user_catalogue)
    assert result.exit_code == 0, result.output
    rows = {r["org"]: r for r in json.loads(result.stdout)["rows"]}
    tablets = epd[epd.BNF_CODE == f"{ORAL}AAABAB"].groupby("PRACTICE_CODE").agg(
        items=("ITEMS", "sum"), total=("TOTAL_QUANTITY", "sum"))
    for practice, want in tablets.iterrows():
        assert rows[practice]["items"] == want["items"]
        assert rows[practice]["quantity"] == pytest.approx(want["total"])
        assert rows[practice]["patients"] == pytest.approx(want["total"] / 1 / 31)  # one a day, October


def test_without_the_user_folder_the_entries_are_unknown(user_catalogue, tmp_path):
    result = _cli("catalogue", "show", "TA9901", home=tmp_path / "h")
    assert result.exit_code == 1 and "no technology appraisal TA9901" in result.stderr
    shown = _cli("catalogue", "show", "TA9901", home=tmp_path / "h", catalogue=user_catalogue)
    assert shown.exit_code == 0 and "Origin: " in shown.stdout


def test_a_user_entry_is_validated_by_the_same_schema(user_catalogue, tmp_path):
    doc = _user_ta()
    doc["funding_deadline_days"] = "ninety"
    bad = user_catalogue / "technology_appraisals" / "TA9901.yaml"
    bad.write_text(yaml.safe_dump(doc))
    result = _cli("catalogue", "list", home=tmp_path / "h", catalogue=user_catalogue)
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith(f"error: {bad.resolve()}: field funding_deadline_days:")


def test_a_missing_user_folder_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("UPTAKE_CATALOGUE", str(tmp_path / "nowhere"))
    result = runner.invoke(app, ["--home", str(tmp_path / "h"), "catalogue", "list"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"error: {tmp_path / 'nowhere'}: catalogue folder not found (named by "
                                     "$UPTAKE_CATALOGUE or --catalogue); expected a folder holding areas.yaml, "
                                     "technology_appraisals, measures")
