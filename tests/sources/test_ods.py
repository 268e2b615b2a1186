"""Organisation readers (epraccur, GP practice mapping, ICB/region lookups, trusts): real shared
files and hand-made bad ones."""

from __future__ import annotations

import csv
import gzip
from collections import Counter
from datetime import date

import pyarrow as pa
import pytest

from uptake.errors import InputError
from uptake.sources import detect_format, read_file
from uptake.sources.base import formats, read_header
from uptake.sources.ods import EXTRA_DATASETS, REGION_CODES

REAL = {  # file → (format, main dataset, main rows, {extra dataset: rows})
    # 15,389 practices/cost centres + 214 sub-ICBs, 22 commissioning hubs, 7 Welsh LHBs, 42 ICBs, 7 regions;
    # relations: 15,318 rows with a commissioner (71 have none) + 106 sub-ICB → ICB + 42 ICB → region
    "ods/epraccur_2026-02.csv.gz": ("epraccur", "organisations", 15_681, {"org_relations": 15_466}),
    # 6,708 practice → sub-ICB, 6,577 practice → PCN (131 'U' unallocated), 1,249 PCN → sub-ICB (2 ties),
    # 135 CCG → STP, 42 STP → region; organisations: 6,708 + 1,251 + 135 + 42 + 7
    "ods/gp-reg-pat-prac-map_2020-09.csv.gz": ("gp_practice_map", "org_relations", 14_711, {"organisations": 8_143}),
    # 43 rows less the '-' UNIDENTIFIED row: 42 ICBs + 7 regions
    "ods/icb_to_region_lookup_2025.csv": ("icb_region_lookup", "organisations", 49, {"org_relations": 42}),
    "ods/stp21_to_nhser21_lookup.csv": ("ons_stp_region_lookup", "org_relations", 42, {"organisations": 49}),
    "ods/ccg21_to_stp21_lookup.csv": ("ons_ccg_stp_lookup", "org_relations", 106, {"organisations": 148}),
    # 218 trusts; relations for the 215 in English regions (3 Welsh: W00/Q99)
    "ods/nhs_trusts_etr_tidy.csv": ("nhs_trusts", "organisations", 218, {"org_relations": 430}),
}

_cache: dict = {}


def real(shared_data, name):
    if name not in _cache:
        _cache[name] = read_file(shared_data / name)
    return _cache[name]


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_files_detected_as_exactly_one_format_and_counted(shared_data, name):
    fmt_id, main, rows, extras = REAL[name]
    header = read_header(shared_data / name)
    assert [f.id for f in formats().values() if f.detect(header)] == [fmt_id]
    result = real(shared_data, name)
    assert result.format.id == fmt_id and result.format.dataset == main
    assert {k: t.num_rows for k, t in result.tables.items()} == {main: rows, **extras}
    assert set(EXTRA_DATASETS[fmt_id]) == set(extras)
    for t in result.tables.values():
        # relations from a monthly mapping name their extract, so that each month is kept
        assert {s.split(" ")[0] for s in t.column("source").to_pylist()} == {fmt_id}


def as_dicts(table: pa.Table, *key: str) -> dict:
    return {tuple(r[k] for k in key) if len(key) > 1 else r[key[0]]: r for r in table.to_pylist()}


# --- epraccur -----------------------------------------------------------------------------


def test_epraccur_organisations(shared_data):
    orgs = real(shared_data, "ods/epraccur_2026-02.csv.gz").tables["organisations"]
    by = as_dicts(orgs, "code", "type")
    assert by[("A81001", "practice")] == {
        "code": "A81001", "type": "practice", "name": "THE DENSHAM SURGERY", "postcode": "TS18 1HU",
        "opened": date(1974, 4, 1), "closed": None, "status": "ACTIVE", "setting": "RO76", "source": "epraccur"}
    closed = by[("A81003", "practice")]
    assert (closed["status"], closed["closed"]) == ("INACTIVE", date(2017, 10, 31))
    assert by[("Y00613", "cost_centre")]["name"] == "HMP BIRMINGHAM"
    assert by[("B81042", "practice")]["setting"] == "RO76|RO268"  # several roles, one of them RO76
    assert by[("16C", "sub_icb")]["name"] is None and ("QHM", "icb") in by and ("Y63", "region") in by
    assert ("7A1", "lhb") in by and ("13Q", "commissioner") in by and ("14Q", "commissioner") in by
    active_gp = [r for r in orgs.to_pylist() if r["type"] == "practice" and r["status"] == "ACTIVE"
                 and r["setting"] == "RO76"]
    assert len(active_gp) == 6_599  # SOURCES.md
    assert Counter(r["status"] for r in orgs.to_pylist() if r["type"] in ("practice", "cost_centre")) == {
        "ACTIVE": 12_515, "INACTIVE": 2_680, "DORMANT": 194}
    assert {r["code"] for r in orgs.to_pylist() if r["type"] == "region"} == set(REGION_CODES.values())


