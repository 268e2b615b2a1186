"""The synthetic NHS generator: determinism, the real shape of the NHS, the official layouts,
and the diffusion of NICE TAs it is meant to show (S-curves, laggard ICBs)."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest

from uptake.catalogue import load_catalogue
from uptake.sources import read_file
from uptake.sources.synthetic import generate
from uptake.sources.synthetic.writers import (
    EPD_HEADER,
    LIST_SIZE_HEADER,
    MAP_HEADER,
    QOF_HEADER,
    SCMD_HEADER,
    TRUST_HEADER,
)

START, END = "2019-04", "2022-09"
INCLUDED = ("recommended", "optimised", "cancer_drugs_fund")


def _sha(paths: list[Path], root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, catalogue):
    out = tmp_path_factory.mktemp("tiny")
    return out, generate(out, scale="tiny", seed=42, start=START, end=END, catalogue=catalogue)


@pytest.fixture(scope="module")
def moved(tmp_path_factory, catalogue):
    """The real catalogue with two primary-care TAs re-dated into the period, so that their
    diffusion starts inside it: apixaban (TA275) in June 2020, sacubitril valsartan (TA388) in
    January 2021."""
    new = {"TA275": dt.date(2020, 6, 10), "TA388": dt.date(2021, 1, 20)}
    tas = [dataclasses.replace(t, published=new[t.id]) if t.id in new else t for t in catalogue.technology_appraisals]
    cat = dataclasses.replace(catalogue, technology_appraisals=tas) if dataclasses.is_dataclass(catalogue) else \
        type("Catalogue", (), {"technology_appraisals": tas})()
    out = tmp_path_factory.mktemp("moved")
    return out, generate(out, scale="tiny", seed=42, start=START, end=END, catalogue=cat), cat


def _epd(root: Path, columns: list[str]) -> pa.Table:
    tables = []
    for path in sorted((root / "epd").glob("EPD_*.csv")):
        opts = pacsv.ConvertOptions(include_columns=columns,
                                    column_types={c: pa.string() for c in columns if c not in ("ITEMS", "QUANTITY")})
        tables.append(pacsv.read_csv(path, convert_options=opts))
    return pa.concat_tables(tables)


# --- determinism --------------------------------------------------------------------------------

def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tiny, tmp_path, catalogue):
    root, first = tiny
    again = generate(tmp_path / "again", scale="tiny", seed=42, start=START, end=END, catalogue=catalogue)
    assert [p.relative_to(root) for p in first.files] == [p.relative_to(tmp_path / "again") for p in again.files]
    assert _sha(first.files, root) == _sha(again.files, tmp_path / "again")
    other = generate(tmp_path / "other", scale="tiny", seed=7, start=START, end=END, catalogue=catalogue)
    a, b = _sha(first.files, root), _sha(other.files, tmp_path / "other")
    differ = [k for k in a if k in b and a[k] != b[k]]
    assert any(k.startswith("epd/") for k in differ)
    assert any(k.startswith("list_sizes/") for k in differ)
    assert any(k.startswith("ods/epraccur") for k in differ)


def test_files_come_in_ingestion_order(tiny):
    root, result = tiny
    kinds = [p.parent.name for p in result.files]
    order = ["ods", "list_sizes", "qof", "epd", "scmd"]
    assert kinds == sorted(kinds, key=order.index)
    assert all(p.exists() and p.stat().st_size > 0 for p in result.files)
    assert len(result.files) == result.summary["files"]


# --- the shape of the NHS ----------------------------------------------------------------------

def test_seven_regions_and_42_icbs_with_real_codes(tiny):
    root, result = tiny
    s = result.summary
    assert (s["regions"], s["icbs"]) == (7, 42)
    assert s["practices"] == 84 and s["months"] == 42
    with open(root / "ods/icb_lookup.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["icb_code"] != "-"]
    assert len(rows) == 42 and {r["icb_code"] for r in rows} >= {"QE1", "QHM", "QWE", "QOP", "QRV"}
    assert len({r["icb_region"] for r in rows}) == 7
    with open(root / "ods/gp-reg-pat-prac-map_2022-09.csv", newline="") as f:
        mp = list(csv.DictReader(f))
    assert {r["COMM_REGION_CODE"] for r in mp} == {f"Y{n}" for n in (56, 58, 59, 60, 61, 62, 63)}
    assert len({r["ICB_CODE"] for r in mp}) == 42
    assert all(r["PRACTICE_CODE"].startswith("X") and len(r["PRACTICE_CODE"]) == 6 for r in mp)
    assert all(r["PCN_CODE"].startswith("U") and len(r["PCN_CODE"]) == 6 for r in mp)


def test_organisation_changes_are_dated(tiny):
    root, result = tiny
    s = result.summary
    with open(root / "ods/epraccur.csv", newline="") as f:
        rows = {r[0]: r for r in csv.reader(f)}
    assert all(len(r) == 27 for r in rows.values())
    for code, change in s["closures"].items():
        r = rows[code]
        assert r[12] == "INACTIVE" and r[11] == change["closed"].replace("-", "") == r[16]
        month = change["closed"][:7]
        later = sorted(p for p in (root / "list_sizes").glob("*.csv") if p.stem[-7:] > month)
        assert later and code not in later[0].read_text()
        assert code in (root / f"list_sizes/gp-reg-pat-prac-quin-age_{month}.csv").read_text()
    for code, change in s["moves"].items():
        r = rows[code]
        assert r[14] == change["to"] and r[15] == change["date"].replace("-", "")
        month = dt.date.fromisoformat(change["date"])
        before = f"{month.year - (month.month == 1)}-{(month.month - 2) % 12 + 1:02d}"
        for when, sub in ((before, change["from"]), (change["date"][:7], change["to"])):
            with open(root / f"ods/gp-reg-pat-prac-map_{when}.csv", newline="") as f:
                assert [x["SUB_ICB_LOCATION_CODE"] for x in csv.DictReader(f) if x["PRACTICE_CODE"] == code] == [sub]
    assert s["openings"] and s["closures"] and s["moves"]


def test_list_size_age_bands_sum_to_the_all_rows(tiny):
    root, _ = tiny
    for path in sorted((root / "list_sizes").glob("*.csv"))[::10]:
        total, bands = {}, Counter()
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                assert r["ORG_TYPE"] == "GP"
                if r["SEX"] == "ALL":
                    assert r["AGE_GROUP_5"] == "ALL"
                    total[r["ORG_CODE"]] = int(r["NUMBER_OF_PATIENTS"])
                else:
                    bands[r["ORG_CODE"]] += int(r["NUMBER_OF_PATIENTS"])
        assert total and total == dict(bands)
        assert all(2000 * 0.3 <= n <= 40000 for n in total.values())


def test_qof_prevalence_is_englands(tiny):
    root, _ = tiny
    reg, den = Counter(), Counter()
    with open(root / "qof/PREVALENCE_1920.csv", newline="") as f:
        for r in csv.DictReader(f):
            reg[(r["GROUP_CODE"], r["PATIENT_LIST_TYPE"])] += int(r["REGISTER"])
            den[(r["GROUP_CODE"], r["PATIENT_LIST_TYPE"])] += int(r["PRACTICE_LIST_SIZE"])
    prev = {k[0]: reg[k] / den[k] for k in reg}
    assert {k[1] for k in reg if k[0] == "DM"} == {"17OV"} and {k[1] for k in reg if k[0] == "OST"} == {"50OV"}
    for group, england in {"AF": 0.0198, "CHD": 0.031, "HF": 0.0093, "HYP": 0.14, "DM": 0.069, "OST": 0.0079}.items():
        assert prev[group] == pytest.approx(england, rel=0.12), group


# --- the official layouts -----------------------------------------------------------------------

HEADERS = {
    "epd": EPD_HEADER, "list_sizes": LIST_SIZE_HEADER, "qof": QOF_HEADER, "scmd": SCMD_HEADER,
}


def test_files_have_the_exact_official_headers(tiny):
    root, result = tiny
    for path in result.files:
        with open(path, newline="", encoding="utf-8") as f:
            first = next(csv.reader(f))
        kind = path.parent.name
        if path.name == "epraccur.csv":
            assert len(first) == 27 and first[25] == "RO76"
        elif path.name == "icb_lookup.csv":
            assert first == ["icb_code", "icb_name", "icb_region"]
        elif path.name == "etr_tidy.csv":
            assert first == TRUST_HEADER
        elif path.name.startswith("gp-reg-pat-prac-map"):
            assert first == MAP_HEADER
        else:
            assert first == HEADERS[kind], path
    assert ",".join(EPD_HEADER) == (
        "YEAR_MONTH,REGIONAL_OFFICE_NAME,REGIONAL_OFFICE_CODE,ICB_NAME,ICB_CODE,PCO_NAME,PCO_CODE,PRACTICE_NAME,"
        "PRACTICE_CODE,ADDRESS_1,ADDRESS_2,ADDRESS_3,ADDRESS_4,POSTCODE,BNF_CHEMICAL_SUBSTANCE,"
        "CHEMICAL_SUBSTANCE_BNF_DESCR,BNF_CODE,BNF_DESCRIPTION,BNF_CHAPTER_PLUS_CODE,QUANTITY,ITEMS,TOTAL_QUANTITY,"
        "ADQUSAGE,NIC,ACTUAL_COST,UNIDENTIFIED")
    assert "TOTAL_QUANITY_IN_VMP_UNIT" in SCMD_HEADER  # sic, as NHSBSA spell it


def test_a_plain_csv_parser_reads_a_month_of_epd(tiny):
    root, _ = tiny
    with open(root / "epd/EPD_202209.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(len(r) == 26 for r in rows)
    for r in rows:
        assert r["YEAR_MONTH"] == "202209" and len(r["BNF_CODE"]) == 15
        assert int(r["ITEMS"]) > 0 and float(r["TOTAL_QUANTITY"]) == pytest.approx(int(r["ITEMS"]) * float(r["QUANTITY"]))
        assert float(r["NIC"]) >= 0 and r["UNIDENTIFIED"] == "N"
    assert len({r["BNF_CODE"] for r in rows}) > 50


def test_epd_keys_are_unique_and_rows_sorted(tiny):
    root, _ = tiny
    t = _epd(root, ["YEAR_MONTH", "PRACTICE_CODE", "BNF_CODE", "QUANTITY"])
    keys = list(zip(*(t.column(c).to_pylist() for c in ("YEAR_MONTH", "PRACTICE_CODE", "BNF_CODE", "QUANTITY"))))
    assert len(keys) == len(set(keys))
    assert keys == sorted(keys)


def test_every_file_is_read_by_the_readers(tiny):
    root, result = tiny
    seen: dict[str, str] = {}
    for path in result.files:
        kind = path.stem.split("_")[0].split("-2")[0]
        if kind in seen:
            continue
        seen[kind] = read_file(path).format.id
    assert seen == {"icb": "icb_region_lookup", "epraccur": "epraccur", "etr": "nhs_trusts",
                    "gp-reg-pat-prac-map": "gp_practice_map", "gp-reg-pat-prac-quin-age": "gp_reg_pat_quin_age",
                    "PREVALENCE": "qof_nhsd", "EPD": "epd", "SCMD": "scmd"}


def test_parquet_is_the_canonical_schema(tmp_path, catalogue):
    from uptake.schemas import DATASETS
    import pyarrow.parquet as pq

    result = generate(tmp_path, scale="tiny", seed=3, start="2022-08", end="2022-09", catalogue=catalogue, parquet=True)
    files = sorted((tmp_path / "epd").glob("*.parquet"))
    assert [p.name for p in files] == ["EPD_202208.parquet", "EPD_202209.parquet"]
    t = pq.read_table(files[1])
    assert t.schema.equals(DATASETS["prescribing"].schema)
    assert set(t.column("month").to_pylist()) == {dt.date(2022, 9, 1)}
    assert result.summary["rows"]["prescribing"] == sum(pq.read_metadata(p).num_rows for p in files)


# --- diffusion ----------------------------------------------------------------------------------

def _first_allowed(cat) -> dict[str, dt.date]:
    """BNF code → first day of the month after the earliest publication of a TA covering it."""
    out: dict[str, dt.date] = {}
    for t in cat.technology_appraisals:
        if t.recommendation not in INCLUDED:
            continue
        for p in t.products:
            if p.setting not in ("primary", "both"):
                continue
            for pres in p.presentations:
                pub = t.published
                nxt = dt.date(pub.year + (pub.month == 12), pub.month % 12 + 1, 1)
                out[pres.bnf_code] = min(out.get(pres.bnf_code, nxt), nxt)
    return out


def _product_months(root: Path) -> dict[str, list[tuple[dt.date, int]]]:
    t = _epd(root, ["YEAR_MONTH", "BNF_CODE", "ITEMS"])
    series: dict[str, Counter] = defaultdict(Counter)
    for ym, code, items in zip(*(t.column(c).to_pylist() for c in ("YEAR_MONTH", "BNF_CODE", "ITEMS"))):
        series[code][dt.date(int(ym[:4]), int(ym[4:]), 1)] += items
    return {k: sorted(v.items()) for k, v in series.items()}


@pytest.mark.parametrize("which", ["tiny", "moved"])
def test_products_appear_after_their_ta_and_never_before(which, request):
    got = request.getfixturevalue(which)
    root = got[0]
    cat = got[2] if which == "moved" else load_catalogue()
    allowed = _first_allowed(cat)
    series = _product_months(root)
    end = dt.date(2022, 9, 1)
    for code, first in allowed.items():
        months = [m for m, n in series.get(code, []) if n > 0]
        assert all(m >= first for m in months), code
        generic = code[9:11] == "AA"
        if generic and first <= dt.date(end.year - 1, end.month, 1):  # a generic has had a year
            assert months, f"{code} never prescribed"


def test_a_ta_published_in_the_period_rises_in_an_s_shape(moved):
    root, result, cat = moved
    series = _product_months(root)
    for ta, chemical in (("TA275", "0208020Z0"), ("TA388", "0205052AE")):
        total: Counter = Counter()
        for code, points in series.items():
            if code.startswith(chemical):
                for m, n in points:
                    total[m] += n
        months = sorted(total)
        published = next(t.published for t in cat.technology_appraisals if t.id == ta)
        assert months[0] > published and months[0] <= published + dt.timedelta(days=62)
        values = [total[m] for m in months]
        first6, last6 = sum(values[:6]) / 6, sum(values[-6:]) / 6
        assert last6 > 3 * first6, ta
        # S-shaped: slow start, then growth; month-on-month the series mostly rises.
        rises = sum(b > a for a, b in zip(values, values[1:]))
        assert rises >= 0.6 * (len(values) - 1)


def test_laggard_icbs_have_lower_uptake(tiny, catalogue):
    root, result = tiny
    laggards = set(result.summary["laggards"])
    assert 3 <= len(laggards) <= 4
    codes = pa.array(sorted({pres.bnf_code for t in catalogue.technology_appraisals for p in t.products
                             for pres in p.presentations}))
    t = _epd(root, ["YEAR_MONTH", "ICB_CODE", "PRACTICE_CODE", "BNF_CODE", "ITEMS"])
    t = t.filter(pc.greater_equal(t.column("YEAR_MONTH"), "202110"))
    icb_of = dict(zip(t.column("PRACTICE_CODE").to_pylist(), t.column("ICB_CODE").to_pylist()))
    t = t.filter(pc.is_in(t.column("BNF_CODE"), value_set=codes))
    items: Counter = Counter()
    for icb, n in zip(t.column("ICB_CODE").to_pylist(), t.column("ITEMS").to_pylist()):
        items[icb] += n
    patients: Counter = Counter()
    for path in sorted((root / "list_sizes").glob("*.csv"))[-12:]:
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                if r["SEX"] == "ALL" and r["ORG_CODE"] in icb_of:
                    patients[icb_of[r["ORG_CODE"]]] += int(r["NUMBER_OF_PATIENTS"])
    rate = {icb: items[icb] / patients[icb] for icb in patients}
    lag = [rate[i] for i in laggards]
    rest = [v for i, v in rate.items() if i not in laggards]
    assert len(lag) + len(rest) == 42
    assert sum(lag) / len(lag) < 0.85 * sum(rest) / len(rest)


def test_competing_products_share_the_market(tiny):
    """The four DOACs (TA249, TA256, TA275, TA355) split anticoagulation differently by ICB."""
    root, _ = tiny
    t = _epd(root, ["YEAR_MONTH", "ICB_CODE", "BNF_CODE", "ITEMS"])
    t = t.filter(pc.equal(t.column("YEAR_MONTH"), "202209"))
    by: dict[str, Counter] = defaultdict(Counter)
    for icb, code, n in zip(*(t.column(c).to_pylist() for c in ("ICB_CODE", "BNF_CODE", "ITEMS"))):
        if code[:9] in ("0208020X0", "0208020Y0", "0208020Z0", "0208020AA"):
            by[icb][code[:9]] += n
    shares = [c["0208020Z0"] / sum(c.values()) for c in by.values() if sum(c.values()) > 20]
    assert len(shares) > 30
    assert max(shares) - min(shares) > 0.25
