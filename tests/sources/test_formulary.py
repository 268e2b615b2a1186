"""Formulary decision files: detection, reading, and every kind of bad row reported together."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from pathlib import Path

import pytest

from uptake.errors import InputError
from uptake.sources.formulary import (
    COLUMNS,
    DECISIONS,
    MAX_PROBLEMS,
    DecisionRow,
    FormularyDecisionsError,
    is_formulary_file,
    normalise_ta,
    read_formulary_decisions,
    write_formulary_decisions,
)

HEADER = ",".join(COLUMNS)
NAME = "North East and North Cumbria formulary (synthetic)"
GOOD = [
    HEADER,
    f"SYN-QHM,{NAME},QHM,TA275,included,2013-04-02,,,APC minutes 2013-04 item 4,Formulary pharmacist",
    (f"SYN-QHM,{NAME},QHM,ta 733,included_with_restrictions,2021-10-20,Amber: specialist initiation,,"
     "https://formulary.example.org/ta733,"),
    f"SYN-QHM,{NAME},QHM,458,not_applicable,2017-08-01,,Hospital only; commissioned by NHS England,,",
    ('SYN-QNQ-QXU,Frimley and Surrey Heartlands joint formulary,"qxu; QNQ",TA275,rejected,2013-05-01,,'
     "Deferred: local pathway not yet agreed,,"),
    "SYN-QNQ-QXU,Frimley and Surrey Heartlands joint formulary,QNQ;QXU,TA275,Included,2013-09-01,,,,",
]


def _problems(path: Path, known_tas=None) -> FormularyDecisionsError:
    with pytest.raises(FormularyDecisionsError) as info:
        read_formulary_decisions(path, known_tas)
    return info.value


def _where(err: FormularyDecisionsError) -> list[tuple[int, str | None]]:
    return [(p.line, p.column) for p in err.problems]


# --- detection ----------------------------------------------------------------------------------

def test_detected_by_header_plain_gzip_bom_any_case_and_order(write, tmp_path):
    assert is_formulary_file(write("f.csv", GOOD))
    assert is_formulary_file(write("f.csv.gz", GOOD, gz=True))
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + "\n".join(GOOD).encode())
    assert is_formulary_file(bom)
    assert is_formulary_file(write("upper.csv", ["Decision_Date,TA,FORMULARY,Decision", "2021-01-01,TA1,X,included"]))


def test_not_detected_for_other_files(write, tmp_path):
    assert not is_formulary_file(write("epd.csv", ["YEAR_MONTH,PRACTICE_CODE,BNF_CODE,ITEMS", "202209,A81001,x,1"]))
    assert not is_formulary_file(write("near.csv", ["formulary,ta,decision", "X,TA1,included"]))
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert not is_formulary_file(empty)
    assert not is_formulary_file(tmp_path / "missing.csv")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("formulary,ta,decision,decision_date,caf\xe9\n".encode("latin-1"))
    assert not is_formulary_file(latin)


# --- a good file --------------------------------------------------------------------------------

def test_reads_a_good_file(write):
    rows = read_formulary_decisions(write("f.csv", GOOD))
    assert [r.line for r in rows] == [2, 3, 4, 5, 6]
    first = rows[0]
    assert first == DecisionRow(2, "SYN-QHM", NAME, ("QHM",), "TA275", "included", dt.date(2013, 4, 2), "", "",
                                "APC minutes 2013-04 item 4", "Formulary pharmacist")
    assert [r.ta for r in rows] == ["TA275", "TA733", "TA458", "TA275", "TA275"]
    assert [r.decision for r in rows] == ["included", "included_with_restrictions", "not_applicable", "rejected",
                                          "included"]
    assert rows[1].restrictions == "Amber: specialist initiation"
    assert rows[2].reason == "Hospital only; commissioned by NHS England"
    # The ICB list is upper-cased, sorted and the same whichever way it was written.
    assert rows[3].icbs == rows[4].icbs == ("QNQ", "QXU")
    assert {r.decision for r in rows} <= set(DECISIONS)


def test_gzip_bom_reordered_and_optional_columns_give_the_same_rows(write, tmp_path):
    plain = read_formulary_decisions(write("f.csv", GOOD))
    assert read_formulary_decisions(write("f.csv.gz", GOOD, gz=True)) == plain
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(GOOD).encode() + b"\r\n")
    assert read_formulary_decisions(bom) == plain
    # Columns in another order, upper case, plus one the reader does not know.
    order = [9, 3, 0, 5, 4, 1, 2, 6, 7, 8]
    text = io.StringIO()
    w = csv.writer(text, lineterminator="\n")
    for n, fields in enumerate(csv.reader(GOOD)):
        w.writerow([fields[i].upper() if n == 0 else fields[i] for i in order] + ["NOTES" if n == 0 else "x"])
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text(text.getvalue())
    assert read_formulary_decisions(shuffled) == plain
    # Optional columns may be left out: they read as empty.
    minimal = write("minimal.csv", ["formulary,formulary_name,icbs,ta,decision,decision_date",
                                    f"SYN-QHM,{NAME},QHM,TA275,included,2013-04-02"])
    (row,) = read_formulary_decisions(minimal)
    assert (row.restrictions, row.reason, row.evidence, row.recorded_by) == ("", "", "", "")


def test_blank_lines_are_skipped_and_line_numbers_kept(write):
    rows = read_formulary_decisions(write("f.csv", [GOOD[0], GOOD[1], "", GOOD[2]]))
    assert [r.line for r in rows] == [2, 4]


def test_ta_forms(write):
    assert [normalise_ta(x) for x in ("TA275", "ta275", "TA 275", "TA-275", "TA0275", "275", " 275 ")] == \
        ["TA275"] * 7
    assert [normalise_ta(x) for x in ("TA", "T275", "TA27a", "0", "")] == [None] * 5


def test_round_trip_through_the_writer(write, tmp_path):
    rows = read_formulary_decisions(write("f.csv", GOOD))
    out = tmp_path / "out.csv"
    assert write_formulary_decisions(out, rows) == len(rows)
    assert read_formulary_decisions(out) == rows


def test_known_tas(write):
    path = write("f.csv", GOOD)
    assert len(read_formulary_decisions(path, known_tas=["TA275", "TA733", "458"])) == 5
    err = _problems(path, known_tas={"TA275", "TA458"})
    assert _where(err) == [(3, "ta")]
    assert "'ta 733' is not in the catalogue" in str(err.problems[0])


# --- problems with the file as a whole ----------------------------------------------------------

def test_missing_columns_named_in_one_error(write):
    with pytest.raises(InputError) as info:
        read_formulary_decisions(write("f.csv", ["formulary,ta,decision,decision_date", "X,TA1,included,2021-01-01"]))
    err = info.value
    assert err.line == 1 and "missing columns formulary_name, icbs" in str(err)
    assert "found: formulary, ta, decision, decision_date" in str(err)


def test_a_column_named_twice(write):
    with pytest.raises(InputError, match="named twice"):
        read_formulary_decisions(write("f.csv", [HEADER + ",TA", GOOD[1] + ",TA1"]))


def test_empty_and_header_only_files(write, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty") as info:
        read_formulary_decisions(empty)
    assert info.value.line == 1
    with pytest.raises(InputError, match="no decision rows") as info:
        read_formulary_decisions(write("header.csv", [HEADER, ""]))
    assert info.value.line == 2 and not isinstance(info.value, FormularyDecisionsError)


def test_not_utf8_and_truncated_gzip(write, tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes(("\n".join(GOOD[:3]) + "\nSYN-QHM,Caf\xe9,QHM,TA1,included,2021-01-01,,,,\n").encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8") as info:
        read_formulary_decisions(latin)
    assert info.value.line == 4
    data = gzip.compress(("\n".join(GOOD * 200)).encode())
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated gzip"):
        read_formulary_decisions(cut)


# --- every kind of bad row ----------------------------------------------------------------------

@pytest.mark.parametrize(("line", "column", "expected"), [
    ("SYN-QHM,,QHM,TA275,included,2021-01-01,,,,", "formulary_name", "blank; expected the formulary's name"),
    (",x,QHM,TA275,included,2021-01-01,,,,", "formulary", "blank; expected the formulary's code"),
    ("SYN QHM!,x,QHM,TA275,included,2021-01-01,,,,", "formulary", "expected a formulary code of 1-40"),
    ("SYN-QHM,x,,TA275,included,2021-01-01,,,,", "icbs", "blank; expected the ODS codes"),
    ("SYN-QHM,x,00L,TA275,included,2021-01-01,,,,", "icbs", "'00L' is not an ICB code; expected ICB ODS codes"),
    ("SYN-QHM,x,QHM;E54000050,TA275,included,2021-01-01,,,,", "icbs", "'E54000050' is not an ICB code"),
    ("SYN-QHM,x,;,TA275,included,2021-01-01,,,,", "icbs", "expected at least one ICB ODS code"),
    ("SYN-QHM,x,QHM,,included,2021-01-01,,,,", "ta", "blank; expected the NICE TA"),
    ("SYN-QHM,x,QHM,apixaban,included,2021-01-01,,,,", "ta", "'apixaban'; expected a NICE technology appraisal"),
    ("SYN-QHM,x,QHM,TA275,,2021-01-01,,,,", "decision", "blank; expected the decision"),
    ("SYN-QHM,x,QHM,TA275,includd,2021-01-01,,,,", "decision",
     "'includd'; expected one of included, included_with_restrictions, not_applicable, rejected"),
    ("SYN-QHM,x,QHM,TA275,included,,,,,", "decision_date", "blank; expected the date of the decision (YYYY-MM-DD)"),
    ("SYN-QHM,x,QHM,TA275,included,01/04/2021,,,,", "decision_date",
     "'01/04/2021'; expected a date written YYYY-MM-DD"),
    ("SYN-QHM,x,QHM,TA275,included,2021-04,,,,", "decision_date", "expected a date written YYYY-MM-DD"),
    ("SYN-QHM,x,QHM,TA275,included,2021-02-30,,,,", "decision_date", "'2021-02-30' is not a date in the calendar"),
    ("SYN-QHM,x,QHM,TA275,included_with_restrictions,2021-01-01,,,,", "restrictions",
     "blank; expected the restrictions"),
    ("SYN-QHM,x,QHM,TA275,not_applicable,2021-01-01,,,,", "reason",
     "blank; expected the reason for a decision of not_applicable"),
    ("SYN-QHM,x,QHM,TA275,rejected,2021-01-01,,  ,,", "reason", "expected the reason for a decision of rejected"),
    ("SYN-QHM,x,QHM,TA275,included,2021-01-01,,,", None, "9 fields; expected 10, one per header column"),
    ("SYN-QHM,x,QHM,TA275,included,2021-01-01,,,,,", None, "11 fields; expected 10"),
])
def test_each_kind_of_bad_value_names_line_and_column(write, line, column, expected):
    err = _problems(write("formulary.csv", [HEADER, GOOD[1].replace(NAME, "x"), line]))
    assert _where(err) == [(3, column)]
    assert expected in err.problems[0].message
    assert isinstance(err, InputError) and (err.line, err.column) == (3, column)
    text = str(err).splitlines()
    assert text[0].endswith("formulary.csv: 1 row is bad (1 problem); nothing was read")
    assert text[1].startswith(f"{err.path}:3:" + (f" column {column}:" if column else ""))


def test_the_message_has_the_documented_shape(write):
    err = _problems(write("formulary.csv", [HEADER, *[GOOD[1]] * 5, GOOD[1].replace("included", "includd")
                                            .replace("2013-04-02", "2013-04-07")]))
    line = next(p for p in str(err).splitlines() if ":7:" in p)
    assert line == (f"{err.path}:7: column decision: 'includd'; expected one of included, included_with_restrictions, "
                    "not_applicable, rejected")


def test_a_formulary_keeps_one_name_and_one_icb_list(write):
    err = _problems(write("f.csv", [
        HEADER,
        GOOD[1],
        GOOD[2].replace(NAME, "NENC formulary"),
        GOOD[3].replace(",QHM,", ",QHM;QE1,"),
    ]))
    assert _where(err) == [(3, "formulary_name"), (4, "icbs")]
    assert "'NENC formulary' differs from" in err.problems[0].message and "on line 2" in err.problems[0].message
    assert "'QE1;QHM' differs from 'QHM' on line 2" in err.problems[1].message


def test_the_same_formulary_ta_and_date_twice(write):
    again = GOOD[1].replace("included,", "rejected,").replace(",,,APC", ",,why,APC")
    err = _problems(write("f.csv", [HEADER, GOOD[1], GOOD[2], again.replace("TA275", "275")]))
    assert _where(err) == [(4, "decision_date")]
    assert "duplicate of line 2" in err.problems[0].message
    # Another date for the same formulary and TA is history, not a duplicate.
    later = again.replace("2013-04-02", "2013-05-02")
    assert len(read_formulary_decisions(write("g.csv", [HEADER, GOOD[1], later]))) == 2


def test_several_problems_reported_together_and_nothing_returned(write):
    err = _problems(write("f.csv", [
        HEADER,
        GOOD[1],
        "SYN-QHM,x,QHM,TA275,includd,2021-13-01,,,,",  # its name differs too, but a bad row is not compared
        GOOD[2],
        "SYN-QHM,,QHM,TA1,rejected,2021-01-01,,,,",
        GOOD[1],  # duplicate of line 2
    ]), known_tas=["TA275", "TA733"])
    assert _where(err) == [(3, "decision"), (3, "decision_date"), (5, "formulary_name"), (5, "ta"), (5, "reason"),
                           (6, "decision_date")]
    assert (err.bad_rows, err.total) == (3, 6)
    lines = str(err).splitlines()
    assert lines[0] == f"{err.path}: 3 rows are bad (6 problems); nothing was read"
    assert len(lines) == 7


def test_problems_are_capped(write):
    bad = "SYN-QHM,x,QHM,TA275,includd,2021-01-01,,,,"
    rows = [bad.replace("2021-01-01", f"2021-01-{d:02d}") for d in range(1, 29)] * 3
    err = _problems(write("f.csv", [HEADER, *rows]))
    assert err.total == 84 and err.bad_rows == 84 and len(err.problems) == MAX_PROBLEMS
    assert "84 rows are bad (84 problems; the first 50 are listed)" in str(err).splitlines()[0]
    assert len(str(err).splitlines()) == MAX_PROBLEMS + 1
