"""NHS England's 16 national medicines optimisation opportunities and the measure format they
use: the catalogue loads, is complete and consistent; bad files give errors naming the file and
the field; every BNF code of every measure is in the NHSBSA BNF file (or listed as unverified)."""

from __future__ import annotations

import copy
import csv
import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from uptake.catalogue import (
    DATA_DIR,
    CatalogueError,
    UnknownEntry,
    load_opportunities,
    opportunity,
)
from uptake.catalogue.measures import MEASURE_DIR, load_measures
from uptake.catalogue.opportunities import OPPORTUNITY_DIR

UNVERIFIED_TITLES = {12, 13, 16}


@pytest.fixture(scope="module")
def opps():
    return load_opportunities()


def test_all_sixteen_load_numbered_one_to_sixteen(opps):
    assert [o.number for o in opps] == list(range(1, 17))
    assert len({o.id for o in opps}) == 16
    assert sorted(p.stem for p in OPPORTUNITY_DIR.glob("*.yaml")) == sorted(o.id for o in opps)


def test_groups_years_and_the_2024_25_focus(opps):
    assert {o.number for o in opps if o.group == "appropriate use, access and uptake"} == set(range(1, 7))
    assert {o.number for o in opps if o.group == "specific clinical areas"} == set(range(7, 17))
    assert {o.number for o in opps if o.focus_2024_25} == {4, 6, 8, 9}
    assert all(o.years == ("2023/24", "2024/25") for o in opps)


def test_every_referenced_measure_exists(opps):
    known = {m.id for m in load_measures()}
    for o in opps:
        assert set(o.measures) <= known, o.id
        assert o.headline_measure is None or o.headline_measure in o.measures


def test_every_entry_has_sources_and_a_review_date(opps):
    for o in opps:
        assert o.sources and all(s.strip() for s in o.sources), o.id
        assert any("england.nhs.uk" in s for s in o.sources), o.id
        assert o.reviewed.year >= 2026


def test_unverified_titles_are_marked(opps):
    for o in opps:
        if o.number in UNVERIFIED_TITLES:
            assert not o.title_verified and not o.verified, o.id
            assert "title not verified" in o.notes.lower(), o.id
        else:
            assert o.title_verified and o.verified, o.id
    assert opportunity(9).title == ("Identifying patients with atrial fibrillation and using best value "
                                    "direct-acting oral anticoagulants")


def test_the_2024_25_eighty_percent_rules(opps):
    targets = {t.id: (o.number, t.value) for o in opps for t in o.targets}
    assert targets == {"new_generics_biosimilars_80": (6, 0.8), "blood_glucose_testing_80": (8, 0.8)}
    bgts = opportunity(8)
    assert bgts.benchmark.kind == "target" and bgts.benchmark.value == pytest.approx(0.2)
    assert load_measures_by_id()[bgts.headline_measure].direction == "lower"


def load_measures_by_id():
    return {m.id: m for m in load_measures()}


def test_benchmarks_follow_the_headline_measure(opps):
    measures = load_measures_by_id()
    for o in opps:
        b = o.benchmark
        if b.kind == "best_quartile":
            assert b.centile == (25 if measures[o.headline_measure].direction == "lower" else 75), o.id
            assert b.value is None
        if o.headline_measure is None:
            assert o.data_needed, f"{o.id}: nothing ranks ICBs, so the page must say what data is missing"
            assert b.kind in ("none", "target")


def test_which_opportunities_are_measured(opps):
    coverage = {o.number: o.coverage for o in opps}
    assert {n for n, c in coverage.items() if c == "measured"} == {2, 8, 9, 11, 14, 15}
    assert {n for n, c in coverage.items() if c == "context"} == {3, 7, 10}
    assert {n for n, c in coverage.items() if c == "not_measured"} == {1, 4, 5, 6, 12, 13, 16}
    assert opportunity(4).data_needed and "price" in opportunity(4).data_needed.lower()
    assert "SCMD" in opportunity(6).data_needed and "patient" in opportunity(1).data_needed.lower()


def test_lookup_by_id_or_number_and_to_dict(opps):
    assert opportunity("9") is opportunity(9) is opportunity("af-best-value-doacs")
    with pytest.raises(UnknownEntry) as err:
        opportunity("inhaler")
    assert "inhalers" in str(err.value)
    d = opportunity(8).to_dict()
    json.dumps(d)
    assert d["benchmark"]["kind"] == "target" and d["targets"][0]["value"] == 0.8 and d["coverage"] == "measured"


# --------------------------------------------------------------------------- bad opportunity files


BASE = yaml.safe_load((OPPORTUNITY_DIR / "af-best-value-doacs.yaml").read_text(encoding="utf-8"))


def _folder(tmp_path: Path, docs: dict[str, Any]) -> Path:
    root = tmp_path / "opportunities"
    root.mkdir()
    for name, doc in docs.items():
        text = doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False)
        (root / name).write_text(text, encoding="utf-8")
    return root


