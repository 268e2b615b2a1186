"""Old organisation codes and Bassetlaw, on the real files (issue 17, items 4 and 5).

A DOAC file keyed by the CCG codes of 2020 — OpenPrescribing's DOAC measure by CCG
(shared/data/epd/doac_vs_warfarin_measure_ccg_monthly_2015_2020.csv), written in the layout of
OpenPrescribing's CCG downloads (date, row_id, bnf_code, items) — rolled up to ICBs through
epraccur 2026 alone, then with the ODS successor file, then with ONS's dated CCG → STP lookups;
and NICE's sub-ICB DOAC file across July 2022, when Bassetlaw (02Q) moved ICB. Every figure is
checked against pandas on the same files."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from epd_files import write_doac_by_ccg
from truth import truth, truth_all

from uptake.services.analysis import open_analysis
from uptake.services.scorecard import scorecard
from uptake.warehouse import Warehouse

SUBICB = "epd/doacs_warfarin_subicb_monthly_201710_202209.csv.gz"
EPRACCUR = "ods/epraccur_2026-02.csv.gz"
REGIONS = "ods/icb_to_region_lookup_2025.csv"
SUCC = "ods/ccg_history/succ_2026.csv.gz"
CCG20 = "ods/ccg_history/ons_CCG20_STP20_Apr2020.csv"
CCG21 = "ods/ccg21_to_stp21_lookup.csv"
DOACS = {"0208020Z0", "0208020X0", "0208020AA", "0208020Y0"}


@pytest.fixture(scope="module")
def ccg_file(shared_data, tmp_path_factory):
    """The DOAC measure by 2020 CCG codes for July 2020 and July 2019 (tests/epd_files.py)."""
    path = tmp_path_factory.mktemp("ccg") / "doac_by_ccg_2020_codes.csv"
    raw = write_doac_by_ccg(shared_data, ["2019-07-01", "2020-07-01"], path)
    return path, raw[raw.month == "2020-07-01"].set_index("pct_id")


def _warehouse(tmp_path_factory, shared_data, files, name):
    wh = Warehouse(tmp_path_factory.mktemp(name) / "warehouse")
    for f in files:
        wh.load(f if not isinstance(f, str) else shared_data / f)
    return wh


def _by_org(card):
    return {r.org: (r.numerator, r.denominator) for r in card.rows}


def _agrees(file: str, figure: str, card, want: dict[str, tuple[float, float]]) -> None:
    """Every organisation's DOAC and anticoagulant items equal pandas', recorded for docs/truth.md."""
    got = _by_org(card)
    assert got == want
    keys = sorted(want)
    truth_all(file, f"{figure}: DOAC items by organisation", ours=[got[k][0] for k in keys],
              independent=[want[k][0] for k in keys])
    truth_all(file, f"{figure}: anticoagulant items by organisation", ours=[got[k][1] for k in keys],
              independent=[want[k][1] for k in keys])


def _stp21(shared_data) -> dict[str, str]:
    t = pd.read_csv(shared_data / CCG21, dtype=str, encoding="utf-8-sig")
    return dict(zip(t.CCG21CDH, t.STP21CDH))


def _today_code(shared_data) -> dict[str, str]:
    """Each code of the ODS successor file → the code it passed into last (pandas, following the chain)."""
    s = pd.read_csv(shared_data / SUCC, header=None, dtype=str, keep_default_na=False)
    single = s.groupby(0).filter(lambda g: g[1].nunique() == 1)
    step = dict(zip(single[0], single[1]))
    out = {}
    for code in step:
        seen, c = {code}, step[code]
        while c in step and step[c] not in seen:
            seen.add(c)
            c = step[c]
        out[code] = c
    return out


def _epraccur_icb(shared_data, sub_icb: str) -> str:
    """The ICB (field 4) of a sub-ICB's active GP practices in epraccur (pandas)."""
    e = pd.read_csv(shared_data / EPRACCUR, header=None, dtype=str)
    mine = e[(e[14] == sub_icb) & (e[12] == "ACTIVE") & e[25].str.contains("RO76", na=False)]
    return mine[3].mode()[0]


def _sum_by(raw: pd.DataFrame, key: dict[str, str]) -> dict[str, tuple[float, float]]:
    g = raw.assign(org=raw.index.map(key)).groupby("org")[["total_doac_items", "total_doac_warfain"]].sum()
    return {org: (float(r.total_doac_items), float(r.total_doac_warfain)) for org, r in g.iterrows()}


