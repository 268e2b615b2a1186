"""List-size and QOF register readers: real shared files and hand-made good and bad ones."""

from __future__ import annotations

import csv
import gzip
from collections import Counter
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from uptake.errors import InputError
from uptake.sources import detect_format, read_file
from uptake.sources.base import formats, read_header
from uptake.sources.registers import months_from_name, qof_year_from_name

QOF_FILES = {  # file → rows: registers × (6,873 practices in 2018-19 + 6,804 in 2017-18)
    "CardioVascular": 8 * 13_677,   # AF CHD CVDPP HF LVSD HYP PAD STIA
    "dependency": 4 * 13_677,       # CAN CKD DM PC
    "lifestyle": 1 * 13_677,        # OB
    "mental": 4 * 13_677 + 6_873,   # DEM DEP EP MH, and LD in 2018-19 only ('z' in 2017-18)
    "muscul": 2 * 13_677,           # OST RA
    "respiratory": 2 * 13_677,      # AST COPD
}
LIST_SIZE = "list_sizes/Patient_List_Size_2016_01-03_age_sex.csv.gz"

_cache: dict = {}


def real(shared_data, name):
    if name not in _cache:
        _cache[name] = read_file(shared_data / name)
    return _cache[name]


def only(table: pa.Table, **where) -> list[dict]:
    mask = None
    for k, v in where.items():
        m = pc.equal(table.column(k), pa.scalar(v, table.schema.field(k).type))
        mask = m if mask is None else pc.and_(mask, m)
    return table.filter(mask).to_pylist()


# --- file-name rules ----------------------------------------------------------------------


@pytest.mark.parametrize("name,months", [
    ("Patient_List_Size_2016_01-03.csv", [date(2016, 1, 1), date(2016, 2, 1), date(2016, 3, 1)]),
    ("Patient_List_Size_2016_01-03_age_sex.csv.gz", [date(2016, 1, 1), date(2016, 2, 1), date(2016, 3, 1)]),
    ("practice_demographics_2025_04.csv", [date(2025, 4, 1)]),
    ("list-2024-11.csv.gz", [date(2024, 11, 1)]),
    ("list_2024-11-01.csv", [date(2024, 11, 1)]),
])
def test_months_from_name(name, months):
    assert months_from_name(Path(name)) == months


@pytest.mark.parametrize("name", ["practice_demographics_2025.csv", "list_2016_13.csv", "list_2016_03-01.csv",
                                  "list.csv"])
def test_months_from_name_refuses(name):
    with pytest.raises(InputError) as info:
        months_from_name(Path(name))
    assert info.value.line == 1 and "name the file with its month" in info.value.message


@pytest.mark.parametrize("name,year", [("PREVALENCE_2223.csv", "2022-23"), ("PREVALENCE_2122_V2.csv", "2021-22"),
                                       ("PREVALENCE_2021_v2.csv", "2020-21"), ("PREVALENCE_1920.csv.gz", "2019-20"),
                                       ("qof_prevalence_2023-24.csv", "2023-24")])
def test_qof_year_from_name(name, year):
    assert qof_year_from_name(Path(name)) == year


@pytest.mark.parametrize("name", ["PREVALENCE.csv", "PREVALENCE_2224.csv"])
def test_qof_year_from_name_refuses(name):
    with pytest.raises(InputError) as info:
        qof_year_from_name(Path(name))
    assert info.value.line == 1 and "PREVALENCE_YYZZ" in info.value.message


# --- NHSBSA list sizes ----------------------------------------------------------------------


