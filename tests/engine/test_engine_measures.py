"""Measures on the tiny synthetic NHS against an independent pandas calculation written from
docs/metrics.md ("Measures"): a quantity measure, a rate per 1,000 registered patients, short
prefixes (2 and 7 characters), exclusions, a per-item quantity threshold, and the cost columns;
and org-level prescribing (aggregated rows) for a month with no practice-level data."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import yaml

from uptake.catalogue import load_catalogue
from uptake.catalogue.measures import load_measures
from uptake.engine import inputs
from uptake.engine import scorecard as sc
from uptake.engine.prepare import prepare

MONTHS = [date(2022, 8, 1), date(2022, 9, 1)]
APIXABAN, RIVAROXABAN = "0208020Z0", "0208020Y0"
GENERIC_TABLETS = ["0208020Z0AAAAAA", "0208020Z0AAABAB", "0208020Y0AAAAAA", "0208020Y0AAABAB", "0208020Y0AAACAC"]
BASE = {"title": "t", "description": "d", "why_it_matters": "w", "direction": "lower", "technology_appraisals": [],
        "clinical_area": "stroke", "sources": ["a test"], "reviewed": "2026-11-24", "verified": False}

# Each test measure with the pandas rule that computes its numerator and denominator rows.
MEASURES = {
    # quantity: total quantity of apixaban 5 mg over all apixaban
    "t_quantity": {"numerator": {"unit": "quantity", "bnf_codes": ["0208020Z0AAABAB", "0208020Z0BBABAB"]},
                   "denominator": {"unit": "quantity", "bnf_codes": [APIXABAN]}},
    # a rate per 1,000 registered patients, on a 7-character prefix (BNF 2.8.2, oral anticoagulants)
    "t_per_1000": {"numerator": {"unit": "items", "bnf_codes": ["0208020"]},
                   "denominator": {"population": "registered", "per": 1000}},
    # a 2-character prefix (the whole of BNF chapter 2) as the denominator
    "t_short": {"numerator": {"unit": "items", "bnf_codes": [APIXABAN]},
                "denominator": {"unit": "items", "bnf_codes": ["02"]}},
    # actual cost, with exclusions (OpenPrescribing's '~'): apixaban and rivaroxaban not generic tablets
    "t_cost_excluded": {"numerator": {"unit": "actual_cost", "bnf_codes": [APIXABAN, RIVAROXABAN],
                                      "exclude_bnf_codes": GENERIC_TABLETS},
                        "denominator": {"unit": "actual_cost", "bnf_codes": [APIXABAN, RIVAROXABAN]}},
    # a per-item quantity threshold: apixaban items of more than 56 tablets each
    "t_item_quantity": {"numerator": {"unit": "items", "bnf_codes": [APIXABAN], "item_quantity_above": 56},
                        "denominator": {"unit": "items", "bnf_codes": [APIXABAN]}},
}


def _rows(rx: pd.DataFrame, part: dict) -> pd.DataFrame:
    keep = np.zeros(len(rx), dtype=bool)
    for code in part["bnf_codes"]:
        keep |= rx.bnf_code.str.startswith(code).to_numpy()
    for code in part.get("exclude_bnf_codes", []):
        keep &= ~rx.bnf_code.str.startswith(code).to_numpy()
    if part.get("item_quantity_above") is not None:
        keep &= (rx.quantity > part["item_quantity_above"]).to_numpy()
    return rx[keep]


UNIT = {"items": "items", "quantity": "total_quantity", "actual_cost": "actual_cost"}


def pandas_measure(rx: pd.DataFrame, registered: pd.Series, spec: dict) -> pd.DataFrame:
    """(month, practice) → numerator, denominator, numerator_cost, denominator_cost, value."""
    num = _rows(rx, spec["numerator"]).groupby(["month", "practice"])
    unit = UNIT[spec["numerator"]["unit"]]
    out = pd.DataFrame({"numerator": num[unit].sum(), "numerator_cost": num["actual_cost"].sum()})
    den_spec = spec["denominator"]
    if "population" in den_spec:
        out = out.join(registered.rename("denominator"), how="outer")
        out[["numerator", "numerator_cost"]] = out[["numerator", "numerator_cost"]].fillna(0.0)
        out["denominator_cost"] = np.nan
        out["value"] = out.numerator * den_spec["per"] / out.denominator
    else:
        den = _rows(rx, den_spec).groupby(["month", "practice"])
        d = pd.DataFrame({"denominator": den[unit].sum(), "denominator_cost": den["actual_cost"].sum()})
        out = d.join(out, how="left").fillna({"numerator": 0.0, "numerator_cost": 0.0})
        out["value"] = out.numerator / out.denominator
    return out.sort_index()


@pytest.fixture(scope="module")
def test_measures(tmp_path_factory):
    folder: Path = tmp_path_factory.mktemp("measures")
    for mid, spec in MEASURES.items():
        (folder / f"{mid}.yaml").write_text(yaml.safe_dump({"id": mid, **BASE, **spec}, sort_keys=False),
                                            encoding="utf-8")
    return load_measures(folder)


@pytest.fixture(scope="module")
def frames(duck):
    rx = duck.execute(duck.table("prescribing")).to_pandas()
    rx = rx[rx.month.isin(MONTHS)].copy()
    ls = duck.execute(duck.table("list_sizes")).to_pandas()
    ls = ls[ls.month.isin(MONTHS) & (ls.sex == "all") & (ls.age_band == "all")]
    registered = ls.set_index(["month", "practice"]).patients.astype(float)
    return rx, registered


@pytest.fixture(scope="module")
def engine_rows(duck, test_measures):
    inp = prepare(duck, ["prescribing", "list_sizes", "org_relations"], load_catalogue(), test_measures, MONTHS)
    t = sc.measure_level_facts(sc.measure_base_facts(inp), inp)
    return duck.execute(t).to_pandas()


@pytest.mark.parametrize("mid", list(MEASURES))
def test_practice_figures_equal_pandas(mid, engine_rows, frames):
    rx, registered = frames
    want = pandas_measure(rx, registered, MEASURES[mid])
    got = engine_rows[(engine_rows.measure == mid) & (engine_rows.level == "practice")]
    got = got.set_index(["month", "org"]).sort_index()
    got.index.names = ["month", "practice"]
    assert len(want) > 10 and list(got.index) == list(want.index)
    for col in ("numerator", "denominator", "numerator_cost", "denominator_cost", "value"):
        np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float), rtol=1e-9, err_msg=col)
    assert (got.numerator > 0).any(), "the measure should count something on the tiny NHS"


@pytest.mark.parametrize("mid", list(MEASURES))
def test_england_is_every_practice_summed(mid, engine_rows, frames):
    rx, registered = frames
    want = pandas_measure(rx, registered, MEASURES[mid]).groupby(level="month").sum(min_count=1)
    eng = engine_rows[(engine_rows.measure == mid) & (engine_rows.level == "england")].set_index("month").sort_index()
    for col in ("numerator", "denominator", "numerator_cost"):
        np.testing.assert_allclose(eng[col].to_numpy(float), want[col].to_numpy(float), rtol=1e-9, err_msg=col)
    per = MEASURES[mid]["denominator"].get("per", 1)
    np.testing.assert_allclose(eng.value.to_numpy(float), (want.numerator * per / want.denominator).to_numpy(float),
                               rtol=1e-9)
    others = engine_rows[(engine_rows.measure == mid) & (engine_rows.level != "england")]
    assert (others.england_value == others.month.map(eng.value)).all()


def test_children_sum_to_parents(engine_rows):
    for child, parent in (("practice", "sub_icb"), ("sub_icb", "icb"), ("icb", "region"), ("region", "england")):
        kids = engine_rows[engine_rows.level == child].groupby(["measure", "month"])[["numerator", "denominator"]].sum()
        dads = engine_rows[engine_rows.level == parent].groupby(["measure", "month"])[["numerator", "denominator"]].sum()
        pd.testing.assert_frame_equal(kids.sort_index(), dads.reindex(kids.index).sort_index(), rtol=1e-9)


def test_cost_columns_value_a_gap(engine_rows):
    """A proportion's numerator_cost is the spend on what the numerator counts, whatever its unit."""
    t = engine_rows[(engine_rows.level == "england")].set_index(["measure", "month"])
    q, c = t.loc["t_quantity"], t.loc["t_cost_excluded"]
    assert (q.numerator_cost < q.denominator_cost).all() and (q.numerator_cost > 0).all()
    # the cost measure counts cost: its numerator is its numerator_cost
    np.testing.assert_allclose(c.numerator, c.numerator_cost, rtol=1e-12)
    assert t.loc["t_per_1000"].denominator_cost.isna().all()


