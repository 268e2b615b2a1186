"""Coverage and precedence on the real files in ../shared/data (issue 17, items 1–3, and its
"Done when" on load order): extracts split by drug add up instead of replacing each other; a TA
whose products no loaded SCMD file covers is "not covered", never 0; organisation-level and
practice-level prescribing of the same month are layered per organisation, never counted twice;
and every figure is the same whatever order the files are loaded in."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from uptake.errors import UptakeError
from uptake.services.analysis import open_analysis
from uptake.services.diffusion import diffusion
from uptake.services.official import official_figure
from uptake.services.scorecard import scorecard
from uptake.warehouse import Warehouse

from truth import truth, truth_all

NARCOLEPSY = "scmd/scmd_narcolepsy_meds_trust_monthly_2019_2021.csv.gz"
TOCILIZUMAB = "scmd/scmd_tocilizumab_sarilumab_remdesivir_trust_monthly_2019_2020.csv.gz"
DOAC = "epd/doacs_warfarin_subicb_monthly_201710_202209.csv.gz"
EPD_4 = "epd/openprescribing_e2e_EPD_201710_4practices.csv.gz"
ORGS = ("ods/epraccur_2026-02.csv.gz", "ods/icb_to_region_lookup_2025.csv", "ods/nhs_trusts_etr_tidy.csv")
DOACS = {"0208020Z0", "0208020X0", "0208020AA", "0208020Y0"}
WARFARIN = "0208020V0"


def _load(root, shared_data, names):
    wh = Warehouse(root)
    for name in names:
        wh.load(shared_data / name)
    return wh


def _content(wh: Warehouse, dataset: str) -> tuple:
    """Rows and an order-free fingerprint of a dataset's whole content."""
    return wh.connect().execute(f"SELECT count(*), sum(hash(t)) FROM {dataset} t").fetchone()


# --- 1 and 2: SCMD extracts split by drug -------------------------------------------------------