def test_nhsbsa_list_sizes_real(shared_data):
    header = read_header(shared_data / LIST_SIZE)
    assert [f.id for f in formats().values() if f.detect(header)] == ["list_size_age_sex_nhsbsa"]
    t = real(shared_data, LIST_SIZE).table
    # 7,705 practices × (9 bands × 2 sexes + 1 total) × the 3 months of the Jan-Mar 2016 quarter
    assert t.num_rows == 7_705 * 19 * 3
    assert t.group_by(["month", "practice", "sex", "age_band"]).aggregate([([], "count_all")]).num_rows == t.num_rows
    assert Counter(t.column("month").to_pylist()) == {date(2016, m, 1): 7_705 * 19 for m in (1, 2, 3)}
    abbey = {(r["sex"], r["age_band"]): r["patients"] for r in only(t, practice="F82625", month=date(2016, 2, 1))}
    # F82625 ABBEY MEDICAL CENTRE: 306,268,601,531,400,390,717,551,669,479,459,369,248,170,127,127,76,80
    assert abbey[("male", "0-4")] == 306 and abbey[("female", "0-4")] == 268
    assert abbey[("male", "75+")] == 76 and abbey[("female", "75+")] == 80
    assert abbey[("all", "all")] == 6_568 == sum(v for k, v in abbey.items() if k != ("all", "all"))
    with gzip.open(shared_data / LIST_SIZE, "rt", newline="") as f:
        raw = list(csv.DictReader(f))
    total = sum(int(v) for r in raw for k, v in r.items() if k.startswith(("Male", "Female")))
    jan = t.filter(pc.and_(pc.equal(t.column("month"), pa.scalar(date(2016, 1, 1))),
                           pc.equal(t.column("sex"), "all")))
    assert pc.sum(jan.column("patients")).as_py() == total


NHSBSA_HEADER = ("Regional Office Name,Regional Office Code,Area Team Name,Area Team Code,PCO Name,PCO Code,"
                 "Practice Name,Practice Code,Male 0-4,Female 0-4,Male 5-14,Female 5-14,Male 15-24,Female 15-24,"
                 "Male 25-34,Female 25-34,Male 35-44,Female 35-44,Male 45-54,Female 45-54,Male 55-64,Female 55-64,"
                 "Male 65-74,Female 65-74,Male 75+,Female 75+")


def nhsbsa_row(practice="F82625", first="306"):
    return (f"LONDON,Y56,NORTH EAST LONDON AREA TEAM,Q61,BARKING & DAGENHAM CCG,07L00,ABBEY MEDICAL CENTRE,{practice},"
            f"{first},268,601,531,400,390,717,551,669,479,459,369,248,170,127,127,76,80")


def test_nhsbsa_list_sizes_single_month_and_bad_inputs(write, input_error):
    t = read_file(write("Patient_List_Size_2016_04.csv", [NHSBSA_HEADER, nhsbsa_row()])).table
    assert t.num_rows == 19 and set(t.column("month").to_pylist()) == {date(2016, 4, 1)}
    e = input_error(write("Patient_List_Size.csv", [NHSBSA_HEADER, nhsbsa_row()]))
    assert e.line == 1 and "no date column" in e.message
    name = "Patient_List_Size_2016_01-03.csv"
    e = input_error(write(name, [NHSBSA_HEADER, nhsbsa_row(), nhsbsa_row("F82018", "many")]))
    assert (e.line, e.column) == (3, "Male 0-4") and "'many'" in e.message
    e = input_error(write(name, [NHSBSA_HEADER, nhsbsa_row(), nhsbsa_row("F82018", "-3")]))
    assert (e.line, e.column) == (3, "Male 0-4") and "negative" in e.message
    e = input_error(write(name, [NHSBSA_HEADER, nhsbsa_row(), nhsbsa_row()]))
    assert e.line == 3 and "duplicate" in e.message
    e = input_error(write(name, [NHSBSA_HEADER, nhsbsa_row(), nhsbsa_row("")]))
    assert (e.line, e.column) == (3, "Practice Code")
    e = input_error(write(name, [NHSBSA_HEADER, nhsbsa_row(), nhsbsa_row("F82018", "")]))
    assert (e.line, e.column) == (3, "Male 0-4") and "blank" in e.message
    e = input_error(write(name, [NHSBSA_HEADER.replace("Female 45-54", "Female 45 to 54"), nhsbsa_row()]),
                    "list_size_age_sex_nhsbsa")
    assert e.line == 1 and "missing column Female 45-54" in e.message


# --- practice demographics ------------------------------------------------------------------


def test_practice_demographics_needs_a_month_in_its_name(shared_data, tmp_path, input_error):
    real_path = shared_data / "list_sizes/practice_demographics_2025.csv.gz"
    assert [f.id for f in formats().values() if f.detect(read_header(real_path))] == ["practice_demographics"]
    e = input_error(real_path)
    assert e.line == 1 and "does not say which month" in e.message
    named = tmp_path / "practice_demographics_2025_04.csv.gz"
    named.symlink_to(real_path)  # the same bytes under a name that says the month
    t = read_file(named).table
    assert t.num_rows == 6_215
    assert only(t, practice="A81001") == [{"month": date(2025, 4, 1), "practice": "A81001", "sex": "all",
                                           "age_band": "all", "patients": 3_890}]


