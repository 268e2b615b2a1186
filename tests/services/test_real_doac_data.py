"""The scorecard on real data: NICE's DOAC and warfarin prescribing for all 106 sub-ICB locations,
October 2017 to September 2022 (shared/data/epd, from OpenPrescribing's EPD), rolled up to ICBs
through the real epraccur file. Checked against an independent pandas computation."""

from __future__ import annotations

import pandas as pd
import pytest

from uptake.services.analysis import open_analysis
from uptake.services.scorecard import scorecard
from uptake.services.variation import variation
from uptake.warehouse import Warehouse

from truth import truth, truth_all

DOAC = "epd/doacs_warfarin_subicb_monthly_201710_202209.csv.gz"
DOACS = {"0208020Z0", "0208020X0", "0208020AA", "0208020Y0"}
WARFARIN = "0208020V0"


@pytest.fixture(scope="module")
def real(shared_data, tmp_path_factory):
    wh = Warehouse(tmp_path_factory.mktemp("real-doac") / "warehouse")
    for name in (DOAC, "ods/epraccur_2026-02.csv.gz", "ods/icb_to_region_lookup_2025.csv"):
        wh.load(shared_data / name)
    with open_analysis(wh) as an:
        yield an, pd.read_csv(shared_data / DOAC, dtype={"bnf_code": str, "ods_code": str})


def test_doac_share_by_sub_icb_equals_pandas(real):
    an, raw = real
    sep = raw[raw.date == "2022-09-01"]
    num = sep[sep.bnf_code.isin(DOACS)].groupby("ods_code")["items"].sum()
    den = sep[sep.bnf_code.isin(DOACS | {WARFARIN})].groupby("ods_code")["items"].sum()
    want = (num / den).sort_index()
    card = scorecard(an, "doac_share", "sub_icb", "2022-09")
    got = pd.Series({r.org: r.value for r in card.rows}).sort_index()
    assert len(got) == 106 and list(got.index) == list(want.index)
    truth_all(DOAC, "doac_share by sub-ICB, 2022-09", ours=got.to_numpy(), independent=want.to_numpy(), rel=1e-12)
    truth(DOAC, "England doac_share, 2022-09", ours=card.england.value, independent=num.sum() / den.sum(), rel=1e-12)
    assert 0.7 < card.england.value < 0.9  # about four in five anticoagulant items are DOACs by 2022


def test_every_month_of_the_series_equals_pandas_for_england(real):
    an, raw = real
    months = [m for m in an.months() if m.month in (1, 7)]
    t = an.measure_table(["doac_share"], months, ("sub_icb",)).to_pandas()
    eng = t[t.level == "england"].set_index("month").value.sort_index()
    raw = raw.assign(month=pd.to_datetime(raw.date).dt.date)
    sub = raw[raw.month.isin(months)]
    want = (sub[sub.bnf_code.isin(DOACS)].groupby("month")["items"].sum()
            / sub.groupby("month")["items"].sum()).sort_index()
    truth_all(DOAC, "England doac_share, every January and July", ours=eng.to_numpy(), independent=want.to_numpy(),
              rel=1e-12)


def test_apixaban_patients_per_1000_by_sub_icb_equals_pandas(real):
    an, raw = real
    sep = raw[(raw.date == "2022-09-01") & (raw.bnf_code == "0208020Z0")].set_index("ods_code")
    # apixaban: every strength is taken twice a day (catalogue TA275); September has 30 days
    want = (sep.quantity / 2 / 30 / sep.total_list_size * 1000).sort_index()
    card = scorecard(an, "TA275", "sub_icb", "2022-09")
    assert card.headline == "per_1000"  # no QOF register loaded: no expected use, and it says so
    assert any("No disease registers" in n for n in card.notes)
    got = pd.Series({r.org: r.value for r in card.rows}).sort_index()
    truth_all(DOAC, "TA275 apixaban patients per 1,000 by sub-ICB, 2022-09", ours=got.to_numpy(),
              independent=want.reindex(got.index).to_numpy(), rel=1e-12)


def test_icbs_are_the_sum_of_their_sub_icbs(real):
    an, _ = real
    subs = scorecard(an, "doac_share", "sub_icb", "2022-09", min_items=0)
    icbs = scorecard(an, "doac_share", "icb", "2022-09", min_items=0)
    assert len(icbs.rows) == 42
    assert sum(r.numerator for r in icbs.rows) == sum(r.numerator for r in subs.rows)
    assert sum(r.denominator for r in icbs.rows) == sum(r.denominator for r in subs.rows)


def test_funnel_counts_for_the_docs(real):
    """The figures quoted in docs/metrics.md: sub-ICBs outside the 99.8% limits in September 2022."""
    an, _ = real
    share = variation(an, "doac_share", "sub_icb", "2022-09").scorecard.funnel
    apix = variation(an, "TA275", "sub_icb", "2022-09").scorecard.funnel
    assert (share.outside_998_low, share.outside_998_high, share.outside_998_low_od, share.outside_998_high_od) \
        == (43, 42, 4, 2)
    assert (apix.outside_998_low, apix.outside_998_high, apix.outside_998_low_od, apix.outside_998_high_od) \
        == (35, 62, 0, 0)
    assert share.phi > 100 and share.overdispersed  # far more spread than chance: overdispersed


def test_the_portal_publication_of_real_data(real, shared_data, tmp_path):
    """What the portal serves for the real extract: every sub-ICB (named in no file) findable by
    code, ICB profiles, the same figures as the engine, and maps for all 106 sub-ICB locations."""
    import json

    from uptake.services.maps import publish_maps
    from uptake.services.publish import publish
    from uptake.services.published import Published
    from uptake.services.scorecard import profile

    an, _ = real
    path = tmp_path / "scorecard.duckdb"
    publish(an, path)
    maps = publish_maps(path, shared_data / "geo" / "sub_icb_locations_2022_buc.geojson")
    assert maps["matched"] == 106 and maps["unmatched"] == [] and maps["levels"] == ["sub_icb", "icb", "region"]
    icbs = json.loads((tmp_path / "geo" / "icb.geojson").read_text())
    assert len(icbs["features"]) == 42
    with Published(path) as pub:
        assert pub.org_level("00l") == "sub_icb" and pub.org_level("QHM") == "icb"
        live, served = scorecard(an, "doac_share", "sub_icb", "2022-09"), scorecard(pub, "doac_share", "sub_icb", "2022-09")
        assert [(r.org, r.value, r.flag_998_od) for r in served.rows] == \
            [(r.org, pytest.approx(r.value, rel=1e-12), r.flag_998_od) for r in live.rows]
        prof = profile(pub, "QHM", "2022-09")
        assert prof.parent["level"] == "region" and {r.ta for r in prof.rows} >= {"TA249", "TA256", "TA275", "TA355"}
        assert len(pub.children("QHM", "icb", pub.month(None))) >= 2