def test_epraccur_relations(shared_data):
    result = real(shared_data, "ods/epraccur_2026-02.csv.gz")
    rels = result.tables["org_relations"].to_pylist()
    up = {(r["child"], r["child_type"]): r for r in rels}
    assert up[("A81001", "practice")] == {"child": "A81001", "child_type": "practice", "parent": "16C",
                                          "parent_type": "sub_icb", "valid_from": date(2020, 4, 1), "valid_to": None,
                                          "source": "epraccur"}
    assert (up[("A81003", "practice")]["parent"], up[("A81003", "practice")]["valid_to"]) == ("00K", date(2017, 10, 31))
    assert up[("16C", "sub_icb")]["parent"] == "QHM" and up[("QHM", "icb")]["parent"] == "Y63"
    # W2U3Z (North West London sub-ICB) has 334 active practices in QRV and 6 located elsewhere: majority wins
    assert up[("W2U3Z", "sub_icb")]["parent"] == "QRV"
    # 6,599 active GP practices under 113 commissioners: 106 sub-ICBs in the 42 ICBs, and 7 Welsh health boards
    orgs = result.tables["organisations"].to_pylist()
    active = {r["code"] for r in orgs if r["type"] == "practice" and r["status"] == "ACTIVE" and r["setting"] == "RO76"}
    commissioners = {up[(p, "practice")]["parent"] for p in active}
    assert len(commissioners) == 113
    icbs = {up[(c, "sub_icb")]["parent"] for c in commissioners if (c, "sub_icb") in up}
    assert len(icbs) == 42
    assert {c for c in commissioners if (c, "sub_icb") not in up} == {f"7A{i}" for i in range(1, 8)}
    assert len({r["child"] for r in rels if r["child_type"] == "icb"}) == 42


def test_epraccur_regions_agree_with_the_lookups(shared_data):
    """Region codes derived from names (icb_region_lookup) agree with epraccur field 3 and ONS."""
    epraccur = {r["child"]: r["parent"] for r in real(shared_data, "ods/epraccur_2026-02.csv.gz")
                .tables["org_relations"].to_pylist() if r["child_type"] == "icb"}
    lookup = {r["child"]: r["parent"] for r in real(shared_data, "ods/icb_to_region_lookup_2025.csv")
              .tables["org_relations"].to_pylist()}
    ons = {r["child"]: r["parent"] for r in real(shared_data, "ods/stp21_to_nhser21_lookup.csv")
           .tables["org_relations"].to_pylist()}
    assert epraccur == lookup == ons and len(ons) == 42
    ons_names = {r["code"]: r["name"] for r in real(shared_data, "ods/stp21_to_nhser21_lookup.csv")
                 .tables["organisations"].to_pylist() if r["type"] == "region"}
    assert {name.upper(): code for code, name in ons_names.items()} == REGION_CODES


def epraccur_row(code="A81001", status="ACTIVE", opened="19740401", setting="RO76", commissioner="16C"):
    row = [code, "THE DENSHAM SURGERY", "Y63", "QHM", "HEALTH CENTRE", "LAWSON STREET", "", "STOCKTON-ON-TEES", "",
           "TS18 1HU", opened, "", status, "B", commissioner, "20200401", "", "01642 672351", "", "", "", "1", "",
           commissioner, "", setting, ""]
    return ",".join(f'"{v}"' for v in row)


def test_epraccur_hand_made(write):
    path = write("epraccur.csv", [epraccur_row(), epraccur_row("A81002", setting="4"),
                                  epraccur_row("Y00001", status="C", setting="RO72", commissioner="13Q")], gz=True)
    result = read_file(path)
    assert result.format.id == "epraccur"
    orgs = as_dicts(result.table, "code", "type")
    assert orgs[("A81002", "practice")]["setting"] == "4"  # the pre-2024 numeric setting
    assert orgs[("Y00001", "cost_centre")]["status"] == "INACTIVE"  # old 'C' = closed
    assert ("13Q", "commissioner") in orgs and ("16C", "sub_icb") in orgs
    rels = as_dicts(result.tables["org_relations"], "child", "parent_type")
    assert rels[("16C", "icb")]["parent"] == "QHM"