def test_practice_demographics_bad_inputs(write, input_error):
    h = "practice_code,list_size,imd_score,imd_decile,pct_over_65,pct_under_5,pct_5_19"
    name = "practice_demographics_2025_04.csv"
    e = input_error(write(name, [h, "A81001,3890,32.3,8,11.2,2.3,8.9", "A81002,18.738,31.9,8,11.5,2.2,8.1"]))
    assert (e.line, e.column) == (3, "list_size")
    e = input_error(write(name, [h, "A81001,3890,32.3,8,11.2,2.3,8.9", "A81001,3890,32.3,8,11.2,2.3,8.9"]))
    assert e.line == 3 and "duplicate" in e.message


# --- NHS Digital: Patients registered at a GP practice ------------------------------------

QUIN = "PUBLICATION,EXTRACT_DATE,ORG_TYPE,ORG_CODE,ONS_CODE,POSTCODE,SEX,AGE_GROUP_5,NUMBER_OF_PATIENTS"


def quin(org="A81001", sex="MALE", age="0_4", n="120", when="01-Oct-2022", org_type="GP"):
    return f"GP_PRAC_PAT_LIST,{when},{org_type},{org},,TS18 1HU,{sex},{age},{n}"


def test_quin_age(write):
    path = write("gp-reg-pat-prac-quin-age.csv", [
        QUIN, quin(), quin(sex="FEMALE", n="110"), quin(sex="ALL", n="230"), quin(age="95+", n="3"),
        quin(sex="ALL", age="ALL", n="3747"), quin(org="QHM", org_type="ICB", n="99999"),
        quin(org="U89141", org_type="PCN", n="88888")])
    result = read_file(path)
    assert result.format.id == "gp_reg_pat_quin_age"
    rows = {(r["sex"], r["age_band"]): r["patients"] for r in result.table.to_pylist()}
    assert rows == {("male", "0-4"): 120, ("female", "0-4"): 110, ("all", "0-4"): 230, ("male", "95+"): 3,
                    ("all", "all"): 3747}  # ICB and PCN rows dropped
    assert set(result.table.column("month").to_pylist()) == {date(2022, 10, 1)}
    assert set(result.table.column("practice").to_pylist()) == {"A81001"}


@pytest.mark.parametrize("written", ["01-Oct-2022", "01-Oct-22", "01OCT2022", "2022-10-01", "01/10/2022"])
def test_quin_age_extract_dates(write, written):
    t = read_file(write("q.csv", [QUIN, quin(when=written)])).table
    assert t.column("month").to_pylist() == [date(2022, 10, 1)]


def test_quin_age_bad_inputs(write, input_error):
    e = input_error(write("q.csv", [QUIN, quin(), quin(sex="FEMALE", when="Oct 2022")]))
    assert (e.line, e.column) == (3, "EXTRACT_DATE") and "01-Sep-2020" in e.message
    e = input_error(write("q.csv", [QUIN, quin(), quin(sex="F")]))
    assert (e.line, e.column) == (3, "SEX") and "MALE, FEMALE or ALL" in e.message
    e = input_error(write("q.csv", [QUIN, quin(), quin(age="0 to 4")]))
    assert (e.line, e.column) == (3, "AGE_GROUP_5")
    e = input_error(write("q.csv", [QUIN, quin(), quin(sex="FEMALE", n="12O")]))
    assert (e.line, e.column) == (3, "NUMBER_OF_PATIENTS") and "'12O'" in e.message
    e = input_error(write("q.csv", [QUIN, quin(), quin(sex="FEMALE", n="-1")]))
    assert (e.line, e.column) == (3, "NUMBER_OF_PATIENTS") and "negative" in e.message
    e = input_error(write("q.csv", [QUIN, quin(), quin(sex="ALL"), quin(when="2022-10-01")]))
    assert e.line == 4 and "duplicate" in e.message  # the same month written two ways
    e = input_error(write("q.csv", [QUIN, quin(), quin(org="")]))
    assert (e.line, e.column) == (3, "ORG_CODE")
    e = input_error(write("q.csv", [QUIN, quin(org="QHM", org_type="ICB")]))
    assert (e.line, e.column) == (2, "ORG_TYPE") and "GP" in e.message


