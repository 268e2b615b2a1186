"""Properties of the scorecard engine on small generated NHSs (hypothesis): children sum to their
parents at every level, results do not depend on row order, and an organisation with no activity
changes nobody else's figures."""

from __future__ import annotations

from datetime import date

import ibis
import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uptake.catalogue import load_catalogue
from uptake.engine import inputs, scorecard as sc
from uptake.engine.prepare import only, population_with_headline
from uptake.schemas import DATASETS

CAT = load_catalogue()
TA = CAT.ta("TA275")
CODES = [x.bnf_code for p in TA.products for x in p.presentations]
MONTHS = [date(2022, 8, 1), date(2022, 9, 1)]
CON = ibis.duckdb.connect()


@st.composite
def nhs(draw):
    n_icb = draw(st.integers(1, 3))
    subs = [(f"S{i}", f"I{i % n_icb}") for i in range(draw(st.integers(n_icb, 5)))]
    practices = [(f"P{i}", draw(st.sampled_from(subs))[0]) for i in range(draw(st.integers(2, 9)))]
    rx = []
    for p, _ in practices:
        for m in MONTHS:
            for code in draw(st.lists(st.sampled_from(CODES), unique=True, max_size=3)):
                q = draw(st.integers(1, 200))
                rx.append({"month": m, "practice": p, "bnf_code": code, "items": draw(st.integers(1, 40)),
                           "quantity": 28.0, "total_quantity": float(q * 28), "nic": 1.0, "actual_cost": 1.0})
    sizes = [{"month": m, "practice": p, "sex": "all", "age_band": "all", "patients": draw(st.integers(500, 9000))}
             for p, _ in practices for m in MONTHS]
    regs = [{"year": "2022-23", "practice": p, "register": "AF", "patients": draw(st.integers(0, 300)),
             "list_size": None, "list_type": None} for p, _ in practices]
    rel = ([{"child": p, "child_type": "practice", "parent": s, "parent_type": "sub_icb"} for p, s in practices]
           + [{"child": s, "child_type": "sub_icb", "parent": i, "parent_type": "icb"} for s, i in subs]
           + [{"child": f"I{i}", "child_type": "icb", "parent": "R0", "parent_type": "region"} for i in range(n_icb)])
    for r in rel:
        r.update(valid_from=None, valid_to=None, source="t")
    return {"prescribing": rx, "list_sizes": sizes, "qof_registers": regs, "org_relations": rel}


def table(name, rows):
    return ibis.memtable(pa.Table.from_pylist(rows, schema=DATASETS[name].schema))


def run(data) -> dict:
    inp = sc.Inputs(
        prescribing=table("prescribing", data["prescribing"]), prescribing_org=None,
        relations=table("org_relations", data["org_relations"]), list_sizes=table("list_sizes", data["list_sizes"]),
        registers=table("qof_registers", data["qof_registers"]),
        codes=ibis.memtable(only(inputs.codes_table(CAT), "ta", [TA.id])),
        population=ibis.memtable(only(population_with_headline(CAT), "ta", [TA.id])),
        bands=ibis.memtable(inputs.bands_table(CAT, [])), months=ibis.memtable(inputs.months_table(MONTHS, ["2022-23"])))
    levels = ("practice", "sub_icb", "icb", "region")
    t = CON.to_pyarrow(sc.with_metrics(sc.level_facts(sc.base_facts(inp), inp, levels), inp)).to_pylist()
    return {(r["level"], r["org"], r["ta"], r["month"]): r for r in t if r["ta"] == TA.id}


SETTINGS = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(nhs())
def test_children_sum_to_parents(data):
    got = run(data)
    for child, parent in (("practice", "sub_icb"), ("sub_icb", "icb"), ("icb", "region"), ("region", "england")):
        for m in MONTHS:
            for col in ("items", "treatment_days", "registered_all", "expected"):
                kids = sum(r[col] or 0 for k, r in got.items() if k[0] == child and k[3] == m)
                dads = sum(r[col] or 0 for k, r in got.items() if k[0] == parent and k[3] == m)
                assert np.isclose(kids, dads, rtol=1e-12), (child, parent, col)


@SETTINGS
@given(nhs(), st.randoms(use_true_random=False))
def test_rates_do_not_depend_on_row_order(data, rnd):
    before = run(data)
    shuffled = {k: rnd.sample(v, len(v)) for k, v in data.items()}
    after = run(shuffled)
    assert before.keys() == after.keys()
    for k in before:
        for col in ("index", "per_1000", "percentile"):
            a, b = before[k][col], after[k][col]
            assert (a is None and b is None) or np.isclose(a, b, rtol=1e-12), (k, col)


@SETTINGS
@given(nhs())
def test_an_organisation_with_no_activity_changes_no_one_elses_observed_values(data):
    before = run(data)
    extra = dict(data)
    extra["org_relations"] = data["org_relations"] + [
        {"child": "PNEW", "child_type": "practice", "parent": data["org_relations"][0]["parent"],
         "parent_type": "sub_icb", "valid_from": None, "valid_to": None, "source": "t"}]
    extra["list_sizes"] = data["list_sizes"] + [
        {"month": m, "practice": "PNEW", "sex": "all", "age_band": "all", "patients": 4000} for m in MONTHS]
    after = run(extra)
    for k, r in before.items():
        for col in ("items", "quantity", "treatment_days", "patients"):
            assert r[col] == after[k][col] or np.isclose(r[col], after[k][col], rtol=1e-12), (k, col)
    assert after[("practice", "PNEW", TA.id, MONTHS[0])]["items"] == 0
