"""Eligible populations and expected use on real NHS data (issue 18; docs/metrics.md §3.2-1.6):
national counts apportioned to every practice by their driver (a QOF register, or registered
patients in an age band) sum back to the national figure for every TA and month; a TA whose
sources disagree has the range; a part of England gets its share; the range position and the
patients not yet reached. Needs ../shared/data: skipped, with the reason, when absent."""

from __future__ import annotations

import csv
import gzip
from datetime import date
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from uptake.catalogue import load_catalogue
from uptake.catalogue.figures import england_registered, has_expected
from uptake.engine import inputs, scorecard as sc
from uptake.engine.prepare import population_with_headline
from uptake.sources.base import read_file

CAT = load_catalogue()
MONTHS = [date(2016, 1, 1), date(2016, 2, 1), date(2016, 3, 1)]
CON = ibis.duckdb.connect()
NATIONAL = [t for t in CAT if t.eligible_population.form == "national" or t.expected_uptake.form == "national"]


@pytest.fixture(scope="module")
def real(shared_data: Path) -> dict[str, pa.Table]:
    """Real list sizes by practice, age and sex (Jan-Mar 2016) and QOF 2018-19 registers."""
    sizes = read_file(shared_data / "list_sizes" / "Patient_List_Size_2016_01-03_age_sex.csv.gz").table
    regs = pa.concat_tables([read_file(shared_data / "qof" / f"qofGP_1819_{g}.csv.gz").table
                             for g in ("CardioVascular", "dependency", "muscul")])
    return {"list_sizes": sizes, "qof_registers": regs}


def computed(real: dict[str, pa.Table], *, practices: list[str] | None = None,
             levels: tuple[str, ...] = ()) -> list[dict]:
    sizes = real["list_sizes"]
    if practices is not None:
        sizes = sizes.filter(pa.compute.is_in(sizes["practice"], pa.array(practices)))
    bands = list({(s, a) for s, a in zip(sizes["sex"].to_pylist(), sizes["age_band"].to_pylist())})
    years = ["2018-19"]  # the registers every month reads
    empty = ibis.memtable(pa.table({"month": pa.array([], pa.date32())}))
    inp = sc.Inputs(
        prescribing=None, prescribing_org=None, relations=None, list_sizes=ibis.memtable(sizes),
        registers=ibis.memtable(real["qof_registers"].filter(pa.compute.equal(real["qof_registers"]["year"], "2018-19"))),
        codes=ibis.memtable(inputs.codes_table(CAT)), population=ibis.memtable(population_with_headline(CAT)),
        bands=ibis.memtable(inputs.bands_table(CAT, bands)), months=ibis.memtable(inputs.months_table(MONTHS, years)),
        scmd_months=empty, england_registered=england_registered())
    return CON.to_pyarrow(sc.with_metrics(sc.level_facts(sc.base_facts(inp), inp, levels), inp)).to_pylist()


def england(real: dict[str, pa.Table], *, practices: list[str] | None = None) -> dict[tuple[str, date], dict]:
    return {(r["ta"], r["month"]): r for r in computed(real, practices=practices) if r["level"] == "england"}


@pytest.fixture(scope="module")
def whole(real) -> dict[tuple[str, date], dict]:
    return england(real)


def test_national_counts_sum_back_to_the_national_figure_for_every_ta_and_month(whole):
    got = whole
    assert len(NATIONAL) >= 25
    for ta in NATIONAL:
        pop, up = ta.eligible_population, ta.expected_uptake
        for month in MONTHS:
            row = got[(ta.id, month)]
            if pop.form == "national":
                assert row["eligible"] == pytest.approx(pop.count, rel=1e-9), ta.id
                assert row["eligible_low"] == pytest.approx(pop.count_low, rel=1e-9), ta.id
                assert row["eligible_high"] == pytest.approx(pop.count_high, rel=1e-9), ta.id
            if up.form == "national":
                assert row["expected"] == pytest.approx(up.count, rel=1e-9), ta.id
            elif up.share is not None:
                assert row["expected"] == pytest.approx(pop.count * up.share, rel=1e-9), ta.id
                assert row["expected_low"] == pytest.approx(pop.count_low * up.share_low, rel=1e-9), ta.id
                assert row["expected_high"] == pytest.approx(pop.count_high * up.share_high, rel=1e-9), ta.id


