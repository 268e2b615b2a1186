"""Cross-check the catalogue against the real NICE lists, BNF code file and dm+d DDD file.

Needs ../shared/data (see its SOURCES.md); every test here is skipped, with the reason, when
that folder is absent.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import re
from pathlib import Path

import pytest

from uptake.catalogue import Catalogue, load_catalogue
from uptake.catalogue import figures

UNIT_IN_MG = {"mg": 1.0, "microgram": 0.001, "g": 1000.0}
SNOMED_UNITS = {"258684004": "mg", "258685003": "microgram", "258682000": "g", "767525000": "unit"}


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="module")
def nice_2012(shared_data: Path) -> dict[str, dict[str, str]]:
    path = shared_data / "nice_ta" / "nice_ta_list_TA1_TA265_scraped_2012.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["Ref"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def nice_api(shared_data: Path) -> dict[str, dict[str, str]]:
    path = shared_data / "nice_ta" / "nice_tas_breast_cancer_pembrolizumab_api_2022-12.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["guidance_no"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def bnf_codes(shared_data: Path) -> dict[str, str]:
    path = shared_data / "bnf_dmd" / "BNF_Code_Information_2020-02.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="") as handle:
        return {row["BNF Presentation Code"]: row["BNF Presentation"].strip() for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def code_changes(shared_data: Path) -> dict[str, str]:
    path = shared_data / "bnf_dmd" / "bnf_code_changes_old_to_new.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["old_code"]: row["new_code"] for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def dmd_rows(shared_data: Path) -> list[dict[str, str]]:
    path = shared_data / "bnf_dmd" / "dmd_vmp_bnf_atc_ddd_week49_2021.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_tas_up_to_265_match_the_2012_nice_list(cat: Catalogue, nice_2012: dict[str, dict[str, str]]) -> None:
    checked = 0
    for t in cat:
        if t.number > 265:
            continue
        row = nice_2012.get(t.id)
        assert row is not None, f"{t.id} is missing from the 2012 NICE list"
        assert t.published.strftime("%Y-%m") == row["Date"], (
            f"{t.id}: published {t.published} but the 2012 NICE list says {row['Date']}"
        )
        if "(withdrawn)" in row["Title"] or "(replaced by" in row["Title"]:
            assert t.status != "current", f"{t.id} was already replaced/withdrawn in 2012"
        checked += 1
    assert checked >= 8
    # the verified subset is included in the above; assert the rule explicitly as well
    for t in cat:
        if t.verified and t.number <= 265:
            assert t.published.strftime("%Y-%m") == nice_2012[t.id]["Date"]


def test_replaced_predecessors_named_in_notes_are_marked_replaced_in_2012(nice_2012: dict[str, dict[str, str]]) -> None:
    # TA57 -> TA151, TA90 -> TA210, TA122 -> TA264 (the notes of those entries cite this).
    for old, new in [("TA57", "TA151"), ("TA90", "TA210"), ("TA122", "TA264")]:
        assert f"replaced by {new}" in nice_2012[old]["Title"]


def test_tas_in_the_api_pull_match_title_and_date(cat: Catalogue, nice_api: dict[str, dict[str, str]]) -> None:
    matched = 0
    for t in cat:
        row = nice_api.get(t.id)
        if row is None:
            continue
        assert _norm(t.title) == _norm(row["title"]), t.id
        assert t.published.isoformat() == row["pub_date"], t.id
        assert t.verified, f"{t.id} matches NICE's API pull, so it should be marked verified"
        matched += 1
    assert matched == 12
    for t in cat.by_area()["breast_cancer"]:
        assert t.id in nice_api, f"{t.id}: breast-cancer entries should all be checkable against the API pull"


def test_breast_cancer_dates_match_nices_dates_file(cat: Catalogue, shared_data: Path, nice_api: dict[str, dict[str, str]]) -> None:
    path = shared_data / "nice_ta" / "nice_ta_dates_breast_cancer_medicines.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    checked = 0
    for row in rows:
        if row["ta_short"] not in cat:
            continue  # pembrolizumab TA801 is not in the catalogue
        t = cat.ta(row["ta_short"])
        if t.id == "TA458":
            # Known conflict between NICE's two files: the API pull (19 Jul 2017) is used and documented.
            assert row["pub_date"] == "2017-11-20"
            assert t.published.isoformat() == nice_api["TA458"]["pub_date"] == "2017-07-19"
            assert "2017-11-20" in t.notes
            continue
        assert t.published.isoformat() == row["pub_date"], t.id
        assert row["medicine"] in {p.name for p in t.products}, t.id
        checked += 1
    assert checked == 10


def test_verified_presentation_codes_exist_in_the_2020_bnf_file(
    cat: Catalogue, bnf_codes: dict[str, str], code_changes: dict[str, str]
) -> None:
    successors = set(code_changes.values())
    checked = 0
    for t in cat:
        for p in t.products:
            for pres in p.presentations:
                if not pres.verified:
                    continue
                assert pres.bnf_code in bnf_codes or pres.bnf_code in successors, f"{t.id} {pres.bnf_code}"
                if pres.bnf_code in bnf_codes:
                    assert pres.name == bnf_codes[pres.bnf_code], f"{t.id} {pres.bnf_code}"
                assert pres.bnf_code not in code_changes, f"{t.id} {pres.bnf_code} has been retired"
                checked += 1
    assert checked >= 100


def test_every_presentation_is_verified_or_explained(cat: Catalogue) -> None:
    for t in cat:
        for p in t.products:
            for pres in p.presentations:
                assert pres.verified or "not checked" in (p.notes + t.notes).lower(), f"{t.id} {pres.bnf_code}"


def test_ddd_values_match_the_dmd_atc_file(cat: Catalogue, dmd_rows: list[dict[str, str]]) -> None:
    ddds: dict[str, set[float]] = {}
    for row in dmd_rows:
        unit = SNOMED_UNITS.get(row["DDD_UOMCD"])
        if row["ATC"] and row["DDD"] and unit in UNIT_IN_MG:
            ddds.setdefault(row["ATC"], set()).add(round(float(row["DDD"]) * UNIT_IN_MG[unit], 6))
    checked = 0
    for t in cat:
        for p in t.products:
            if p.ddd.basis != "WHO_DDD" or p.ddd.value is None or p.atc not in ddds:
                continue
            assert p.ddd.unit in UNIT_IN_MG, f"{t.id} {p.name}: unit {p.ddd.unit}"
            value_mg = round(p.ddd.value * UNIT_IN_MG[p.ddd.unit], 6)
            assert value_mg in ddds[p.atc], f"{t.id} {p.name}: {value_mg} mg not in {sorted(ddds[p.atc])}"
            checked += 1
    assert checked >= 25


def test_dmd_vmps_exist_and_carry_the_products_atc(cat: Catalogue, dmd_rows: list[dict[str, str]]) -> None:
    atc_of = {row["VPID"]: row["ATC"] for row in dmd_rows}
    checked = 0
    for t in cat:
        for p in t.products:
            for vpid in p.dmd_vmps:
                assert vpid in atc_of, f"{t.id} {p.name}: VMP {vpid} not in the dm+d file"
                if p.atc:
                    assert atc_of[vpid] == p.atc, f"{t.id} {p.name}: VMP {vpid} has ATC {atc_of[vpid]}"
                checked += 1
    assert checked >= 50
    # every secondary-care product must be findable in SCMD (which is coded by VMP)
    for t in cat:
        for p in t.products:
            if p.setting == "secondary":
                assert p.dmd_vmps, f"{t.id} {p.name}: secondary-care product without dm+d VMPs"


def test_breast_cancer_daily_doses_follow_nices_conventions(cat: Catalogue, shared_data: Path) -> None:
    path = shared_data / "innovation_scorecard" / "bc_med_dosage_calculations.csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        notes = {row["medicine"]: row["dosage_calc"] for row in csv.DictReader(handle)}
    expected = {
        "neratinib": ("240mg", 240.0, "WHO_DDD"),
        "ribociclib": ("450mg", 450.0, "WHO_DDD"),
        "trastuzumab deruxtecan": ("18.59 mg", 18.59, "NICE"),
        "trastuzumab emtansine": ("12.39 mg", 12.39, "NICE"),
    }
    for medicine, (text, value, basis) in expected.items():
        assert text in notes[medicine]
        products = [p for t in cat for p in t.products if p.name == medicine]
        assert products, medicine
        for p in products:
            assert (p.ddd.value, p.ddd.basis) == (value, basis), medicine
    for medicine, basis in [("abemaciclib", "ADD"), ("palbociclib", "WHO_DDD"), ("tucatinib", "WHO_DDD")]:
        assert ("ADD" if basis == "ADD" else "DDD") in notes[medicine]
        for p in (p for t in cat for p in t.products if p.name == medicine):
            assert p.ddd.basis == basis and p.ddd.value is None, medicine


def test_register_based_estimates_reproduce_from_qof(cat: Catalogue, shared_data: Path) -> None:
    def register_total(group: str, column: str) -> float:
        path = shared_data / "qof" / f"qofGP_1819_{group}.csv.gz"
        total = 0.0
        with gzip.open(path, "rt", encoding="latin-1", newline="") as handle:
            for row in csv.DictReader(handle, delimiter=";"):
                total += float(row[column].replace(".", "").replace(",", "."))
        return total

    ost = register_total("muscul", "OST50_N_1819")
    hf = register_total("CardioVascular", "HF_N_1819")
    assert round(ost) == 168752 and round(hf) == 553971
    totals = {"OST": ost, "HF": hf, "AF": register_total("CardioVascular", "AF_N_1819"),
              "CHD": register_total("CardioVascular", "CHD_N_1819"),
              "STIA": register_total("CardioVascular", "STIA_N_1819"),
              "DM": register_total("dependency", "DM17p_N_1819"), "18+": register_total("dependency", "ages18plus_1819")}
    # catalogue/data/england.yaml: the reference totals apportioning and the synthetic generator use
    for code in ("AF", "CHD", "HF", "STIA", "DM", "OST"):
        assert figures.england_register(code) == round(totals[code]), code
    assert figures.england_registered() == round(register_total("CardioVascular", "allAges_1819"))
    assert cat.ta("TA791").eligible_population.fraction == pytest.approx(20000 / ost, rel=0.005)
    assert cat.ta("TA679").eligible_population.fraction == pytest.approx(260000 / hf, rel=0.005)
    # every national count's fraction (used by the synthetic generator) is its central count over
    # the QOF 2018-19 England total of its driver, as its source's arithmetic says
    checked = 0
    for t in cat:
        pop = t.eligible_population
        if pop.form != "national" or t.id in ("TA612", "TA810"):  # those two: NICE's own template cascade
            continue
        key = pop.register if pop.driver == "register" else f"{pop.age_min}+"
        assert pop.fraction == pytest.approx(pop.count / totals[key], rel=0.005), t.id
        assert f"{round(totals[key]):,}" in pop.source, t.id
        checked += 1
    assert checked >= 20


def test_resource_impact_fractions_reproduce(cat: Catalogue) -> None:
    # NICE resource impact template cascades (Prototype_BC_prescribing data/bc_estimate_tables.csv)
    assert cat.ta("TA810").eligible_population.fraction == pytest.approx(4059 / 44456850, rel=0.01)
    assert cat.ta("TA612").eligible_population.fraction == pytest.approx(497.4389872 / 43752473, rel=0.01)
    assert cat.ta("TA810").expected_uptake.share == 0.55
    assert cat.ta("TA612").expected_uptake.share == 0.8
    assert cat.ta("TA694").eligible_population.count == 70000
    assert cat.ta("TA810").eligible_population.count == 4059 and cat.ta("TA612").eligible_population.count == 497


def test_publication_dates_are_plausible(cat: Catalogue) -> None:
    for t in cat:
        assert dt.date(2000, 3, 1) <= t.published <= t.reviewed
        assert re.fullmatch(r"TA\d+", t.id)
