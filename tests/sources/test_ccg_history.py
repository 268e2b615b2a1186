"""The CCG history files (shared/data/ods/ccg_history, SOURCES.md §17): the ODS successor file and
ONS's yearly CCG lookups, read by their readers and checked against pandas on the same files."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from uptake.engine.hierarchy import successor_chains
from uptake.sources import detect_format, read_file

HISTORY = "ods/ccg_history"
# ONS CCG names files by year; with the CCG → STP lookups they give every CCG code of 2015-2021
NAMES = {2015: "ons_LSOA11_CCG15_LAD15_Jul2015.csv.gz", 2017: "ons_CCG17_names_codes_Apr2017_v3.csv",
         2018: "ons_LSOA11_CCG18_LAD18_Apr2018.csv.gz", 2019: "ons_CCG19_names_codes_Apr2019.csv",
         2020: "ons_CCG20_names_codes_Apr2020.csv", 2021: "ons_CCG21_names_codes_Apr2021.csv"}


@pytest.fixture(scope="module")
def succ(shared_data):
    return read_file(shared_data / HISTORY / "succ_2026.csv.gz")


def _ccg_codes(shared_data) -> set[str]:
    codes: set[str] = set()
    for year, name in NAMES.items():
        df = pd.read_csv(shared_data / HISTORY / name, dtype=str, encoding="utf-8-sig")
        codes |= set(df[f"CCG{year % 100}CDH"])
    return codes


def test_successor_file_as_pandas_reads_it(shared_data, succ):
    assert succ.format.id == "ods_successors"
    raw = pd.read_csv(shared_data / HISTORY / "succ_2026.csv.gz", header=None, dtype=str, keep_default_na=False)
    t = succ.table.to_pandas()
    assert len(t) == len(raw) == 11_537  # SOURCES.md says 11,536: the file holds 11,537 lines, no header
    assert list(t.old) == list(raw[0]) and list(t.new) == list(raw[1])
    assert list(t.effective) == [date(int(d[:4]), int(d[4:6]), int(d[6:])) for d in raw[3]]
    # the CCG mergers, by year, as SOURCES.md counts them: 142 in 2015-2021 into a CCG of the ONS
    # lookups (the three of April 2015, 00F/00G/00H → 13T, predate the July 2015 lookup), no splits
    ccgs = _ccg_codes(shared_data)
    mergers = raw[raw[1].isin(ccgs) & raw[3].between("20150101", "20211231")]
    assert len(mergers) == 142
    assert mergers[3].str[:4].value_counts().to_dict() == {"2015": 3, "2017": 3, "2018": 18, "2019": 6,
                                                             "2020": 74, "2021": 38}
    assert not mergers[0].duplicated().any()


def test_successor_chains_follow_the_dated_steps(succ):
    chains = successor_chains(succ.table).to_pandas()
    got = {(r.old, r.new): r.effective for r in chains.itertuples()}
    # Bracknell and Ascot (10G) → Berkshire East (15D) in April 2018 → Frimley (D4U1Y) in April 2021
    assert got[("10G", "15D")] == date(2018, 4, 1) and got[("10G", "D4U1Y")] == date(2021, 4, 1)
    assert got[("15D", "D4U1Y")] == date(2021, 4, 1)
    assert not any(old == "02Q" for old, _ in got)  # Bassetlaw was never succeeded: it moved ICB


def test_successor_file_bad_inputs(write, input_error):
    ok = '"10G","15D","","20180401","1"'
    e = input_error(write("succ.csv", [ok, '"15D","15D","","20210401","0"']))
    assert (e.line, e.column) == (2, "new code (field 2)") and "itself" in e.message
    e = input_error(write("succ.csv", [ok, '"15D","D4U1Y","","2021-04-01","0"']), "ods_successors")
    assert (e.line, e.column) == (2, "effective date (field 4)") and "YYYYMMDD" in e.message
    e = input_error(write("succ.csv", [ok, ok]))
    assert e.line == 2 and "duplicate" in e.message


def test_yearly_ccg_names(shared_data):
    counts = {}
    for year, name in NAMES.items():
        got = read_file(shared_data / HISTORY / name)
        assert got.format.id == "ons_ccg_names"
        t = got.table.to_pandas()
        assert set(t.source) == {f"ons_ccg_names {year}"} and set(t.type) == {"sub_icb"}
        raw = pd.read_csv(shared_data / HISTORY / name, dtype=str, encoding="utf-8-sig")
        want = raw.drop_duplicates(f"CCG{year % 100}CDH").set_index(f"CCG{year % 100}CDH")[f"CCG{year % 100}NM"]
        assert t.set_index("code").name.sort_index().equals(want.sort_index().rename("name").rename_axis("code"))
        counts[year] = len(t)
    assert counts == {2015: 209, 2017: 207, 2018: 195, 2019: 191, 2020: 135, 2021: 106}  # SOURCES.md §17


def test_ccg_stp_lookups_are_dated_by_their_year(shared_data):
    got = read_file(shared_data / HISTORY / "ons_CCG20_STP20_Apr2020.csv")
    assert got.format.id == "ons_ccg_stp_lookup"
    rels = got.table.to_pandas().set_index("child")
    assert rels.loc["02Q"].to_dict() == {"child_type": "sub_icb", "parent": "QF7", "parent_type": "icb",
                                         "valid_from": date(2020, 4, 1), "valid_to": date(2021, 3, 31),
                                         "source": "ons_ccg_stp_lookup 2020"}
    raw = pd.read_csv(shared_data / HISTORY / "ons_CCG20_STP20_Apr2020.csv", dtype=str)
    assert rels.parent.to_dict() == dict(zip(raw.CCG20CDH, raw.STP20CDH))


def test_files_without_ods_codes_are_refused_plainly(shared_data, write, input_error):
    # CCG → NHS England region and local office, 2017: GSS codes only, nothing to join on
    with pytest.raises(Exception, match="unrecognised columns"):
        detect_format(shared_data / HISTORY / "ons_CCG17_NHSRLO17_NHSER17_Apr2017_v3.csv")
    e = input_error(write("n.csv", ["CCG19CD,CCG19CDH,CCG19NM", "E38000001,02N,NHS Airedale",
                                    "E38000001,02N,NHS Bradford"]))
    assert (e.line, e.column) == (3, "CCG19NM") and "one name per CCG" in e.message


def test_an_organisation_file_keyed_by_2021_ccg_codes_is_read_as_sub_icbs(shared_data, write):
    """The 106 CCGs of 2021 (nine with five-character codes: D4U1Y, M1J4Y, ...) are sub-ICB
    locations, with no org_type or GSS column to say so."""
    codes = pd.read_csv(shared_data / HISTORY / NAMES[2021], dtype=str, encoding="utf-8-sig").CCG21CDH
    assert sum(len(c) == 5 for c in codes) == 9
    path = write("by_ccg21.csv", ["date,row_id,bnf_code,items"] + [f"2021-06-01,{c},0208020Z0,1" for c in codes])
    t = read_file(path).table.to_pandas()
    assert set(t.org_type) == {"sub_icb"} and sorted(t.org_code) == sorted(codes)