def test_disagreeing_sources_give_the_range_each_end_from_its_source(whole):
    got = whole[("TA679", MONTHS[0])]
    # NICE via Univadis "around 260,000" (central) against MIMS "approximately 250,000"
    assert (got["eligible_low"], got["eligible"], got["eligible_high"]) == pytest.approx((250000, 260000, 260000))
    ta725 = CAT.ta("TA725")
    # "around 2,500" (NICE draft press, central) against TA579's resource impact statement "up to 3,300"
    assert [n.count for n in ta725.eligible_population.national] == [2500, 3300]
    row = whole[("TA725", MONTHS[0])]
    assert (row["expected_low"], row["expected"], row["expected_high"]) == pytest.approx(
        (2500 * 0.55 / 3, 2500 * 0.675 / 3, 3300 * 0.80 / 3), rel=1e-3)


def test_each_practice_gets_its_registers_share_computed_independently(real, whole, shared_data):
    """TA902 (150,000, HF register) at every practice, against the QOF file read with csv."""
    path = shared_data / "qof" / "qofGP_1819_CardioVascular.csv.gz"
    hf: dict[str, float] = {}
    with gzip.open(path, "rt", encoding="latin-1", newline="") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            hf[row["practiceCode"]] = float(row["HF_N_1819"].replace(".", "").replace(",", "."))
    listed = set(real["list_sizes"]["practice"].to_pylist())
    total = sum(v for p, v in hf.items() if p in listed)  # the practices in both files share it out
    got = {r["org"]: r["eligible"] for r in computed(real, levels=("practice",))
           if r["level"] == "practice" and r["ta"] == "TA902" and r["month"] == MONTHS[0]}
    checked = [p for p in sorted(listed & set(hf))[:200]]
    for p in checked:
        assert got[p] == pytest.approx(150000 * hf[p] / total, rel=1e-9), p
    assert whole[("TA902", MONTHS[0])]["eligible"] == pytest.approx(150000)


def test_a_part_of_england_gets_its_coverage_share(real):
    """One practice alone is not England: it gets 150,000 x its registered patients ÷ England's."""
    sizes = real["list_sizes"]
    practice = "A81001"
    registered = next(n for n, p, s, a, m in zip(
        sizes["patients"].to_pylist(), sizes["practice"].to_pylist(), sizes["sex"].to_pylist(),
        sizes["age_band"].to_pylist(), sizes["month"].to_pylist())
        if p == practice and s == "all" and a == "all" and m == MONTHS[0])
    one = england(real, practices=[practice])[("TA902", MONTHS[0])]
    assert one["eligible"] == pytest.approx(150000 * registered / england_registered(), rel=1e-9)


def test_range_position_and_not_reached():
    t = ibis.memtable(pa.table({
        "patients": [5.0, 12.0, 30.0, None, 10.0],
        "expected": [15.0, 15.0, 15.0, 15.0, None],
        "expected_low": [10.0, 10.0, 10.0, 10.0, None],
        "expected_high": [20.0, 20.0, 20.0, 20.0, None]}))
    got = CON.to_pyarrow(sc.against_range(t)).to_pylist()
    assert [r["position"] for r in got] == ["below", "within", "above", None, None]
    assert [r["not_reached"] for r in got] == [10.0, 3.0, -15.0, None, None]
    assert [(r["not_reached_low"], r["not_reached_high"]) for r in got[:3]] == [(5.0, 15.0), (-2.0, 8.0), (-20.0, -10.0)]


def test_most_tas_with_products_have_an_expected_use():
    countable = [t for t in CAT if t.products]
    with_expected = [t for t in countable if has_expected(t)]
    # half of the TAs with products: the rest have no sourced uptake figure (their notes say what was searched)
    assert len(with_expected) >= 20 and len(with_expected) / len(countable) >= 0.5
