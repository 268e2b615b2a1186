"""The scorecard engine against an independent pandas calculation written from docs/metrics.md,
on a tiny synthetic NHS; and its properties (children sum to parents, order does not matter)."""

from __future__ import annotations

import calendar
import re
from datetime import date

import numpy as np
import pandas as pd
import pytest

from uptake.catalogue import load_catalogue
from uptake.catalogue.figures import has_expected
from uptake.catalogue.measures import load_measures
from uptake.engine import scorecard as sc
from uptake.engine.prepare import prepare

MONTH = date(2022, 9, 1)
TA = "TA275"  # apixaban: AF register, adults, a sourced fraction and share (estimates)


def frame(eng, name: str) -> pd.DataFrame:
    return eng.execute(eng.table(name)).to_pandas()


def membership(rel: pd.DataFrame, month: date, ctype: str, ptype: str) -> dict[str, str]:
    """The rule, written again: the row valid in the month with the latest start; else the
    earliest row that starts later (a snapshot published after the month)."""
    r = rel[(rel.child_type == ctype) & (rel.parent_type == ptype)].copy()
    r["vf"] = pd.to_datetime(r.valid_from)
    r["vt"] = pd.to_datetime(r.valid_to)
    m = pd.Timestamp(month)
    r = r[r.vt.isna() | (r.vt >= m)]
    out = {}
    for child, g in r.groupby("child"):
        now = g[g.vf.isna() | (g.vf <= m)]
        if len(now):
            now = now.assign(k=now.vf.fillna(pd.Timestamp("1900-01-01"))).sort_values(["k", "parent"],
                                                                                    ascending=[False, True])
            out[child] = now.parent.iloc[0]
        else:
            out[child] = g.sort_values(["vf", "parent"]).parent.iloc[0]
    return out


def band_share(band: str, lo: int | None, hi: int | None) -> float:
    m = re.match(r"^(\d+)(?:-(\d+)|\+)$", band)
    if not m:
        return 0.0
    a = int(m.group(1))
    b = int(m.group(2)) + 1 if m.group(2) else (a + 10 if hi is not None else 200)
    want_a, want_b = (lo or 0), (hi + 1 if hi is not None else 200)
    return max(0, min(b, want_b) - max(a, want_a)) / (b - a)


def pandas_icb_scorecard(eng, ta_id: str, month: date) -> pd.DataFrame:
    ta = load_catalogue().ta(ta_id)
    pop = ta.eligible_population
    upd = {x.bnf_code: x.units_per_day for p in ta.products for x in p.presentations}
    rx = frame(eng, "prescribing")
    rx = rx[(pd.to_datetime(rx.month) == pd.Timestamp(month)) & rx.bnf_code.isin(upd)]
    rx = rx.assign(days=rx.total_quantity / rx.bnf_code.map(upd))
    obs = rx.groupby("practice").agg(items=("items", "sum"), treatment_days=("days", "sum"))

    ls = frame(eng, "list_sizes")
    ls = ls[pd.to_datetime(ls.month) == pd.Timestamp(month)]
    total = ls[(ls.sex == "all") & (ls.age_band == "all")].set_index("practice").patients.astype(float)
    bands = ls[ls.sex.isin(["male", "female"])]
    bands = bands.assign(w=[band_share(b, pop.age_min, pop.age_max) for b in bands.age_band])
    banded = (bands.patients * bands.w).groupby(bands.practice).sum()

    qof = frame(eng, "qof_registers")
    fy = f"{month.year if month.month >= 4 else month.year - 1}"
    year = sorted(y for y in qof.year.unique() if y[:4] <= fy)[-1]
    reg = qof[(qof.year == year) & (qof.register == pop.register)].set_index("practice").patients.astype(float)

    df = pd.DataFrame({"registered_all": total, "registered": banded}).join(obs, how="outer")
    df["eligible"] = reg.reindex(df.index) * pop.fraction
    df["expected"] = df.eligible * ta.expected_uptake.share
    rel = frame(eng, "org_relations")
    sub = membership(rel, month, "practice", "sub_icb")
    icb = membership(rel, month, "sub_icb", "icb")
    df["icb"] = [icb.get(sub.get(p)) for p in df.index]
    g = df.dropna(subset=["icb"]).groupby("icb")[["items", "treatment_days", "registered", "eligible",
                                                  "expected"]].sum(min_count=1)
    g["patients"] = g.treatment_days / calendar.monthrange(month.year, month.month)[1]
    g["index"] = g.patients / g.expected
    g["per_1000"] = g.patients / g.registered * 1000
    g["percentile"] = (g["index"].rank(method="min") - 1) / (g["index"].notna().sum() - 1) * 100
    return g