def _error(tmp_path: Path, change=None, *, name="af-best-value-doacs.yaml", extra=None) -> CatalogueError:
    doc = copy.deepcopy(BASE)
    if change:
        change(doc)
    root = _folder(tmp_path, {name: doc, **(extra or {})})
    with pytest.raises(CatalogueError) as err:
        load_opportunities(root)
    assert err.value.path.endswith(".yaml"), err.value
    return err.value


def test_a_good_single_file_loads(tmp_path):
    root = _folder(tmp_path, {"af-best-value-doacs.yaml": BASE})
    assert [o.number for o in load_opportunities(root)] == [9]


@pytest.mark.parametrize("change,field,words", [
    (lambda d: d.pop("sources"), "sources", "missing"),
    (lambda d: d.update(number=17), "number", "from 1 to 16"),
    (lambda d: d.update(number="9"), "number", "whole number"),
    (lambda d: d.update(group="clinical areas"), "group", "expected one of"),
    (lambda d: d.update(group="appropriate use, access and uptake"), "group", "1-6 and 7-16"),
    (lambda d: d.update(measures=["doacs_best_valu"]), "measures[0]", "did you mean doacs_best_value"),
    (lambda d: d.update(headline_measure="saba_share"), "headline_measure", "not one of"),
    (lambda d: d.update(measures=["antidepressant_items_per_1000"], headline_measure="antidepressant_items_per_1000"),
     "headline_measure", "cannot rank"),
    (lambda d: d["benchmark"].update(kind="quartile"), "benchmark.kind", "expected one of"),
    (lambda d: d["benchmark"].update(value=0.25), "benchmark.value", "computed from the data"),
    (lambda d: d.update(benchmark={"kind": "target", "value": 80, "source": "x"}), "benchmark.value",
     "between 0 and 1"),
    (lambda d: d.update(headline_measure=None, data_needed=None, benchmark={"kind": "none", "value": None,
                                                                           "source": "x"}),
     "data_needed", "say what data"),
    (lambda d: d.update(headline_measure=None), "benchmark.kind", "needs a headline measure"),
    (lambda d: d.update(title_verified=False), "notes", "title is not verified"),
    (lambda d: d.update(years=["2023-24"]), "years", "expected a list"),
    (lambda d: d.update(setting="hospital"), "setting", "expected one of"),
    (lambda d: d.update(reviewed="2026-13-01"), "reviewed", "YYYY-MM-DD"),
    (lambda d: d.update(colour="blue"), "colour", "unexpected field"),
    (lambda d: d.update(targets=[{"id": "x", "text": "t", "value": 1.5, "source": "s", "verified": True}]),
     "targets[0].value", "between 0 and 1"),
    (lambda d: d.update(targets=[{"id": "x", "text": "t", "value": 0.5, "source": "s"}]), "targets[0].verified",
     "missing"),
])
def test_bad_files_name_the_file_and_the_field(tmp_path, change, field, words):
    err = _error(tmp_path, change)
    assert err.field == field, str(err)
    assert words in str(err) and "af-best-value-doacs.yaml" in str(err) and field in str(err)


def test_id_must_match_the_file_name(tmp_path):
    err = _error(tmp_path, name="doacs.yaml")
    assert err.field == "id" and "doacs.yaml" in str(err)


def test_a_number_used_twice(tmp_path):
    other = dict(copy.deepcopy(BASE), id="zz-copy")
    err = _error(tmp_path, extra={"zz-copy.yaml": other})
    assert err.field == "number" and "zz-copy.yaml" in str(err) and "af-best-value-doacs.yaml" in str(err)


def test_invalid_yaml_gives_the_line(tmp_path):
    root = _folder(tmp_path, {"x.yaml": "id: x\nnumber: [1\n"})
    with pytest.raises(CatalogueError) as err:
        load_opportunities(root)
    assert err.value.line is not None and "x.yaml" in str(err.value)


def test_the_package_catalogue_must_hold_all_sixteen(tmp_path, monkeypatch):
    """The package's own folder is checked for completeness; a folder given explicitly is not."""
    import uptake.catalogue.opportunities as mod

    root = tmp_path / "opps"
    shutil.copytree(OPPORTUNITY_DIR, root)
    (root / "hypertension.yaml").unlink()
    assert len(load_opportunities(root)) == 15
    monkeypatch.setattr(mod, "OPPORTUNITY_DIR", root)
    mod.load_opportunities.cache_clear()
    try:
        with pytest.raises(CatalogueError, match=r"missing \[10\]"):
            mod.load_opportunities()
    finally:
        mod.load_opportunities.cache_clear()


# --------------------------------------------------------------------------- the measure format


MEASURE = yaml.safe_load((MEASURE_DIR / "doacs_best_value.yaml").read_text(encoding="utf-8"))