def test_epraccur_detected_by_shape(write):
    assert detect_format(write("e.csv", [epraccur_row()]))[0].id == "epraccur"
    with pytest.raises(InputError):
        detect_format(write("e.csv", [epraccur_row()[:-3]]))  # 26 fields: not epraccur
    with pytest.raises(InputError):
        detect_format(write("e.csv", [epraccur_row(opened="1974-04-01")]))


def test_epraccur_bad_inputs(write, input_error):
    e = input_error(write("e.csv", [epraccur_row(), epraccur_row("A81002", status="OPEN")]))
    assert (e.line, e.column) == (2, "status_code (field 13)") and "ACTIVE" in e.message
    e = input_error(write("e.csv", [epraccur_row(), epraccur_row("A81002", opened="01/04/1974")]))
    assert (e.line, e.column) == (2, "open_date (field 11)") and "YYYYMMDD" in e.message
    e = input_error(write("e.csv", [epraccur_row(), epraccur_row("A81002", opened="19741301")]))
    assert (e.line, e.column) == (2, "open_date (field 11)")
    e = input_error(write("e.csv", [epraccur_row(), epraccur_row()]))
    assert e.line == 2 and "duplicate" in e.message and "line 1" in e.message
    e = input_error(write("e.csv", [epraccur_row(), epraccur_row(code="")]))
    assert (e.line, e.column) == (2, "organisation_code (field 1)")
    e = input_error(write("e.csv", [epraccur_row(), epraccur_row("A81002") + ',"extra"']))
    assert e.line == 2 and "28 fields; expected 27" in e.message


# --- gp-reg-pat-prac-map ------------------------------------------------------------------


def test_gp_practice_map_real(shared_data):
    result = real(shared_data, "ods/gp-reg-pat-prac-map_2020-09.csv.gz")
    rels = as_dicts(result.table, "child", "parent_type")
    sep20 = date(2020, 9, 1)
    assert rels[("A81001", "pcn")] == {"child": "A81001", "child_type": "practice", "parent": "U89141",
                                       "parent_type": "pcn", "valid_from": sep20, "valid_to": None,
                                       "source": "gp_practice_map 2020-09"}
    assert rels[("A81001", "sub_icb")]["parent"] == "16C"
    assert rels[("U89141", "sub_icb")]["parent"] == "16C"
    assert rels[("16C", "icb")]["parent"] == "QHM" and rels[("QHM", "region")]["parent"] == "Y63"
    assert ("A84035", "pcn") not in rels and rels[("A84035", "sub_icb")]["parent"] == "00L"  # unallocated PCN
    assert rels[("U69575", "sub_icb")]["parent"] == "03A"  # 8 of its 9 practices in 03A, 1 in 03J
    assert ("U26254", "sub_icb") not in rels  # one practice in 05N and one in 05X: a tie, no parent
    orgs = as_dicts(result.tables["organisations"], "code", "type")
    assert orgs[("U89141", "pcn")]["name"] == "STOCKTON PCN"
    assert orgs[("16C", "sub_icb")]["name"] == "NHS Tees Valley CCG"
    assert orgs[("A81001", "practice")]["postcode"] == "TS18 1HU"
    assert ("U", "pcn") not in orgs


MAP_2022 = ("PUBLICATION,EXTRACT_DATE,PRACTICE_CODE,PRACTICE_NAME,PRACTICE_POSTCODE,ONS_SUB_ICB_LOCATION_CODE,"
            "SUB_ICB_LOCATION_CODE,SUB_ICB_LOCATION_NAME,ONS_ICB_CODE,ICB_CODE,ICB_NAME,ONS_COMM_REGION_CODE,"
            "COMM_REGION_CODE,COMM_REGION_NAME,SUPPLIER_NAME,PCN_CODE,PCN_NAME")


def map_row(practice="A81001", date_="2022-10-01", sub_icb="16C", icb="QHM", pcn="U89141"):
    return (f"GP_PRAC_PAT_LIST,{date_},{practice},THE DENSHAM SURGERY,TS18 1HU,E38000247,{sub_icb},"
            f"NHS North East and North Cumbria ICB - 16C,E54000050,{icb},NHS North East and North Cumbria ICB,"
            f"E40000012,Y63,NORTH EAST AND YORKSHIRE,EMIS,{pcn},STOCKTON PCN")