def test_old_codes_unplaced_are_counted_and_said(shared_data, tmp_path_factory, ccg_file):
    """Before: epraccur alone knows the 97 CCGs of 2020 that are still sub-ICBs; the 38 merged in
    April 2021 reach no ICB, and the scorecard says how much is left out."""
    path, raw = ccg_file
    wh = _warehouse(tmp_path_factory, shared_data, [path, EPRACCUR, REGIONS], "before")
    with open_analysis(wh) as an:
        card = scorecard(an, "doac_share", "icb", "2020-07", min_items=0)
    stp21 = _stp21(shared_data)
    gone = raw[~raw.index.isin(stp21)]  # the 2020 codes that are not 2021 codes
    assert len(gone) == 38
    assert card.unplaced == {"organisations": 38, "count": float(gone.total_doac_warfain.sum()), "unit": "items"}
    truth("epd/doac_vs_warfarin_measure_ccg_monthly_2015_2020.csv + " + EPRACCUR,
          "items of the 38 CCGs merged in April 2021 not placed in any ICB, 2020-07 (epraccur alone)",
          ours=card.unplaced["count"], independent=float(gone.total_doac_warfain.sum()))
    assert any(n.startswith(f"{gone.total_doac_warfain.sum():,.0f} items from 38 organisations not placed in any "
                            "ICB") for n in card.notes)
    kept = raw[raw.index.isin(stp21)]
    want_icbs = {stp21[c] for c in kept.index if c != "02Q"} | {_epraccur_icb(shared_data, "02Q")}
    assert {r.org for r in card.rows} == want_icbs and len(want_icbs) == 35
    assert sum(r.denominator for r in card.rows) + card.unplaced["count"] == card.england.denominator


@pytest.fixture(scope="module")
def with_successors(shared_data, tmp_path_factory, ccg_file):
    path, _ = ccg_file
    return _warehouse(tmp_path_factory, shared_data, [path, EPRACCUR, REGIONS, SUCC], "after")


def test_old_codes_reach_todays_icbs_through_the_successor_file(shared_data, with_successors, ccg_file):
    _, raw = ccg_file
    with open_analysis(with_successors) as an:
        card = scorecard(an, "doac_share", "icb", "2020-07", min_items=0)
        regions = scorecard(an, "doac_share", "region", "2020-07", min_items=0)
    assert card.unplaced is None and not any("not placed" in n for n in card.notes)
    assert len(card.rows) == 42 and len(regions.rows) == 7
    # pandas: 2020 code → its 2021 successor (ODS succ) → its STP (ONS CCG21 → STP21); epraccur 2026
    # puts Bassetlaw (02Q) in its ICB of today, not of 2020: its items move from QF7 to that ICB
    today, stp21 = _today_code(shared_data), _stp21(shared_data)
    bassetlaw_icb = _epraccur_icb(shared_data, "02Q")
    assert bassetlaw_icb == "QT1"
    want = _sum_by(raw, {c: stp21[today.get(c, c)] for c in raw.index})
    b = raw.loc["02Q"]
    want["QF7"] = (want["QF7"][0] - b.total_doac_items, want["QF7"][1] - b.total_doac_warfain)
    want["QT1"] = (want["QT1"][0] + b.total_doac_items, want["QT1"][1] + b.total_doac_warfain)
    _agrees(f"epd/doac_vs_warfarin_measure_ccg_monthly_2015_2020.csv (2020 CCG codes) + {SUCC}",
            "ICBs of 2020-07 through the successor file", card, want)
    assert sum(r.denominator for r in regions.rows) == card.england.denominator == raw.total_doac_warfain.sum()
    # and it says that the ICBs are today's, placed by an undated snapshot
    assert any("not dated to 2020-07" in n for n in card.notes)


def test_current_organisations_re_key_old_codes_to_todays_sub_icbs(shared_data, with_successors, ccg_file):
    _, raw = ccg_file
    with open_analysis(with_successors) as an:
        dated = scorecard(an, "doac_share", "sub_icb", "2020-07", min_items=0)
    with open_analysis(with_successors, current_orgs=True) as an:
        current = scorecard(an, "doac_share", "sub_icb", "2020-07", min_items=0)
    # in July 2020 the 135 CCGs of 2020 were the organisations: the file's codes as they are
    assert _by_org(dated) == _sum_by(raw, {c: c for c in raw.index}) and len(dated.rows) == 135
    # today's: the 106 sub-ICB locations, each the sum of the CCGs that passed into it
    today = _today_code(shared_data)
    assert len(current.rows) == 106
    _agrees(f"epd/doac_vs_warfarin_measure_ccg_monthly_2015_2020.csv (2020 CCG codes) + {SUCC}",
            "today's sub-ICB locations, 2020-07 (--current-orgs)", current,
            _sum_by(raw, {c: today.get(c, c) for c in raw.index}))
    assert not any("not dated" in n for n in current.notes)  # current membership is asked for: no note