def _measure_error(tmp_path: Path, change) -> CatalogueError:
    doc = copy.deepcopy(MEASURE)
    change(doc)
    root = tmp_path / "measures"
    root.mkdir()
    (root / "doacs_best_value.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    with pytest.raises(CatalogueError) as err:
        load_measures(root)
    assert "doacs_best_value.yaml" in str(err.value)
    return err.value


@pytest.mark.parametrize("change,field,words", [
    (lambda d: d["numerator"]["bnf_codes"].__setitem__(0, 40702), "numerator.bnf_codes[0]", "quote BNF codes"),
    (lambda d: d["numerator"]["bnf_codes"].append("0208020Z0AA"), "numerator.bnf_codes[4]", "counted twice"),
    (lambda d: d["numerator"]["bnf_codes"].append("0208020x0"), "numerator.bnf_codes[4]", "not a BNF code prefix"),
    (lambda d: d["numerator"]["exclude_bnf_codes"].append("0208020V0AAAAAA"), "numerator.exclude_bnf_codes[7]",
     "not inside"),
    (lambda d: d["numerator"]["bnf_codes"].append("0208020V0"), "numerator.bnf_codes[4]",
     "not inside any denominator code"),
    (lambda d: d["denominator"].update(exclude_bnf_codes=["0208020X0BB"]), "denominator.exclude_bnf_codes[0]",
     "exclude it from the numerator too"),
    (lambda d: d["denominator"].update(unit="quantity"), "denominator.unit", "the same unit"),
    (lambda d: d["numerator"].update(item_quantity_above=-1), "numerator.item_quantity_above", "0 or more"),
    (lambda d: d.update(denominator={"population": "adults", "per": 1000}), "denominator.population",
     "expected one of"),
    (lambda d: d.update(denominator={"population": "registered", "per": 0}), "denominator.per", "positive"),
    (lambda d: d.update(denominator={"population": "registered", "unit": "items"}), "denominator.unit",
     "only 'population' and 'per'"),
    (lambda d: d.update(unverified_codes=["0601060D0EUAAA0"]), "unverified_codes[0]", "not one of the measure's"),
    (lambda d: d.update(sources=[]), "sources", "non-empty"),
])
def test_bad_measures_name_the_file_and_the_field(tmp_path, change, field, words):
    err = _measure_error(tmp_path, change)
    assert err.field == field, str(err)
    assert words in str(err)


def test_a_registered_denominator_makes_a_rate(tmp_path):
    doc = copy.deepcopy(MEASURE)
    doc["numerator"].pop("exclude_bnf_codes")
    doc["denominator"] = {"population": "registered", "per": 1000}
    root = tmp_path / "m"
    root.mkdir()
    (root / "doacs_best_value.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    (m,) = load_measures(root)
    assert m.kind == "per_registered" and m.per == 1000.0 and m.denominator_codes == ()
    assert m.to_dict()["kind"] == "per_registered"


def test_catalogue_measures_kinds(opps):
    by_id = load_measures_by_id()
    assert by_id["opioid_items_per_1000"].kind == "per_registered"
    assert by_id["low_priority_cost_per_1000"].unit == "actual_cost"
    assert by_id["amoxicillin_500_over_15"].needs_item_quantity
    assert by_id["doacs_best_value"].numerator_exclude and by_id["doac_share"].kind == "proportion"


# --------------------------------------------------------------------------- codes against the BNF file


@pytest.fixture(scope="module")
def bnf_codes(shared_data: Path) -> dict[str, str]:
    path = shared_data / "bnf_dmd" / "BNF_Code_Information_2020-02.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return {row["BNF Presentation Code"]: row["BNF Presentation"] for row in csv.DictReader(handle)}


def test_every_measure_code_is_in_the_bnf_file_or_listed_unverified(bnf_codes):
    codes = sorted(bnf_codes)
    import bisect

    def found(prefix: str) -> bool:
        i = bisect.bisect_left(codes, prefix)
        return i < len(codes) and codes[i].startswith(prefix)

    for m in load_measures():
        listed = (*m.numerator_codes, *m.numerator_exclude, *m.denominator_codes, *m.denominator_exclude)
        missing = {c for c in listed if not found(c)}
        assert missing == set(m.unverified_codes), m.id
        if m.unverified_codes:
            assert not m.verified, f"{m.id} lists unverified codes but says verified: true"


def test_the_measure_files_name_each_code_as_the_bnf_file_does(bnf_codes):
    """The generated comments beside 15-character codes are the BNF file's names."""
    for path in sorted(MEASURE_DIR.glob("*.yaml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith("- '") and "#" in stripped:
                code, name = stripped[3:].split("'", 1)[0], stripped.split("#", 1)[1].strip()
                if len(code) == 15 and code in bnf_codes:
                    assert " ".join(bnf_codes[code].split()) == " ".join(name.split()), (path.name, code)


def test_package_data_is_where_the_loader_looks():
    assert OPPORTUNITY_DIR == DATA_DIR / "opportunities" and MEASURE_DIR == DATA_DIR / "measures"