ALL_2026 = ("PUBLICATION,EXTRACT_DATE,TYPE,SUB_ICB_LOCATION_CODE,ONS_SUB_ICB_LOCATION_CODE,CODE,POSTCODE,SEX,AGE,"
            "NUMBER_OF_PATIENTS")


def test_prac_all_layouts(write):
    # the real April 2026 file's first lines
    t = read_file(write("gp-reg-pat-prac-all.csv", [
        ALL_2026, "GP_PRAC_PAT_LIST,2026-04-01,GP,16C,E38000247,A81001,TS18 1HU,ALL,ALL,3747",
        "GP_PRAC_PAT_LIST,2026-04-01,GP,16C,E38000247,A81002,TS18 2AW,ALL,ALL,18654"])).table
    assert t.to_pylist()[1] == {"month": date(2026, 4, 1), "practice": "A81002", "sex": "all", "age_band": "all",
                                "patients": 18654}
    path = write("all.csv", ["PUBLICATION,EXTRACT_DATE,TYPE,CODE,POSTCODE,SEX,AGE,NUMBER_OF_PATIENTS",
                             "GP_PRAC_PAT_LIST,01JUL2026,GP,A12345,EX1 1AA,ALL,ALL,8900"])
    assert detect_format(path)[0].id == "gp_reg_pat_all"
    assert read_file(path).table.column("month").to_pylist() == [date(2026, 7, 1)]


def test_prac_all_bad_inputs(write, input_error):
    ok = "GP_PRAC_PAT_LIST,2026-04-01,GP,16C,E38000247,A81001,TS18 1HU,ALL,ALL,3747"
    e = input_error(write("a.csv", [ALL_2026, ok, ok.replace("A81001", "A81002").replace("3747", "3,747")]))
    assert e.line == 3  # one field too many
    e = input_error(write("a.csv", [ALL_2026, ok, ok.replace("A81001", "A81002").replace("2026-04-01", "2026-13-01")]))
    assert (e.line, e.column) == (3, "EXTRACT_DATE")


# --- QOF: NHS Digital raw PREVALENCE files -------------------------------------------------

PREV = "PRACTICE_CODE,GROUP_CODE,REGISTER,PATIENT_LIST_TYPE,PRACTICE_LIST_SIZE"


def test_qof_nhsd(write):
    path = write("PREVALENCE_2223.csv", [PREV, "A81001,AF,135,TOTAL,7794", "A81001,DM,425,17OV,6546",
                                         "A81001,EP,52,18OV,6495", "A81002,AF,0,TOTAL,18000"])
    result = read_file(path)
    assert result.format.id == "qof_nhsd"
    rows = {(r["practice"], r["register"]): r for r in result.table.to_pylist()}
    assert rows[("A81001", "AF")] == {"year": "2022-23", "practice": "A81001", "register": "AF", "patients": 135,
                                      "list_size": 7794, "list_type": "all"}
    assert rows[("A81001", "DM")]["list_type"] == "17+" and rows[("A81001", "EP")]["list_type"] == "18+"
    old = write("PREVALENCE_1516.csv", ["PRACTICE_CODE,INDICATOR_GROUP_CODE,REGISTER,PATIENT_LIST_TYPE,"
                                        "PATIENT_LIST_SIZE", "A81001,AF,96,TOTAL,4247"])
    assert read_file(old).table.column("year").to_pylist() == ["2015-16"]