def test_dated_lookups_place_2020_in_the_stps_of_2020(shared_data, tmp_path_factory, ccg_file):
    path, raw = ccg_file
    wh = _warehouse(tmp_path_factory, shared_data, [path, EPRACCUR, REGIONS, SUCC, CCG20, CCG21], "dated")
    with open_analysis(wh) as an:
        card = scorecard(an, "doac_share", "icb", "2020-07", min_items=0)
        assert an.parent("02Q", "sub_icb", date(2020, 7, 1))["org"] == "QF7"
    s20 = pd.read_csv(shared_data / CCG20, dtype=str)
    _agrees(f"epd/doac_vs_warfarin_measure_ccg_monthly_2015_2020.csv (2020 CCG codes) + {CCG20}",
            "STPs of 2020-07 through ONS's dated lookup (Bassetlaw in QF7)", card,
            _sum_by(raw, dict(zip(s20.CCG20CDH, s20.STP20CDH))))
    assert not any("not dated" in n for n in card.notes) and card.unplaced is None


@pytest.fixture(scope="module")
def sub_icb_raw(shared_data):
    raw = pd.read_csv(shared_data / SUBICB, dtype={"bnf_code": str, "ods_code": str})
    return raw[raw.date.isin(["2022-06-01", "2022-07-01"])]


def _icb_sums(raw: pd.DataFrame, month: str, icb_of: dict[str, str]) -> dict[str, tuple[float, float]]:
    m = raw[raw.date == month].assign(icb=lambda d: d.ods_code.map(icb_of))
    num = m[m.bnf_code.isin(DOACS)].groupby("icb")["items"].sum()
    den = m.groupby("icb")["items"].sum()
    return {k: (float(num.get(k, 0)), float(v)) for k, v in den.items()}


def test_bassetlaw_with_epraccur_alone_is_in_qt1_and_it_says_so(shared_data, tmp_path_factory, sub_icb_raw):
    wh = _warehouse(tmp_path_factory, shared_data, [SUBICB, EPRACCUR, REGIONS], "snapshot")
    with open_analysis(wh) as an:
        june = scorecard(an, "doac_share", "icb", "2022-06", min_items=0)
        july = scorecard(an, "doac_share", "icb", "2022-07", min_items=0)
    icb_now = {**_stp21(shared_data), "02Q": _epraccur_icb(shared_data, "02Q")}
    assert _by_org(june) == _icb_sums(sub_icb_raw, "2022-06-01", icb_now)
    assert _by_org(july) == _icb_sums(sub_icb_raw, "2022-07-01", icb_now)
    note = next(n for n in june.notes if "not dated to 2022-06" in n)
    assert note.startswith("106 of 106 sub-ICB locations are placed in ICBs by a file not dated")
    assert not any("not dated" in n for n in july.notes)  # from July 2022 the ICBs are today's


def test_bassetlaw_with_the_dated_lookups_moves_in_july_2022(shared_data, tmp_path_factory, sub_icb_raw):
    wh = _warehouse(tmp_path_factory, shared_data, [SUBICB, EPRACCUR, REGIONS, CCG21], "moves")
    with open_analysis(wh) as an:
        june = scorecard(an, "doac_share", "icb", "2022-06", min_items=0)
        july = scorecard(an, "doac_share", "icb", "2022-07", min_items=0)
        assert an.parent("02Q", "sub_icb", date(2022, 6, 1))["org"] == "QF7"
        assert an.parent("02Q", "sub_icb", date(2022, 7, 1))["org"] == "QT1"
    stp21 = _stp21(shared_data)
    _agrees(f"{SUBICB} + {CCG21}", "ICBs of 2022-06 (Bassetlaw in South Yorkshire, QF7)", june,
            _icb_sums(sub_icb_raw, "2022-06-01", stp21))
    _agrees(f"{SUBICB} + {CCG21}", "ICBs of 2022-07 (Bassetlaw in Nottinghamshire, QT1)", july,
            _icb_sums(sub_icb_raw, "2022-07-01", {**stp21, "02Q": "QT1"}))
    assert not any("not dated" in n for n in june.notes)
    b = sub_icb_raw[(sub_icb_raw.ods_code == "02Q") & (sub_icb_raw.date == "2022-07-01")]["items"].sum()
    assert _by_org(july)["QT1"][1] - _icb_sums(sub_icb_raw, "2022-07-01", stp21)["QT1"][1] == b > 0
