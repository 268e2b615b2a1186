"""The opportunity figures and an ICB's ranking on a hand-worked example."""

from __future__ import annotations

from datetime import date

import pytest

from uptake.catalogue import load_opportunities
from uptake.catalogue.measures import load_measures
from uptake.services import opportunities as so

OPPS = {o.id: o for o in load_opportunities()}
MEASURES = {m.id: m for m in load_measures()}


def row(org, value, num, den, cost, level="icb"):
    return {"level": level, "org": org, "value": value, "numerator": num, "denominator": den,
            "numerator_cost": cost, "percentile": None}


def test_best_quartile_gap_units_and_spend_by_hand():
    o = OPPS["af-best-value-doacs"]  # best quartile; lower is better
    m = MEASURES[o.headline_measure]
    assert (o.benchmark.kind, o.benchmark.centile, m.direction, m.kind) == ("best_quartile", 25, "lower", "proportion")
    now = [row("Q01", 0.10, 10, 100, 300.0), row("Q02", 0.20, 40, 200, 800.0), row("Q03", 0.30, 30, 100, 600.0),
           row("Q04", 0.50, 100, 200, 1500.0), row("ENG", 180 / 600, 180, 600, 3200.0, level="england")]
    before = [row("Q01", 0.12, 0, 0, 0), row("Q02", 0.20, 0, 0, 0), row("Q03", 0.25, 0, 0, 0), row("Q04", 0.6, 0, 0, 0)]
    b, rows = so.standings(o, m, now, before, {("icb", "Q04"): "Fourth"})
    # 25th centile of 0.1, 0.2, 0.3, 0.5 by linear interpolation: 0.1 + 0.75 × (0.2 − 0.1) = 0.175
    assert b == pytest.approx(0.175)
    q4 = next(r for r in rows if r.icb == "Q04")
    assert q4.gap == pytest.approx(0.325)
    assert q4.units == pytest.approx(0.325 * 200)  # 65 items would change
    assert q4.spend == pytest.approx(65 * 1500.0 / 100)  # at Q04's £15 an item
    assert q4.spend_a_year == pytest.approx(65 * 15 * 12)
    assert (q4.change, q4.improved, q4.name) == (pytest.approx(-0.1), True, "Fourth")
    q1 = next(r for r in rows if r.icb == "Q01")
    assert (q1.gap, q1.units, q1.spend) == (0.0, 0.0, 0.0)
    assert next(r for r in rows if r.icb == "Q03").improved is False
    assert [r.icb for r in rows] == ["Q04", "Q03", "Q02", "Q01"]  # by spend, highest first


def test_a_target_and_a_rate_per_1000_patients():
    o = OPPS["blood-glucose-testing"]
    m = MEASURES[o.headline_measure]
    assert o.benchmark.kind == "target"
    b, rows = so.standings(o, m, [row("Q01", 0.35, 35, 100, 350.0)], [], {})
    assert b == o.benchmark.value
    assert rows[0].units == pytest.approx((0.35 - b) * 100)
    opioid = OPPS["opioids-chronic-pain"]
    per = MEASURES[opioid.headline_measure]
    assert per.kind == "per_registered" and per.per == 1000
    # 3 ICBs at 10, 20 and 30 items per 1,000: best quartile (lower) 15; the third ICB has 50,000 patients
    now = [row("Q01", 10.0, 100, 10_000, 500.0), row("Q02", 20.0, 400, 20_000, 2000.0),
           row("Q03", 30.0, 1500, 50_000, 4500.0)]
    b, rows = so.standings(opioid, per, now, [], {})
    assert b == pytest.approx(15.0)
    q3 = next(r for r in rows if r.icb == "Q03")
    assert q3.units == pytest.approx(15 * 50_000 / 1000)  # 750 items a month
    assert q3.spend == pytest.approx(750 * 3.0)


def test_an_icbs_ranking_orders_by_spend_then_relative_gap_then_unmeasured():
    doacs, bgts, inhalers = OPPS["af-best-value-doacs"], OPPS["blood-glucose-testing"], OPPS["inhalers"]
    poly = OPPS["problematic-polypharmacy"]

    def view(o, spend, gap, benchmark):
        s = so.IcbStanding("Q01", None, 1.0, benchmark, gap, None, None if spend is None else spend / 12, spend,
                           None, None)
        return so.OpportunityView(o, MEASURES[o.headline_measure], date(2022, 9, 1), None, benchmark, None, [s])

    views = [view(doacs, 1200.0, 0.1, 0.2), view(bgts, 0.0, 0.05, 0.2), view(inhalers, 0.0, 0.3, 0.6),
             so.OpportunityView(poly, None, None, None, None, None)]
    ranked = so.rank_for_icb(views, "Q01")
    # DOACs first (£1,200 a year); then nothing to spend: inhalers' gap is half its benchmark, BGTS' a quarter
    assert [(r.rank, r.opportunity.id) for r in ranked] == [
        (1, "af-best-value-doacs"), (2, "inhalers"), (3, "blood-glucose-testing"), (None, "problematic-polypharmacy")]
    assert ranked[-1].to_dict()["data_needed"] == poly.data_needed and poly.data_needed


def test_views_on_the_publication_match_the_measure_table(pub):
    views = so.all_views(pub)
    assert [v.opportunity.number for v in views] == list(range(1, 17))
    measured = [v for v in views if v.measured]
    assert {v.opportunity.id for v in measured} == {o.id for o in OPPS.values() if o.headline_measure}
    for v in measured:
        table = pub.measure_table([v.measure.id], [v.month], ("icb",)).to_pylist()
        icbs = {r["org"]: r for r in table if r["level"] == "icb"}
        assert {r.icb for r in v.rows} == set(icbs)
        for r in v.rows:
            assert r.value == icbs[r.icb]["value"]
        assert sum(1 for r in v.rows if r.value is not None) > 0, f"{v.measure.id} has no figures on the demo"


def test_a_rate_per_1000_measure_gets_a_rate_funnel_not_a_share(pub):
    from uptake.services.scorecard import scorecard

    card = scorecard(pub, "low_priority_cost_per_1000", "icb")
    assert card.headline == "rate_per_1000" and card.funnel.kind == "rate"
    # a numerator (pounds) far above its denominator (patients) is no error for a rate
    assert card.funnel.target == pytest.approx(card.england.value, rel=1e-9)  # the centre is England's rate
    table = pub.measure_table(["low_priority_cost_per_1000"], [pub.months()[-1]], ("icb",)).to_pylist()
    assert {r["headline"] for r in table} == {"rate_per_1000"}
