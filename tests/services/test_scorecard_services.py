"""The scorecard services on the tiny synthetic NHS: figures equal the engine's, suppression,
profile, variation, diffusion and the opportunity worked by hand from the rows."""

from __future__ import annotations

import numpy as np
import pytest

from uptake.errors import UptakeError
from uptake.engine.prepare import in_primary_care
from uptake.services.analysis import open_analysis
from uptake.services.diffusion import diffusion
from uptake.services.national import national_picture
from uptake.services.scorecard import profile, scorecard
from uptake.services.variation import variation


@pytest.fixture(scope="module")
def an(tiny_warehouse):
    with open_analysis(tiny_warehouse) as a:
        yield a


def test_scorecard_rows_equal_the_engine_table(an):
    card = scorecard(an, "TA275", "icb", "2022-09", min_items=0)
    table = an.ta_table(["TA275"], [an.month("2022-09")], ("icb",)).to_pylist()
    engine = {r["org"]: r for r in table if r["level"] == "icb"}
    assert card.headline == "index" and len(card.rows) == len(engine)
    for row in card.rows:
        assert row.value == pytest.approx(engine[row.org]["index"], rel=1e-12)
        assert row.percentile == pytest.approx(engine[row.org]["percentile"], rel=1e-12)
    assert card.england.value == pytest.approx(engine[card.rows[0].org]["england_value"], rel=1e-12)
    values = [r.value for r in card.rows]
    assert values == sorted(values, reverse=True)  # highest first
    assert card.deciles["p50"] == pytest.approx(float(np.median(values)), rel=1e-12)
    assert card.funnel.areas == len(card.rows) and card.funnel.kind == "rate"


def test_small_counts_are_suppressed_and_marked(an):
    picture = national_picture(an, "2022-09")
    prescribed = [r for r in picture.rows if r.patients and in_primary_care(an.catalogue.ta(r.ta))]
    rare = min(prescribed, key=lambda r: r.patients).ta  # the fewest patients in England
    full = scorecard(an, rare, "practice", "2022-09", min_items=0)
    small = [r.org for r in full.rows if 0 < (r.items or 0) < 5]
    assert small, "the tiny NHS should have practices with 1-4 items"
    card = scorecard(an, rare, "practice", "2022-09", min_items=5)
    hidden = {r.org: r for r in card.rows if r.suppressed}
    assert set(hidden) == set(small)
    assert all(r.items is None and r.value is None and r.patients is None and r.flag_998 is None
               for r in hidden.values())
    assert all(r.registered is not None for r in hidden.values())  # denominators are not disclosive
    assert card.england.items == full.england.items  # England is never hidden


def test_a_measure_is_a_proportion(an):
    card = scorecard(an, "doac_share", "region", "2022-09")
    assert card.kind == "measure" and card.funnel.kind == "proportion"
    for r in card.rows:
        assert r.value == pytest.approx(r.numerator / r.denominator, rel=1e-12)


def test_profile_of_an_icb_matches_its_scorecard_rows(an):
    card = scorecard(an, "TA275", "icb", "2022-09", min_items=0)
    icb = card.rows[0].org
    p = profile(an, icb, "2022-09", min_items=0)
    row = next(r for r in p.rows if r.ta == "TA275")
    assert p.level == "icb" and p.parent["level"] == "region"
    assert row.value == pytest.approx(card.rows[0].value, rel=1e-12)
    assert row.flag_998_od == card.rows[0].flag_998_od
    assert len(row.trend) == 12 and row.trend[-1] == pytest.approx(row.value, rel=1e-12)


def test_unknown_organisation_and_month_are_clear_errors(an):
    with pytest.raises(UptakeError, match="no organisation 'ZZZ99'"):
        profile(an, "ZZZ99")
    with pytest.raises(UptakeError, match="no prescribing loaded for 2030-01"):
        scorecard(an, "TA275", "icb", "2030-01")
    with pytest.raises(UptakeError, match="level 'ward'"):
        scorecard(an, "TA275", "ward")


def test_opportunity_by_hand(an):
    v = variation(an, "TA275", "icb", "2022-09", min_items=0)
    rows = [r for r in v.scorecard.rows if r.value is not None]
    p80 = float(np.quantile([r.value for r in rows], 0.8))
    extra = sum((p80 - r.value) * r.expected for r in rows if r.value < p80)
    assert v.opportunity.benchmark == pytest.approx(p80, rel=1e-12)
    assert v.opportunity.additional_patients == pytest.approx(extra, rel=1e-9)
    eng = v.scorecard.england
    assert v.opportunity.additional_cost == pytest.approx(extra * eng.cost / eng.patients, rel=1e-9)
    assert v.summary["n_areas"] == len(rows)
    assert v.summary["extremal_quotient"] == pytest.approx(max(r.value for r in rows) / min(r.value for r in rows))


def test_diffusion_series_and_lags(an):
    d = diffusion(an, "TA275", "icb")
    assert d.months[0] == "2021-04" and len(d.england) == 18
    assert d.months_since_publication[0] == (2021 - 2013) * 12 + (4 - 2)
    assert {f.model for f in d.fits} == {"logistic", "bass"}
    assert all(o.lag50 is None or o.t50 is not None for o in d.organisations)


def test_national_picture_counts_lagging_icbs_from_the_funnel(an):
    picture = national_picture(an, "2022-09")
    row = next(r for r in picture.rows if r.ta == "TA275")
    card = scorecard(an, "TA275", "icb", "2022-09", min_items=0)
    assert row.value == pytest.approx(card.england.value, rel=1e-12)
    assert row.icbs_lagging == card.funnel.outside_998_low_od
    hospital = next(r for r in picture.rows if r.ta == "TA151")
    assert hospital.value is None and hospital.icbs == 0