@pytest.fixture(scope="module")
def engine_rows(duck):
    inp = prepare(duck, [d for d in duck.datasets if duck.execute(duck.table(d).count().as_table()).column(0)[0].as_py()],
                  load_catalogue(), load_measures(), [MONTH])
    t = sc.with_metrics(sc.level_facts(sc.base_facts(inp), inp), inp)
    return duck.execute(t).to_pandas()


def test_icb_scorecard_equals_an_independent_pandas_calculation(duck, engine_rows):
    want = pandas_icb_scorecard(duck, TA, MONTH)
    got = engine_rows[(engine_rows.level == "icb") & (engine_rows.ta == TA)].set_index("org").sort_index()
    assert len(want) >= 3 and list(got.index) == list(want.index)
    for col in ("items", "patients", "registered", "eligible", "expected", "index", "per_1000", "percentile"):
        np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float), rtol=1e-9, err_msg=col)
    assert got["index"].between(0.01, 5).all()  # a real, non-degenerate figure


def test_england_is_the_sum_of_every_practice(engine_rows):
    t = engine_rows[engine_rows.ta == TA]
    eng = t[t.level == "england"].iloc[0]
    practices = t[t.level == "practice"]
    assert eng["items"] == practices["items"].sum()
    assert eng.expected == pytest.approx(practices.expected.sum(), rel=1e-12)
    assert eng["index"] == pytest.approx(eng.patients / eng.expected, rel=1e-12)
    assert (t[t.level != "england"].england_index == eng["index"]).all()


@pytest.mark.parametrize("child,parent", [("practice", "sub_icb"), ("sub_icb", "icb"), ("icb", "region"),
                                          ("region", "england")])
def test_children_sum_to_parents_on_the_demo(engine_rows, child, parent):
    for col in ("items", "treatment_days", "registered", "expected"):
        kids = engine_rows[engine_rows.level == child].groupby("ta")[col].sum()
        dads = engine_rows[engine_rows.level == parent].groupby("ta")[col].sum()
        np.testing.assert_allclose(kids.sort_index(), dads.reindex(kids.index).sort_index(), rtol=1e-9, err_msg=col)


def test_headline_falls_back_when_no_expected_use(engine_rows):
    heads = engine_rows.drop_duplicates("ta").set_index("ta").headline
    assert heads[TA] == "index"
    without = [t.id for t in load_catalogue().technology_appraisals if not has_expected(t)
               and any(p.presentations for p in t.products)]
    assert without and set(heads.reindex(without).dropna()) <= {"per_1000", "items_per_1000", "none"}
    assert heads["TA151"] == "none"  # insulin pumps: no primary-care presentations


def test_deciles_are_unweighted_linear_quantiles(duck, engine_rows):
    inp = prepare(duck, ["prescribing", "list_sizes", "qof_registers", "org_relations"], load_catalogue(), (), [MONTH])
    t = sc.with_metrics(sc.level_facts(sc.base_facts(inp), inp, ("icb",)), inp)
    d = duck.execute(sc.deciles(t)).to_pandas().set_index(["level", "ta"])
    vals = engine_rows[(engine_rows.level == "icb") & (engine_rows.ta == TA)]["value"].dropna()
    for k in range(10, 100, 10):
        assert d.loc[("icb", TA), f"p{k}"] == pytest.approx(np.quantile(vals, k / 100), rel=1e-12)


HOSPITAL_TA = "TA495"  # palbociclib: hospital-only, six VMPs, one capsule or tablet a day