def test_org_level_rows_for_a_month_without_practice_data(duck, test_measures):
    """Aggregated rows (prescribing_org) count for the months no practice file covers: in their
    `quantity` and `list_size`, and not at all for a measure that needs each item's quantity."""
    extra = date(2022, 10, 1)
    org = pa.table({
        "month": pa.array([extra] * 3, pa.date32()), "org_type": ["sub_icb"] * 3, "org_code": ["X1X"] * 3,
        "bnf_code": ["0208020Z0AAABAB", "0208020Z0BBAAAA", "0205051R0AAAAAA"],
        "items": pa.array([10, 5, 7], pa.int64()), "quantity": [560.0, 280.0, 196.0],
        "actual_cost": [100.0, 40.0, 3.0], "nic": [None, None, None],
        "list_size": pa.array([20000, 20000, 20000], pa.int64())})
    inp = prepare(duck, ["prescribing", "list_sizes", "org_relations"], load_catalogue(), test_measures,
                  [MONTHS[-1], extra])
    inp = dataclasses.replace(inp, prescribing_org=duck.memtable(org))
    t = duck.execute(sc.measure_level_facts(sc.measure_base_facts(inp), inp)).to_pandas()
    t = t[(t.month == extra) & (t.level == "sub_icb")].set_index("measure")
    assert t.loc["t_quantity", "numerator"] == 560.0 and t.loc["t_quantity", "denominator"] == 840.0
    assert t.loc["t_per_1000", "numerator"] == 15.0 and t.loc["t_per_1000", "denominator"] == 20000.0
    assert t.loc["t_per_1000", "value"] == pytest.approx(0.75)
    assert t.loc["t_cost_excluded", "numerator"] == 40.0 and t.loc["t_cost_excluded", "denominator"] == 140.0
    assert "t_item_quantity" not in t.index  # aggregated rows have no quantity per item
    assert t.loc["t_short", "denominator"] == 22.0  # chapter 2: every row