def test_qof_nhsd_bad_inputs(write, input_error):
    e = input_error(write("PREVALENCE.csv", [PREV, "A81001,AF,135,TOTAL,7794"]))
    assert e.line == 1 and "PREVALENCE_2223.csv" in e.message
    name = "PREVALENCE_2223.csv"
    e = input_error(write(name, [PREV, "A81001,AF,135,TOTAL,7794", "A81001,DM,many,17OV,6546"]))
    assert (e.line, e.column) == (3, "REGISTER")
    e = input_error(write(name, [PREV, "A81001,AF,135,TOTAL,7794", "A81001,DM,-4,17OV,6546"]))
    assert (e.line, e.column) == (3, "REGISTER") and "negative" in e.message
    e = input_error(write(name, [PREV, "A81001,AF,135,TOTAL,7794", "A81001,AF,136,TOTAL,7794"]))
    assert e.line == 3 and "duplicate" in e.message
    e = input_error(write(name, [PREV, "A81001,AF,135,TOTAL,7794", ",AF,136,TOTAL,7794"]))
    assert (e.line, e.column) == (3, "PRACTICE_CODE")
    e = input_error(write(name, [PREV.replace(",PRACTICE_LIST_SIZE", ",SIZE"), "A81001,AF,135,TOTAL,7794"]), "qof_nhsd")
    assert e.line == 1 and "missing column PRACTICE_LIST_SIZE (or PATIENT_LIST_SIZE)" in e.message


# --- QOF: the reshaped 2018-19 extract -------------------------------------------------------


@pytest.mark.parametrize("group", sorted(QOF_FILES))
def test_qof_1819_real_counts(shared_data, group):
    name = f"qof/qofGP_1819_{group}.csv.gz"
    assert [f.id for f in formats().values() if f.detect(read_header(shared_data / name))] == ["qof_1819_reshaped"]
    t = real(shared_data, name).table
    assert t.num_rows == QOF_FILES[group]
    assert t.group_by(["year", "practice", "register"]).aggregate([([], "count_all")]).num_rows == t.num_rows
    assert Counter(t.column("year").to_pylist())["2018-19"] == QOF_FILES[group] // 13_677 * 6_873 + (
        6_873 if group == "mental" else 0)


def test_qof_1819_real_values(shared_data):
    cv = real(shared_data, "qof/qofGP_1819_CardioVascular.csv.gz").table
    # E83027 '188 The Practice': allAges 7.389 / 7.794, AF 118 / 135, HYP 951 / 1.025 (European thousands)
    af = {r["year"]: r for r in only(cv, practice="E83027", register="AF")}
    assert (af["2017-18"]["patients"], af["2017-18"]["list_size"]) == (118, 7_389)
    assert (af["2018-19"]["patients"], af["2018-19"]["list_size"], af["2018-19"]["list_type"]) == (135, 7_794, "all")
    assert only(cv, practice="E83027", register="HYP", year="2018-19")[0]["patients"] == 1_025
    assert only(cv, practice="E83027", register="CVDPP", year="2018-19")[0]["list_size"] == 4_440
    assert set(cv.column("register").to_pylist()) == {"AF", "CHD", "CVDPP", "HF", "LVSD", "HYP", "PAD", "STIA"}
    life = real(shared_data, "qof/qofGP_1819_lifestyle.csv.gz").table
    ob = {r["year"]: r for r in only(life, practice="E83027")}
    assert ob["2017-18"] == {"year": "2017-18", "practice": "E83027", "register": "OB", "patients": 333,
                             "list_size": 6_092, "list_type": "18+"}  # the mislabelled allAges_1718 column
    mental = real(shared_data, "qof/qofGP_1819_mental.csv.gz").table
    assert not only(mental, register="LD", year="2017-18")
    dep = real(shared_data, "qof/qofGP_1819_dependency.csv.gz").table
    assert only(dep, practice="E83027", register="DM", year="2018-19")[0]["list_type"] == "17+"


def _european(text: str) -> float | None:
    return None if text in ("", ":", "z") else float(text.replace(".", "").replace(",", "."))


@pytest.mark.parametrize("group", sorted(QOF_FILES))
def test_qof_1819_registers_reproduce_published_prevalence(shared_data, group):
    """patients / list_size × 100, from what the reader returns, matches the file's own prevalence
    column (2 decimals) for every practice and register — so each register got the right list."""
    name = f"qof/qofGP_1819_{group}.csv.gz"
    with gzip.open(shared_data / name, "rt", newline="", encoding="utf-8") as f:
        raw = {r["practiceCode"]: r for r in csv.DictReader(f, delimiter=";")}
    t = real(shared_data, name).table
    columns = {c for r in raw.values() for c in r}
    checked = 0
    for r in t.to_pylist():
        yy = r["year"][2:4] + r["year"][5:7]
        prefix = {"CKD": "CKD18p", "DM": "DM17p", "EP": "EP18p", "OST": "OST50", "RA": "RA16"}.get(r["register"],
                                                                                                  r["register"])
        candidates = [f"{prefix}_p_{yy}", f"{r['register']}_p_{yy}"]
        column = next((c for c in candidates if c in columns), None)
        if column is None or (r["register"], yy) == ("DM", "1819"):  # DM17p_p_1819 is corrupted (fill-down)
            continue
        published = _european(raw[r["practice"]][column])
        if published is None or not r["list_size"]:
            continue
        assert abs(100 * r["patients"] / r["list_size"] - published) <= 0.0051, (r, column, published)
        checked += 1
    assert checked > 0.9 * t.num_rows - 6_873 * (group == "dependency")