@pytest.fixture(scope="module")
def scmd_both(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("scmd")
    first = _load(root / "a", shared_data, (*ORGS, DOAC, NARCOLEPSY, TOCILIZUMAB))
    second = _load(root / "b", shared_data, (*ORGS, DOAC, TOCILIZUMAB, NARCOLEPSY))
    return first, second


def test_two_scmd_extracts_split_by_drug_both_stay_in_either_order(scmd_both, shared_data):
    first, second = scmd_both
    want = sum(len(pd.read_csv(shared_data / name)) for name in (NARCOLEPSY, TOCILIZUMAB))
    truth(f"{NARCOLEPSY} + {TOCILIZUMAB}", "SCMD rows after loading both extracts (either order)",
          ours=first.status()["datasets"]["scmd"]["rows"], independent=want, against="pandas: rows of the two files")
    assert want == 44_881
    assert _content(first, "scmd") == _content(second, "scmd")
    assert first.state()["loads"][-1]["replaced"] == [] and second.state()["loads"][-1]["replaced"] == []
    # a month both extracts hold names both files
    sources = first.month_sources()["2020-06"]["scmd"]
    assert sorted(sources) == sorted(name.split("/")[1] for name in (NARCOLEPSY, TOCILIZUMAB))


def test_palbociclib_is_not_covered_by_other_medicines_extracts(scmd_both):
    """TA495 (palbociclib) is in neither extract: no figure and the reason, never 0."""
    wh, _ = scmd_both
    with open_analysis(wh) as an:
        card = scorecard(an, "TA495", "icb", "2020-06")
        assert card.england.value is None and card.england.secondary_quantity is None
        assert all(r.value is None and r.secondary_quantity is None for r in card.rows)
        assert any(n.startswith("Not covered: no loaded hospital issues (SCMD) file covers TA495's products")
                   for n in card.notes)
        with pytest.raises(UptakeError, match="no loaded hospital issues \\(SCMD\\) file covers them .*not covered"):
            official_figure(an, "TA495", "icb")


def test_a_covered_medicine_counts_zero_only_where_its_products_are_covered(scmd_both, shared_data):
    """Sodium oxybate (narcolepsy extract) in a month the extract covers: what a trust issued, 0 for an ICB with
    no issuing trust, and the figures equal pandas on the file."""
    from uptake.engine import scorecard as sc
    from uptake.engine.prepare import prepare
    from uptake.catalogue import load_catalogue

    wh, _ = scmd_both
    raw = pd.read_csv(shared_data / NARCOLEPSY, dtype={"vmp_snomed_code": str, "ods_code": str})
    june = raw[raw.year_month == "2020-06-01"]
    with open_analysis(wh) as an:
        inp = prepare(an.engine, ["scmd"], load_catalogue(), (), [pd.Timestamp("2020-06-01").date()])
        covered = an.engine.execute(sc.scmd_covered(inp)).to_pylist()
    vmps = set(june.vmp_snomed_code)
    # every catalogue TA with one of the extract's VMPs is covered in 2020-06; no other is
    from uptake.engine.inputs import vmp_codes_table

    codes = vmp_codes_table(load_catalogue()).to_pylist()
    want = sorted({c["ta"] for c in codes if c["vmp_code"] in vmps})
    assert sorted(r["ta"] for r in covered) == want
    assert "TA495" not in want


# --- 3: practice-level and organisation-level prescribing in one warehouse ------------------------


@pytest.fixture(scope="module")
def mixed(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    return (_load(root / "a", shared_data, (*ORGS, DOAC, EPD_4)), _load(root / "b", shared_data, (*ORGS, EPD_4, DOAC)))


def test_four_practices_do_not_displace_a_national_extract(mixed, shared_data):
    raw = pd.read_csv(shared_data / DOAC, dtype={"bnf_code": str, "ods_code": str})
    oct17 = raw[raw.date == "2017-10-01"]
    apixaban = oct17[oct17.bnf_code == "0208020Z0"]["items"].sum()
    share = oct17[oct17.bnf_code.isin(DOACS)]["items"].sum() / oct17[oct17.bnf_code.isin(DOACS | {WARFARIN})]["items"].sum()
    assert apixaban == 294_942 and round(share, 3) == 0.456
    oct17_month = pd.Timestamp("2017-10-01").date()
    for order, wh in zip(("extract first", "practices first"), mixed):
        with open_analysis(wh) as an:
            ta = scorecard(an, "TA275", "sub_icb", "2017-10", min_items=0)
            truth(f"{DOAC} + {EPD_4}", f"England apixaban items, 2017-10, with 4 practices' EPD loaded too ({order})",
                  ours=ta.england.items, independent=apixaban, rel=0)
            by_sub = oct17[oct17.bnf_code == "0208020Z0"].set_index("ods_code")["items"].sort_index()
            got = pd.Series({r.org: r.items for r in ta.rows}).sort_index()
            truth_all(f"{DOAC} + {EPD_4}", f"apixaban items by sub-ICB, 2017-10, with 4 practices' EPD loaded too ({order})",
                      ours=got.reindex(by_sub.index).to_numpy(), independent=by_sub.to_numpy(), rel=0)
            card = scorecard(an, "doac_share", "icb", "2017-10")
            truth(f"{DOAC} + {EPD_4}", f"England doac_share, 2017-10, with 4 practices' EPD loaded too ({order})",
                  ours=card.england.value, independent=share, rel=1e-12)
            note = next(n for n in card.notes if n.startswith("Sources mixed in 2017-10"))
            assert "doacs_warfarin_subicb_monthly_201710_202209.csv.gz" in note and "4practices" in note
            assert "2017-10" in diffusion(an, "TA275", "region").months
            assert an.unplaced(oct17_month) == []  # with today's practice file every practice is placed


def test_the_four_practices_keep_their_own_figures(mixed, shared_data):
    epd = pd.read_csv(shared_data / EPD_4, dtype=str)
    epd["ITEMS"] = epd.ITEMS.astype(int)
    mine = epd[epd.BNF_CODE.str[:9] == "0208020Z0"].groupby("PRACTICE_CODE").ITEMS.sum()
    with open_analysis(mixed[0]) as an:
        card = scorecard(an, "TA275", "practice", "2017-10", min_items=0)
        got = pd.Series({r.org: r.items for r in card.rows if r.org in set(epd.PRACTICE_CODE)}).sort_index()
        note = next(n for n in card.notes if n.startswith("Sources mixed"))
    assert "practice figures come from practice-level prescribing" in note
    truth_all(EPD_4, "apixaban items of each of the 4 practices, 2017-10 (DOAC extract loaded too)",
              ours=got.reindex(mine.index).fillna(0).to_numpy(), independent=mine.to_numpy(), rel=0)


# --- every real file, several orders --------------------------------------------------------------

# Every real prescribing, SCMD, organisation, list-size and QOF file uptake reads. Two editions of one
# reference file (epraccur 2023-12 and 2026-02) are one dataset partition: the one loaded last is
# current (docs/warehouse.md), so they keep their date order inside each shuffled order. Files no
# reader takes yet (refused with a one-line error) are left out: the antibiotics practice summary, the
# CCG DOAC measure, ePCN (xlsx), ccg_history, practice_demographics_2025 (no month) and the CCG/STP
# registered-patient totals.
EDITIONS = ("ods/epraccur_2023-12.csv.gz", "ods/epraccur_2026-02.csv.gz")
ALL = (
    DOAC, "epd/epd_pitolisant_sodium_oxybate_practice_monthly_2019_2022.csv.gz",
    "epd/openprescribing_e2e_EPD_201709_4practices.csv.gz", EPD_4, NARCOLEPSY, TOCILIZUMAB,
    "ods/ccg21_to_stp21_lookup.csv", "ods/gp-reg-pat-prac-map_2020-09.csv.gz", "ods/icb_to_region_lookup_2025.csv",
    "ods/nhs_trusts_etr_tidy.csv", "ods/stp21_to_nhser21_lookup.csv",
    "list_sizes/Patient_List_Size_2016_01-03_age_sex.csv.gz", "list_sizes/gp-reg-pat-prac-all_2021-01.csv.gz",
    *(f"qof/qofGP_1819_{d}.csv.gz" for d in ("CardioVascular", "dependency", "lifestyle", "mental", "muscul",
                                               "respiratory")),
)


def _orders() -> list[list[str]]:
    files = [*ALL, *EDITIONS]
    shuffled = files[:]
    random.Random(17).shuffle(shuffled)
    out = []
    for order in (files[::-1], shuffled):
        rest = [f for f in order if f not in EDITIONS]
        at = min(order.index(e) for e in EDITIONS)
        out.append(rest[:at] + list(EDITIONS) + rest[at:])
    return out


def _figures(wh: Warehouse) -> dict:
    with open_analysis(wh) as an:
        months = an.months()
        share = an.measure_table(["doac_share"], months, ("icb",)).to_pandas()
        tas = an.ta_table(["TA275", "TA495"], [m for m in months if m.month in (1, 6, 10)], ("icb", "region"))
        tas = tas.to_pandas().sort_values(["ta", "level", "org", "month"]).reset_index(drop=True)
        share = share.sort_values(["level", "org", "month"]).reset_index(drop=True)
    return {"months": months, "share": share, "tas": tas}


@pytest.mark.slow
def test_every_real_file_in_any_order_gives_the_same_warehouse_and_figures(shared_data, tmp_path):
    results = []
    for i, order in enumerate(_orders()):
        wh = _load(tmp_path / f"order{i}", shared_data, order)
        content = {name: _content(wh, name) for name in wh.status()["datasets"]}
        results.append((content, _figures(wh)))
    (content, figures), others = results[0], results[1:]
    # no file split by product replaced another: the six QOF domain files' rows all stay
    qof = [load["rows"]["qof_registers"] for load in Warehouse(tmp_path / "order0").state()["loads"]
           if "qof_registers" in load["rows"]]
    assert len(qof) == 6 and content["qof_registers"][0] == sum(qof)
    assert content["scmd"][0] == 44_881
    for other_content, other in others:
        assert other_content == content
        assert other["months"] == figures["months"]
        pd.testing.assert_frame_equal(other["share"], figures["share"])
        pd.testing.assert_frame_equal(other["tas"], figures["tas"])
    eng = figures["share"][figures["share"].level == "england"].set_index("month").value
    raw = pd.read_csv(shared_data / DOAC, dtype={"bnf_code": str})
    raw["month"] = pd.to_datetime(raw.date).dt.date
    num, den = raw[raw.bnf_code.isin(DOACS)].groupby("month")["items"].sum(), raw.groupby("month")["items"].sum()
    later = num.index[1:]  # November 2017 on: the DOAC extract alone
    truth_all(DOAC, "England doac_share, 2017-11 to 2022-09, with every real file loaded (2 orders)",
              ours=eng.reindex(later).to_numpy(), independent=(num / den).reindex(later).to_numpy(), rel=1e-12)
    # October 2017: a known gap, left to the old-organisation-codes work (issue 17.4). With the 2020 practice
    # map loaded, two Kirklees practices of the 4-practice EPD (B85010, B85054) sit in CCG 03A in 2017-10,
    # a code the DOAC extract (keyed by today's sub-ICB X2C4Y) does not use: they cannot be placed inside a
    # covered organisation, so their DOAC and warfarin items count on top of the extract's. Exactly that:
    epd = pd.read_csv(shared_data / EPD_4, dtype=str).assign(items=lambda d: d.ITEMS.astype(int))
    kirklees = epd[epd.PRACTICE_CODE.isin(["B85010", "B85054"])]
    first = num.index[0]
    with open_analysis(wh) as an:  # and the output says so, naming them
        assert an.unplaced(first) == ["B85010", "B85054"]
        assert "2 practice(s) with practice-level prescribing (B85010, B85054) sit in no organisation" in \
            an.sources_note(first, "icb")
    extra_num = kirklees[kirklees.BNF_CODE.str[:9].isin(DOACS)]["items"].sum()
    extra_den = kirklees[kirklees.BNF_CODE.str[:9].isin(DOACS | {WARFARIN})]["items"].sum()
    truth(f"{DOAC} + {EPD_4} + ods/gp-reg-pat-prac-map_2020-09.csv.gz",
          "England doac_share 2017-10 with every file: extract + 2 practices not placed in its organisations "
          "(known gap, issue 17.4)", ours=eng[first], independent=(num[first] + extra_num) / (den[first] + extra_den),
          against="pandas: extract + those practices' items", rel=1e-12)


@pytest.mark.slow
def test_the_portal_and_api_publication_says_not_covered_and_mixed(shared_data, tmp_path):
    """The publication the portal's pages and API read carries the same figures and notes."""
    from uptake.services.publish import publish
    from uptake.services.published import Published

    wh = _load(tmp_path / "wh", shared_data, (*ORGS, DOAC, EPD_4, NARCOLEPSY))
    path = tmp_path / "scorecard.duckdb"
    with open_analysis(wh) as an:
        publish(an, path)
    with Published(path) as pub:
        ta495 = scorecard(pub, "TA495", "icb", "2020-06")
        assert ta495.england.value is None and all(r.value is None for r in ta495.rows)
        assert any(n.startswith("Not covered: no loaded hospital issues (SCMD) file covers TA495") for n in ta495.notes)
        share = scorecard(pub, "doac_share", "icb", "2017-10")
        assert any(n.startswith("Sources mixed in 2017-10") for n in share.notes)
        assert not any(n.startswith("Sources mixed") for n in scorecard(pub, "doac_share", "icb", "2017-11").notes)
        raw = pd.read_csv(shared_data / DOAC, dtype={"bnf_code": str})
        oct17 = raw[raw.date == "2017-10-01"]
        want = oct17[oct17.bnf_code.isin(DOACS)]["items"].sum() / oct17[oct17.bnf_code.isin(DOACS | {WARFARIN})]["items"].sum()
        truth(f"{DOAC} + {EPD_4}", "England doac_share 2017-10 as published for the portal and API",
              ours=share.england.value, independent=want, rel=1e-12)