def test_code_lengths_drive_one_join_each(test_measures):
    counted, left_out = inputs.measure_code_lengths(test_measures)
    assert counted == (2, 7, 9, 15) and left_out == (15,)
    info = inputs.measure_info_table(test_measures).to_pylist()
    assert {r["measure"]: (r["registered"], r["per"], r["item_level"]) for r in info}["t_per_1000"] == (True, 1000.0,
                                                                                                      False)


def test_catalogue_measures_run_and_doac_share_is_unchanged(duck, frames):
    """Every catalogue measure computes on the tiny NHS; doac_share keeps its definition."""
    measures = load_measures()
    inp = prepare(duck, ["prescribing", "list_sizes", "org_relations"], load_catalogue(), measures, MONTHS)
    t = duck.execute(sc.measure_level_facts(sc.measure_base_facts(inp), inp)).to_pandas()
    rx, _ = frames
    doacs = ("0208020Z0", "0208020X0", "0208020AA", "0208020Y0")
    sep = rx[rx.month == MONTHS[-1]]
    num = sep[sep.bnf_code.str[:9].isin(doacs)]["items"].sum()
    den = sep[sep.bnf_code.str[:9].isin((*doacs, "0208020V0"))]["items"].sum()
    eng = t[(t.level == "england") & (t.month == MONTHS[-1])].set_index("measure")
    assert eng.loc["doac_share", "value"] == pytest.approx(num / den, rel=1e-12)
    best = sep[sep.bnf_code.str[:9].isin(doacs) & ~sep.bnf_code.isin(
        ["0208020Z0AAAAAA", "0208020Z0AAABAB", "0208020Y0AAAAAA", "0208020Y0AAABAB", "0208020Y0AAACAC",
         "0208020Y0AAADAD", "0208020Y0AAAEAE"])]
    assert eng.loc["doacs_best_value", "numerator"] == best["items"].sum()
    assert eng.loc["doacs_best_value", "numerator_cost"] == pytest.approx(best.actual_cost.sum(), rel=1e-9)
    assert {"antihypertensive_items_per_1000", "opioid_items_per_1000", "low_priority_cost_per_1000"} <= set(eng.index)