def test_gp_practice_map_2022_layout(write):
    path = write("gp-reg-pat-prac-map.csv", [MAP_2022, map_row(), map_row("A81002", pcn="U"),
                                             map_row("A81004", date_="01-Oct-22")])
    result = read_file(path)
    assert result.format.id == "gp_practice_map"
    pairs = Counter((r["child_type"], r["parent_type"]) for r in result.table.to_pylist())
    assert pairs == {("practice", "sub_icb"): 3, ("practice", "pcn"): 2, ("pcn", "sub_icb"): 1,
                     ("sub_icb", "icb"): 1, ("icb", "region"): 1}
    assert set(result.table.column("valid_from").to_pylist()) == {date(2022, 10, 1)}
    orgs = as_dicts(result.tables["organisations"], "code", "type")
    assert orgs[("QHM", "icb")]["name"] == "NHS North East and North Cumbria ICB"


def test_gp_practice_map_bad_inputs(write, input_error):
    e = input_error(write("m.csv", [MAP_2022, map_row(), map_row("A81002", icb="QOP")]))
    assert (e.line, e.column) == (3, "ICB_CODE") and "line 2" in e.message
    e = input_error(write("m.csv", [MAP_2022, map_row(), map_row("A81002", date_="Oct 2022")]))
    assert (e.line, e.column) == (3, "EXTRACT_DATE")
    e = input_error(write("m.csv", [MAP_2022, map_row(), map_row()]))
    assert e.line == 3 and "duplicate" in e.message
    e = input_error(write("m.csv", [MAP_2022, map_row(sub_icb="")]))
    assert (e.line, e.column) == (2, "SUB_ICB_LOCATION_CODE")
    no_icb = MAP_2022.replace(",ICB_CODE", ",ICB_NUMBER")
    e = input_error(write("m.csv", [no_icb, map_row()]), "gp_practice_map")
    assert e.line == 1 and "missing column ICB_CODE (or STP_CODE)" in e.message


# --- lookups and trusts -------------------------------------------------------------------


def test_icb_region_lookup(shared_data):
    result = real(shared_data, "ods/icb_to_region_lookup_2025.csv")
    orgs = as_dicts(result.table, "code", "type")
    assert orgs[("QE1", "icb")]["name"] == "NHS LANCASHIRE AND SOUTH CUMBRIA INTEGRATED CARE BOARD"
    assert orgs[("Y62", "region")]["name"] == "North West"
    assert not any(code == "-" for code, _ in orgs)
    rels = as_dicts(result.tables["org_relations"], "child")
    assert rels["QE1"]["parent"] == "Y62" and rels["QKK"]["parent"] == "Y56"
    assert Counter(r["parent"] for r in rels.values()) == {"Y60": 11, "Y61": 6, "Y56": 5, "Y58": 7, "Y59": 6,
                                                           "Y62": 3, "Y63": 4}


def test_icb_region_lookup_bad_inputs(write, input_error):
    h = "icb_code,icb_name,icb_region"
    e = input_error(write("i.csv", [h, "QE1,NHS LSC ICB,North West", "QF7,NHS SY ICB,Yorkshire"]))
    assert (e.line, e.column) == (3, "icb_region") and "North East And Yorkshire" in e.message
    e = input_error(write("i.csv", [h, "QE1,NHS LSC ICB,North West", "QE1,NHS LSC ICB,North West"]))
    assert e.line == 3 and "duplicate" in e.message
    e = input_error(write("i.csv", [h, ",NHS LSC ICB,North West"]))
    assert (e.line, e.column) == (2, "icb_code")


def test_ons_lookups(shared_data):
    stp = real(shared_data, "ods/stp21_to_nhser21_lookup.csv")
    assert as_dicts(stp.table, "child")["QOP"]["parent"] == "Y62"
    ccg = real(shared_data, "ods/ccg21_to_stp21_lookup.csv")  # UTF-8 BOM before FID
    rels = as_dicts(ccg.table, "child")
    # dated by the lookup's year: April 2021 until CCGs ended, 30 June 2022
    assert rels["00T"] == {"child": "00T", "child_type": "sub_icb", "parent": "QOP", "parent_type": "icb",
                           "valid_from": date(2021, 4, 1), "valid_to": date(2022, 6, 30),
                           "source": "ons_ccg_stp_lookup 2021"}
    orgs = as_dicts(ccg.tables["organisations"], "code", "type")
    assert orgs[("01D", "sub_icb")]["name"] == "NHS Heywood, Middleton and Rochdale CCG"
    # every CCG's STP in the ONS lookup is the STP the ONS region lookup knows
    assert {r["parent"] for r in rels.values()} == set(as_dicts(stp.table, "child"))


