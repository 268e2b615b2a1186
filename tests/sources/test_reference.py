"""Reference-data readers (NICE TA lists, BNF codes and code changes, dm+d DDDs): real shared
files and hand-made bad ones."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pyarrow as pa
import pytest

from uptake.errors import UptakeError
from uptake.sources import detect_format, read_file
from uptake.sources.base import formats, read_header
from uptake.sources.reference import resolve_code_changes

REAL = {
    "nice_ta/nice_ta_list_TA1_TA265_scraped_2012.csv": ("nice_ta_list_2012", 265),
    "nice_ta/nice_tas_breast_cancer_pembrolizumab_api_2022-12.csv": ("nice_ta_api", 34),
    "nice_ta/nice_ta_dates_breast_cancer_medicines.csv": ("nice_ta_dates", 12),
    "bnf_dmd/BNF_Code_Information_2020-02.csv.gz": ("bnf_code_information", 81_635),
    "bnf_dmd/bnf_code_changes_old_to_new.csv": ("bnf_code_changes", 2_996),
    "bnf_dmd/dmd_vmp_bnf_atc_ddd_week49_2021.csv": ("dmd_ddd", 14_894),
    "bnf_dmd/rheumatology_biologics_vmp_bnf_ddd_codelist.csv": ("dmd_ddd_codelist", 65),
}


def rows_by(table: pa.Table, key: str) -> dict:
    return {r[key]: r for r in table.to_pylist()}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_files_detected_as_exactly_one_format_and_counted(shared_data, name):
    fmt_id, rows = REAL[name]
    header = read_header(shared_data / name)
    assert [f.id for f in formats().values() if f.detect(header)] == [fmt_id]
    result = read_file(shared_data / name)
    assert result.format.id == fmt_id
    assert result.table.num_rows == rows  # SOURCES.md: every row kept
    assert set(result.table.column("source").to_pylist()) == {fmt_id}


# --- NICE lists ---------------------------------------------------------------------------


def test_nice_2012_list_titles_and_statuses(shared_data):
    t = read_file(shared_data / "nice_ta/nice_ta_list_TA1_TA265_scraped_2012.csv").table
    tas = rows_by(t, "ta")
    assert tas["TA4"]["status"] == "replaced" and tas["TA4"]["replaced_by"] == "TA71"
    assert tas["TA4"]["title"] == "Ischaemic heart disease - coronary artery stents"
    assert tas["TA4"]["published"] == date(2000, 5, 1)
    assert tas["TA71"]["status"] == "current" and tas["TA71"]["published"] == date(2003, 10, 1)
    assert tas["TA71"]["url"] == "http://guidance.nice.org.uk/TA71"
    # embedded CR/LF before '(TA265)' is gone
    assert tas["TA265"]["title"] == "Bone metastases from solid tumours - denosumab"
    assert tas["TA202"]["title"] == "Chronic lymphocytic leukaemia - ofatumumab"
    # replaced by a clinical guideline; partially updated stays current; terminated appraisals
    assert (tas["TA72"]["status"], tas["TA72"]["replaced_by"]) == ("replaced", "CG79")
    assert tas["TA70"]["status"] == "current"
    assert tas["TA149"]["status"] == "terminated"
    assert tas["TA150"]["status"] == "replaced" and tas["TA150"]["replaced_by"] == "TA242"
    # '(review)' inside a title is part of the title, not a marker
    assert tas["TA243"]["title"] == "Follicular lymphoma - rituximab (review)"
    statuses = Counter(t.column("status").to_pylist())
    # 38 '(replaced by TA..)' + 17 '(replaced by CG..)' + 1 by two CGs + 1 by PH..; 3 withdrawn only
    assert statuses["replaced"] == 24 + 13 + 9 + 8 + 1 + 1 + 1
    assert statuses["withdrawn"] == 3
    assert sum(statuses.values()) == 265
    assert not any("\n" in x or "(TA" in x for x in t.column("title").to_pylist())


def test_nice_api_and_dates(shared_data):
    api = rows_by(read_file(shared_data / "nice_ta/nice_tas_breast_cancer_pembrolizumab_api_2022-12.csv").table, "ta")
    assert api["TA563"]["published"] == date(2019, 2, 27) and api["TA563"]["modified"] == date(2022, 12, 5)
    assert api["TA810"]["title"].endswith("at high risk of recurrence")  # trailing space in the file trimmed
    dates = rows_by(read_file(shared_data / "nice_ta/nice_ta_dates_breast_cancer_medicines.csv").table, "ta")
    assert dates["TA458"]["title"] == "trastuzumab emtansine" and dates["TA458"]["published"] == date(2017, 11, 20)
    # The two files agree on all 12 TAs they share but one: for TA458 NICE's API gives 19 July 2017
    # (its publication) and the hand-kept dates file 20 Nov 2017. Kept as published, each under its source.
    differ = {ta for ta in set(api) & set(dates) if api[ta]["published"] != dates[ta]["published"]}
    assert len(set(api) & set(dates)) == 12 and differ == {"TA458"}
    assert api["TA458"]["published"] == date(2017, 7, 19)


NICE_2012_HEADER = "Date,link,Ref,rownumber,Title,Review"


def test_nice_2012_bad_inputs(write, input_error):
    ok = "2000-03,http://guidance.nice.org.uk/TA1,TA1,0,Wisdom teeth - removal (TA1),"
    no_title = write("n.csv", ["Date,link,Ref,rownumber,Review", ok.rsplit(",", 2)[0] + ","])
    assert input_error(no_title).line == 1  # not recognised as any format
    e = input_error(no_title, "nice_ta_list_2012")
    assert e.line == 1 and "missing column Title" in e.message
    e = input_error(write("n.csv", [NICE_2012_HEADER, ok, ok.replace("2000-03", "March 2000").replace("TA1", "TA2")]))
    assert (e.line, e.column) == (3, "Date") and "YYYY-MM" in e.message
    e = input_error(write("n.csv", [NICE_2012_HEADER, ok, ok]))
    assert e.line == 3 and "duplicate" in e.message
    e = input_error(write("n.csv", [NICE_2012_HEADER, ok.replace(",TA1,", ",,")]))
    assert (e.line, e.column) == (2, "Ref")
    e = input_error(write("n.csv", [NICE_2012_HEADER, ok.replace("(TA1)", "(TA1) (superseded)")]))
    assert (e.line, e.column) == (2, "Title") and "superseded" in e.message
    e = input_error(write("n.csv", [NICE_2012_HEADER, ok.replace("(TA1)", "(TA9)")]))
    assert (e.line, e.column) == (2, "Title")


def test_nice_api_bad_inputs(write, input_error):
    h = "guidance_no,title,pub_date,mod_date"
    e = input_error(write("a.csv", [h, "TA1,Title,2019-02-27,27/02/2019"]))
    assert (e.line, e.column) == (2, "mod_date") and "YYYY-MM-DD" in e.message
    e = input_error(write("a.csv", [h, "TA1,Title,2019-02-27,2019-02-27", "NG12,Title,2019-02-27,2019-02-27"]))
    assert (e.line, e.column) == (3, "guidance_no")
    e = input_error(write("a.csv", [h]))
    assert e.line == 2 and "no data rows" in e.message


def test_empty_file_is_refused(tmp_path, input_error):
    path = tmp_path / "nice.csv"
    path.write_bytes(b"")
    assert input_error(path).line == 1


# --- BNF ----------------------------------------------------------------------------------


def test_bnf_code_information(shared_data):
    t = read_file(shared_data / "bnf_dmd/BNF_Code_Information_2020-02.csv.gz").table
    atorva = t.filter(pa.compute.equal(t.column("presentation_code"), "0212000B0AAABAB")).to_pylist()
    assert atorva == [{"presentation_code": "0212000B0AAABAB", "presentation": "Atorvastatin_Tab 20mg",
                       "product_code": "0212000B0AA", "product": "Atorvastatin", "chemical_code": "0212000B0",
                       "chemical": "Atorvastatin", "paragraph_code": "021200", "paragraph": "Lipid-Regulating Drugs",
                       "section_code": "0212", "section": "Lipid-Regulating Drugs", "chapter_code": "02",
                       "chapter": "Cardiovascular System", "source": "bnf_code_information"}]
    assert Counter(len(c) for c in t.column("presentation_code").to_pylist()) == {15: 55_872, 11: 25_763}


BNF_HEADER = ("BNF Chapter,BNF Chapter Code,BNF Section,BNF Section Code,BNF Paragraph,BNF Paragraph Code,"
              "BNF Subparagraph,BNF Subparagraph Code,BNF Chemical Substance,BNF Chemical Substance Code,BNF Product,"
              "BNF Product Code,BNF Presentation,BNF Presentation Code")
BNF_ROW = ("Cardiovascular System,02,Lipid-Regulating Drugs,0212,Lipid-Regulating Drugs,021200,Lipid-Regulating Drugs,"
           "0212000,Atorvastatin,0212000B0,Atorvastatin,0212000B0AA,Atorvastatin_Tab 20mg,0212000B0AAABAB")


def test_bnf_code_information_bad_inputs(write, input_error):
    no_product = [BNF_HEADER.replace(",BNF Product Code", ""), BNF_ROW.replace(",0212000B0AA,", ",")]
    e = input_error(write("b.csv", no_product))
    assert e.line == 1 and "missing column product_code (or BNF Product Code, BNF_Product_Code)" in e.message
    e = input_error(write("b.csv", [BNF_HEADER, BNF_ROW, BNF_ROW]))
    assert e.line == 3 and "duplicate" in e.message
    e = input_error(write("b.csv", [BNF_HEADER, BNF_ROW, BNF_ROW.replace("0212000B0AAABAB", "")]))
    assert (e.line, e.column) == (3, "BNF Presentation Code")


def test_bnf_code_changes_chains(shared_data):
    t = read_file(shared_data / "bnf_dmd/bnf_code_changes_old_to_new.csv").table
    resolved = resolve_code_changes(t)
    assert len(resolved) == 2_996
    # 0904010T0BGAIAD → 0913261K0BCANAF → 0913451F0BBABAA (lines 1..2997 of the file)
    assert resolved["0904010T0BGAIAD"] == "0913451F0BBABAA"
    assert resolved["0913261K0BCANAF"] == "0913451F0BBABAA"
    assert resolved["0101010F0BDAAAU"] == "0101010F0BDABBE"
    assert not set(resolved.values()) & set(resolved)  # every chain followed to its end


def test_resolve_code_changes_refuses_loops():
    t = pa.table({"old_code": ["A", "B", "C"], "new_code": ["B", "C", "A"], "source": ["x"] * 3})
    with pytest.raises(UptakeError, match="loop"):
        resolve_code_changes(t)
    assert resolve_code_changes(pa.table({"old_code": ["A", "B"], "new_code": ["B", "C"], "source": ["x"] * 2})) == {
        "A": "C", "B": "C"}


def test_bnf_code_changes_bad_inputs(write, input_error):
    h = "old_code,new_code"
    e = input_error(write("c.csv", [h, "A,B", "B,C", "C,A"]))
    assert e.line == 4 and "loop" in e.message
    e = input_error(write("c.csv", [h, "A,A"]))
    assert (e.line, e.column) == (2, "new_code")
    e = input_error(write("c.csv", [h, "A,B", "A,C"]))
    assert e.line == 3 and "duplicate" in e.message
    e = input_error(write("c.csv", [h, "A,B", ",C"]))
    assert (e.line, e.column) == (3, "old_code")
    e = input_error(write("c.csv", [h, "A,B,C"]))
    assert e.line == 2 and "3 fields" in e.message


# --- dm+d → DDD ---------------------------------------------------------------------------


def test_dmd_ddd(shared_data):
    t = read_file(shared_data / "bnf_dmd/dmd_vmp_bnf_atc_ddd_week49_2021.csv").table
    vmp = rows_by(t, "vmp_code")
    assert vmp["40206411000001109"] == {"vmp_code": "40206411000001109", "bnf_code": None, "atc_code": "N03AX25",
                                        "ddd": 200.0, "ddd_unit": "258684004", "source": "dmd_ddd"}
    assert vmp["40329811000001103"]["bnf_code"] == "14040000" and vmp["40329811000001103"]["ddd"] is None
    assert t.column("ddd").null_count == 14_894 - 8_603


def test_dmd_codelist(shared_data):
    t = read_file(shared_data / "bnf_dmd/rheumatology_biologics_vmp_bnf_ddd_codelist.csv").table
    vmp = rows_by(t, "vmp_code")
    assert vmp["11762011000001101"]["ddd"] == 27.0 and vmp["11762011000001101"]["bnf_code"] == "1001030V0AAAAAA"
    assert vmp["400687000"]["ddd"] == 3.75
    assert vmp["38030511000001109"]["bnf_code"] is None and vmp["38030511000001109"]["ddd"] is None


def test_dmd_ddd_bad_inputs(write, input_error):
    h = '"VPID","BNF","ATC","DDD","DDD_UOMCD"'
    ok = '"40206411000001109","","N03AX25","200","258684004"'
    e = input_error(write("d.csv", [h, ok, ok.replace('"200"', '"two hundred"').replace("064", "065")]))
    assert (e.line, e.column) == (3, "DDD") and "two hundred" in e.message
    e = input_error(write("d.csv", [h, ok, ok.replace('"200"', '"-1"').replace("064", "065")]))
    assert (e.line, e.column) == (3, "DDD") and "negative" in e.message
    e = input_error(write("d.csv", [h, ok, ok]))
    assert e.line == 3 and "duplicate" in e.message
    e = input_error(write("d.csv", [h, ok.replace('"40206411000001109"', '""')]))
    assert (e.line, e.column) == (2, "VPID")


def test_dmd_codelist_bad_inputs(write, input_error):
    h = "type,id,bnf_code,nm,ingredient,ddd"
    ok = "vmp,400687000,1001030T0AAAAAA,Infliximab 100mg vials,Infliximab,3.75"
    e = input_error(write("l.csv", [h, ok.replace("vmp,", "amp,")]))
    assert (e.line, e.column) == (2, "type")
    e = input_error(write("l.csv", [h, ok, ok.replace("400687000", "400687001").replace("3.75", "lots")]))
    assert (e.line, e.column) == (3, "ddd")
    e = input_error(write("l.csv", [h, ok, ok.replace("3.75", "-3.75").replace("400687000", "1")]))
    assert (e.line, e.column) == (3, "ddd") and "negative" in e.message
    e = input_error(write("l.csv", [h, ok, ok]))
    assert e.line == 3 and "duplicate" in e.message


def test_hand_made_files_detected(write):
    assert detect_format(write("x.csv", ["old_code,new_code", "A,B"]))[0].id == "bnf_code_changes"
    assert detect_format(write("y.csv", ["medicine,ta_short,pub_date", "x,TA1,2020-01-01"]))[0].id == "nice_ta_dates"