def pandas_hospital_icb(eng, ta_id: str, month: date) -> pd.DataFrame:
    """Hospital issues of a TA per ICB, written again from docs/metrics.md: each trust's SCMD
    quantity ÷ the product's units per day, summed to the ICB the trust belongs to."""
    ta = load_catalogue().ta(ta_id)
    upd = {}
    for p in ta.products:
        days = {x.units_per_day for x in p.presentations}
        for v in p.dmd_vmps:
            upd[v] = next(iter(days)) if len(days) == 1 else np.nan
    s = frame(eng, "scmd")
    s = s[(pd.to_datetime(s.month) == pd.Timestamp(month)) & s.vmp_code.isin(upd)]
    s = s.assign(days=s.total_quantity / s.vmp_code.map(upd))
    trust_icb = membership(frame(eng, "org_relations"), month, "trust", "icb")
    s = s.assign(icb=s.trust.map(trust_icb))
    return s.groupby("icb").agg(secondary_quantity=("total_quantity", "sum"),
                                secondary_cost=("indicative_cost", "sum"),
                                secondary_treatment_days=("days", "sum"))


def test_hospital_issues_count_at_icb_level_as_an_independent_calculation(duck, engine_rows):
    want = pandas_hospital_icb(duck, HOSPITAL_TA, MONTH)
    rows = engine_rows[engine_rows.ta == HOSPITAL_TA]
    icb = rows[rows.level == "icb"].set_index("org").sort_index()
    assert len(want) >= 3 and set(want.index) <= set(icb.index)
    got = icb.reindex(want.index)
    for col in want.columns:
        np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float), rtol=1e-9, err_msg=col)
    # an ICB whose trusts issued none has 0, not unknown; the figure ranks on the uptake index
    # (palbociclib has an expected use: 8,000 eligible a year apportioned by adults, docs/metrics.md §3.2)
    assert icb.secondary_quantity.notna().all()
    assert (icb.drop(want.index).secondary_quantity == 0).all()
    days = calendar.monthrange(MONTH.year, MONTH.month)[1]
    np.testing.assert_allclose(icb.patients, (icb.treatment_days + icb.secondary_treatment_days) / days, rtol=1e-12)
    assert (icb.headline == "index").all() and icb.value.notna().all()
    np.testing.assert_allclose(icb.value, icb.patients / icb.expected, rtol=1e-12)
    np.testing.assert_allclose(icb.per_1000, icb.patients / icb.registered * 1000, rtol=1e-12)
    eng = rows[rows.level == "england"].iloc[0]
    assert eng.secondary_treatment_days == pytest.approx(frame(duck, "scmd").pipe(
        lambda s: s[pd.to_datetime(s.month) == pd.Timestamp(MONTH)]).pipe(
        lambda s: s[s.vmp_code.isin(load_catalogue().ta(HOSPITAL_TA).dmd_vmps)]).total_quantity.sum(), rel=1e-12)


def test_hospital_only_ta_has_no_figure_below_the_icb(engine_rows):
    rows = engine_rows[engine_rows.ta == HOSPITAL_TA]
    for level in ("practice", "pcn", "sub_icb"):
        below = rows[rows.level == level]
        assert len(below) and below.value.isna().all() and below.patients.isna().all(), level
        assert below.secondary_quantity.isna().all(), level


def test_trusts_are_a_level_on_request_with_hospital_issues_only(duck):
    inp = prepare(duck, ["prescribing", "scmd", "list_sizes", "qof_registers", "org_relations"],
                  load_catalogue(), (), [MONTH], tas=[HOSPITAL_TA])
    t = duck.execute(sc.with_metrics(sc.level_facts(sc.base_facts(inp), inp, ("trust", "icb")), inp)).to_pandas()
    trusts, icbs = t[t.level == "trust"], t[t.level == "icb"].set_index("org")
    assert len(trusts) and trusts.registered.isna().all() and trusts.value.isna().all()
    assert trusts.secondary_patients.gt(0).any()
    icb_of = membership(frame(duck, "org_relations"), MONTH, "trust", "icb")
    summed = trusts.assign(icb=trusts.org.map(icb_of)).groupby("icb").secondary_treatment_days.sum()
    np.testing.assert_allclose(icbs.loc[summed.index, "secondary_treatment_days"], summed, rtol=1e-12)