def test_ons_lookup_bad_inputs(write, input_error):
    h = "STP21CD,STP21CDH,STP21NM,NHSER21CD,NHSER21CDH,NHSER21NM"
    ok = "E54000027,QRV,North West London,E40000003,Y56,London"
    e = input_error(write("s.csv", [h, ok, ok]))
    assert e.line == 3 and "duplicate" in e.message
    e = input_error(write("s.csv", [h, ok, ok.replace("QRV", "QMJ").replace(",Y56,", ",,")]))
    assert (e.line, e.column) == (3, "NHSER21CDH")
    with pytest.raises(InputError):  # an extra, unknown column: not the ONS lookup
        detect_format(write("s.csv", [h + ",registered_patients", ok + ",1"]))


def test_nhs_trusts(shared_data):
    result = real(shared_data, "ods/nhs_trusts_etr_tidy.csv")
    trusts = as_dicts(result.table, "code")
    assert trusts["R0A"] == {"code": "R0A", "type": "trust", "name": "Manchester University NHS Foundation Trust",
                             "postcode": "M13 9WL", "opened": date(2017, 10, 1), "closed": None, "status": None,
                             "setting": None, "source": "nhs_trusts"}
    assert trusts["RD3"]["closed"] == date(2020, 9, 30)
    rels = as_dicts(result.tables["org_relations"], "child", "parent_type")
    assert rels[("R0A", "icb")]["parent"] == "QOP" and rels[("R0A", "region")]["parent"] == "Y62"
    assert ("RQF", "region") not in rels  # Velindre: Welsh (W00, Q99)


def test_nhs_trusts_bad_inputs(write, input_error):
    e = input_error(write("t.csv", [TRUST_HEADER, TRUST_ROW, TRUST_ROW.replace("R0A", "R0B").replace("2017-10-01",
                                                                                                    "01/10/2017")]))
    assert (e.line, e.column) == (3, "open_date")
    e = input_error(write("t.csv", [TRUST_HEADER, TRUST_ROW, TRUST_ROW]))
    assert e.line == 3 and "duplicate" in e.message


TRUST_HEADER = ("ods_code,ods_name,region_code,stp_code,address_line_1,address_line_2,address_line_3,address_line_4,"
                "address_line_5,postcode,open_date,close_date,amended_record_indicator,gor_code")
TRUST_ROW = ("R0A,Manchester University NHS Foundation Trust,Y62,QOP,COBBETT HOUSE,OXFORD ROAD,NA,MANCHESTER,NA,"
             "M13 9WL,2017-10-01,NA,0,B")


def test_real_epraccur_first_line_is_data(shared_data):
    """The headerless file's first line is a practice, and is read as one (not lost as a header)."""
    with gzip.open(shared_data / "ods/epraccur_2026-02.csv.gz", "rt", newline="") as f:
        first = next(csv.reader(f))
    orgs = as_dicts(real(shared_data, "ods/epraccur_2026-02.csv.gz").table, "code", "type")
    assert first[0] == "A81001" and ("A81001", "practice") in orgs


def test_empty_and_non_utf8_files(tmp_path, write, input_error):
    empty = tmp_path / "epraccur.csv"
    empty.write_bytes(b"")
    assert input_error(empty).line == 1
    path = tmp_path / "icb.csv"
    path.write_bytes("icb_code,icb_name,icb_region\nQE1,NHS LSC ICB,North West\nQF7,NHS S\xd6 ICB,North East and "
                     "Yorkshire\n".encode("latin-1"))
    e = input_error(path)
    assert e.line == 3 and "UTF-8" in e.message
    e = input_error(write("icb.csv", ["icb_code,icb_name,icb_region"]))
    assert e.line == 2 and "no data rows" in e.message


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_outputs_have_unique_keys(shared_data, name):
    from uptake.schemas import dataset

    for ds, table in real(shared_data, name).tables.items():
        key = list(dataset(ds).key)
        counts = table.group_by(key).aggregate([([], "count_all")])
        assert counts.num_rows == table.num_rows, (ds, key)


def test_truncated_gzip_is_refused(tmp_path, write, input_error):
    full = write("epraccur.csv.gz", [epraccur_row(f"A8{i:04d}") for i in range(2000)], gz=True).read_bytes()
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(full[: len(full) // 2])
    e = input_error(cut)
    assert "truncated" in e.message and e.line and e.line < 2000