def qof_rows(*rows: str) -> list[str]:
    header = "regionCode;CCGcode;practiceCode;practiceName;allAges_1718;allAges_1819;AF_N_1718;AF_p_1718;AF_N_1819"
    return [header, *rows]


def test_qof_1819_hand_made(write):
    t = read_file(write("q.csv", qof_rows("Y56;07M;E83027;188 The Practice;7.389;7.794;118;1,6;135",
                                          "Y56;07M;E83044;Addington;8627;9.121;:;:;1.194"))).table
    assert t.to_pylist() == [
        {"year": "2017-18", "practice": "E83027", "register": "AF", "patients": 118, "list_size": 7389,
         "list_type": "all"},
        {"year": "2018-19", "practice": "E83027", "register": "AF", "patients": 135, "list_size": 7794,
         "list_type": "all"},
        {"year": "2018-19", "practice": "E83044", "register": "AF", "patients": 1194, "list_size": 9121,
         "list_type": "all"}]


def test_qof_1819_bad_inputs(write, input_error):
    ok = "Y56;07M;E83027;188 The Practice;7.389;7.794;118;1,6;135"
    e = input_error(write("q.csv", qof_rows(ok, "Y56;07M;E83044;Addington;8.627;9.121;170;1,97;19,4")))
    assert (e.line, e.column) == (3, "AF_N_1819") and "'19,4'" in e.message
    e = input_error(write("q.csv", qof_rows(ok, "Y56;07M;E83044;Addington;8.627;9.121;170;1,97;lots")))
    assert (e.line, e.column) == (3, "AF_N_1819")
    e = input_error(write("q.csv", qof_rows(ok, "Y56;07M;E83044;Addington;8.627;9.121;-170;1,97;194")))
    assert (e.line, e.column) == (3, "AF_N_1718") and "negative" in e.message
    e = input_error(write("q.csv", qof_rows(ok, "Y56;07M;E83044;Addington;86.27;9.121;170;1,97;194")))
    assert (e.line, e.column) == (3, "allAges_1718")
    e = input_error(write("q.csv", qof_rows(ok, ok)))
    assert e.line == 3 and "duplicate" in e.message
    e = input_error(write("q.csv", qof_rows(ok, "Y56;07M;;Addington;8.627;9.121;170;1,97;194")))
    assert (e.line, e.column) == (3, "practiceCode")
    e = input_error(write("q.csv", [qof_rows()[0].replace("allAges_1718", "ages16to64_1718"), ok]))
    assert e.line == 1 and "allAges_1718" in e.message
    e = input_error(write("q.csv", [qof_rows()[0].replace("AF_N_1819", "XYZ_N_1819"), ok]))
    assert (e.line, e.column) == (1, "XYZ_N_1819") and "unknown QOF register XYZ" in e.message


def test_qof_1819_needs_semicolons(write):
    path = write("q.csv", [line.replace(";", ",").replace(",6", ".6") for line in
                           qof_rows("Y56;07M;E83027;188 The Practice;7389;7794;118;1,6;135")])
    with pytest.raises(InputError):
        detect_format(path)  # comma-separated is not this layout


def test_empty_files(tmp_path, write, input_error):
    empty = tmp_path / "PREVALENCE_2223.csv"
    empty.write_bytes(b"")
    assert input_error(empty).line == 1
    e = input_error(write("q.csv", qof_rows()))
    assert e.line == 2 and "no data rows" in e.message
    e = input_error(write("PREVALENCE_2223.csv", [PREV]))
    assert e.line == 2
