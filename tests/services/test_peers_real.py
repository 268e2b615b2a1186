"""Peers computed from real loaded data: NHSBSA list sizes by age (Jan-Mar 2016), epraccur
(practice → sub-ICB), the ICB → region lookup, QOF 2018-19 cardiovascular registers and practice
IMD 2019 (data/SOURCES.md §14). The variables are checked against pandas on the raw files; the
practice peers are compared with the published practice nearest-neighbour file (overlap
reported, not forced)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from truth import truth_all

from uptake.services.analysis import open_analysis
from uptake.services.peers import load_imd, overlap, peer_groups
from uptake.sources.peers import read_neighbours
from uptake.warehouse import Warehouse

LIST_SIZES = "list_sizes/Patient_List_Size_2016_01-03_age_sex.csv.gz"
IMD = "deprivation/practice_imd2019_score_decile_subicb_2023.csv.gz"
EPRACCUR = "ods/epraccur_2026-02.csv.gz"


@pytest.fixture(scope="module")
def real(shared_data, tmp_path_factory):
    wh = Warehouse(tmp_path_factory.mktemp("real-peers") / "warehouse")
    for name in (LIST_SIZES, EPRACCUR, "ods/icb_to_region_lookup_2025.csv", "qof/qofGP_1819_CardioVascular.csv.gz"):
        wh.load(shared_data / name)
    imd = load_imd(shared_data / IMD)
    with open_analysis(wh) as an:
        yield an, imd, shared_data


@pytest.fixture(scope="module")
def sub_icb(real):
    an, imd, _ = real
    return peer_groups(an, "sub_icb", imd=imd)


def _pandas_sub_icb(shared):
    ls = pd.read_csv(shared / LIST_SIZES)
    ods = pd.read_csv(shared / EPRACCUR, header=None, dtype=str)
    # epraccur column 15: the practice's commissioner (sub-ICB); a practice that had left it
    # (column 17) or closed (column 12) before March 2016, the list sizes' month, is in none; nor
    # is a cost centre that is not a GP practice (prescribing setting, column 26, without RO76)
    ended = ods[[11, 16]].fillna("99999999").min(axis=1)
    gp = ods[25].fillna("").str.split("|").apply(lambda roles: "RO76" in roles)
    area = ods[(ended >= "20160301") & gp].set_index(0)[14]
    bands = [c for c in ls.columns if c.startswith(("Male", "Female"))]
    ls["total"] = ls[bands].sum(axis=1)
    # 18-39 from 10-year bands, ages spread evenly: 7/10 of 15-24, all of 25-34, 5/10 of 35-44
    ls["a18_39"] = sum(w * (ls[f"Male {b}"] + ls[f"Female {b}"]) for b, w in (("15-24", .7), ("25-34", 1), ("35-44", .5)))
    ls["org"] = ls["Practice Code"].map(area)
    imd = pd.read_csv(shared / IMD).set_index("practice_code")["imd_score"]
    ls["imd"] = ls["Practice Code"].map(imd)
    g = ls.groupby("org")
    with_imd = ls.dropna(subset=["imd"]).groupby("org")
    return pd.DataFrame({"poptot": g.total.sum(), "pop_18_39": g.a18_39.sum() / g.total.sum(),
                         "IMDscore": with_imd.apply(lambda d: np.average(d.imd, weights=d.total))})


def test_sub_icb_variables_equal_pandas_on_the_raw_files(sub_icb, real):
    want = _pandas_sub_icb(real[2])
    got = pd.DataFrame(sub_icb.values).T
    assert len(got) == 106  # today's 106 sub-ICB locations; closed practices' old CCGs left out
    assert sub_icb.variables == ["IMDscore", "poptot", "pop_18_39"]
    w = want.loc[got.index]
    files = f"{LIST_SIZES} + {IMD} + ods/epraccur"
    truth_all(files, "Similar-10 input: registered population by sub-ICB", ours=got.poptot, independent=w.poptot,
              rel=1e-12)
    truth_all(files, "Similar-10 input: share aged 18-39 by sub-ICB", ours=got.pop_18_39, independent=w.pop_18_39,
              rel=1e-9)
    truth_all(files, "Similar-10 input: IMD score by sub-ICB (population-weighted)", ours=got.IMDscore,
              independent=w.IMDscore, rel=1e-9)
    assert 55e6 < got.poptot.sum() < 58e6  # England's registered population, early 2016


def test_what_is_not_loaded_is_left_out_with_a_note(sub_icb):
    notes = " | ".join(sub_icb.notes)
    assert "pc_pop_rural_sparse (weight 0.15) left out: rurality" in notes
    assert "pc_Asian (weight 0.03) left out: ethnicity" in notes
    assert "pop_85plus (weight 0.1) left out: the loaded age bands cannot measure it" in notes


def test_every_sub_icb_has_ten_peers_and_northumberland_is_like_north_cumbria(sub_icb):
    assert all(len(sub_icb.of(o)) == 10 for o in sub_icb.values)
    # In NHS England's own April 2021 Similar-10 (test_similar10), Northumberland's nearest is
    # North Cumbria (01H); with the variables loaded here it is still the nearest.
    assert sub_icb.of("00L")[0].peer == "01H"


def test_icb_peers(real):
    an, imd, _ = real
    icb = peer_groups(an, "icb", imd=imd)
    assert len(icb.values) == 42 and all(len(icb.of(o)) == 10 for o in icb.values)


def test_practice_peers_overlap_the_published_nearest_neighbours_far_beyond_chance(real):
    an, imd, shared = real
    practices = peer_groups(an, "practice", imd=imd)
    published = read_neighbours(shared / "peers/practice_nearest10_neighbours_2023.csv.gz")
    o = overlap(practices, published)
    print(f"\npractice peers vs published 2023 nearest neighbours: {o}")
    assert o["organisations"] > 6000
    # Different years (2016 ages, 2018-19 QOF, IMD 2019 vs 2023) and variables (no ethnicity or
    # workforce here), so the sets differ; the overlap is reported, and must beat chance clearly.
    assert o["mean_overlap"] > 10 * o["chance"]
