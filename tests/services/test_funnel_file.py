"""A funnel from a CSV file: the numbers it writes, and every kind of bad input refused with
the file, the line, the column and what was expected."""

from __future__ import annotations

import csv
import gzip
import io
import math
from pathlib import Path

import numpy as np
import pytest

from uptake.engine.stats.funnel import funnel
from uptake.errors import InputError
from uptake.services.funnel_file import OUTPUT_COLUMNS, funnel_from_csv, read_funnel_csv


@pytest.fixture
def write(tmp_path: Path):
    def _write(text: str, name: str = "areas.csv", gz: bool = False) -> Path:
        path = tmp_path / name
        data = text.encode("utf-8") if isinstance(text, str) else text
        path.write_bytes(gzip.compress(data) if gz else data)
        return path

    return _write


PROPORTIONS = "area,numerator,denominator\nA,5,20\nB,30,100\nC,50,120\nD,2,50\n"


def test_proportions_round_trip(write):
    table = funnel_from_csv(write(PROPORTIONS), "proportion", multiplier=100)
    assert table.areas == ("A", "B", "C", "D") and table.lines == (2, 3, 4, 5)
    assert table.result.target == pytest.approx(30.0)
    want = funnel("proportion", [5, 30, 50, 2], [20, 100, 120, 50], multiplier=100)
    assert np.array_equal(table.result.flag_95, want.flag_95)
    out = io.StringIO()
    table.write_csv(out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(rows[0]) == ["area", "numerator", "denominator", *OUTPUT_COLUMNS]
    assert [r["flag_95"] for r in rows] == ["not significant", "not significant", "high", "low"]
    assert [r["flag_998"] for r in rows] == ["not significant", "not significant", "not significant", "low"]
    # B: 30/100 = 30%, limits 30 ± 1.959964·√(0.21/100)·100 = 21.0183, 38.9817
    b = rows[1]
    assert (b["area"], float(b["numerator"]), float(b["denominator"])) == ("B", 30.0, 100.0)
    assert float(b["value"]) == pytest.approx(30.0) and float(b["target"]) == pytest.approx(30.0)
    assert float(b["lower_95"]) == pytest.approx(21.0183, abs=1e-4)
    assert float(b["upper_95"]) == pytest.approx(38.9817, abs=1e-4)
    for name in OUTPUT_COLUMNS:  # every number written in full precision
        if not name.startswith("flag") and name != "target":
            assert float(rows[2][name]) == pytest.approx(float(getattr(want, name)[2]), rel=1e-15)


def test_writes_to_a_path_and_blank_for_not_compared(write, tmp_path):
    table = funnel_from_csv(write("Area,Numerator,Denominator,extra\nX,0,0,a\nY,3,40,b\nZ,9,60,c\n"), "rate",
                            multiplier=1000)
    dest = tmp_path / "out.csv"
    table.write_csv(dest)
    rows = list(csv.DictReader(dest.open(encoding="utf-8")))
    assert rows[0]["flag_95"] == "not compared" and rows[0]["flag_95_od"] == "not compared"
    assert rows[0]["value"] == "" and rows[0]["lower_95"] == ""
    assert float(rows[1]["value"]) == pytest.approx(75.0)  # 3/40 per 1,000
    assert float(rows[1]["target"]) == pytest.approx(12 / 100 * 1000)


def test_ratio_file_uses_observed_and_expected(write):
    table = funnel_from_csv(write("area,observed,expected\nP,30,20\nQ,0,5\nR,8,10\nS,12,12\n"), "ratio")
    assert table.header[:3] == ("area", "observed", "expected")
    assert list(table.result.flag_95) == ["high", "low", "not significant", "not significant"]


def test_gzip_semicolons_and_bom(write):
    text = "\ufeffarea;numerator;denominator\nA;5;20\nB;30;100\n"
    areas, lines, o, d = read_funnel_csv(write(text, "a.csv.gz", gz=True), "proportion")
    assert areas == ["A", "B"] and list(o) == [5, 30] and list(d) == [20, 100]


def test_blank_lines_are_skipped_and_lines_still_counted(write):
    areas, lines, _, _ = read_funnel_csv(write("area,numerator,denominator\n\nA,1,2\n\nB,1,3\n"), "rate")
    assert areas == ["A", "B"] and lines == [3, 5]


def error(path: Path, kind: str = "proportion") -> InputError:
    with pytest.raises(InputError) as info:
        funnel_from_csv(path, kind)  # type: ignore[arg-type]
    assert info.value.path == str(path)
    return info.value


def test_missing_column(write):
    e = error(write("area,numerator,count\nA,1,2\n"))
    assert e.line == 1 and "missing column denominator" in e.message and "found area, numerator, count" in e.message
    e = error(write(PROPORTIONS), "ratio")  # the right columns for another kind
    assert e.line == 1 and "observed, expected" in e.message


def test_non_numeric_value(write):
    e = error(write("area,numerator,denominator\nA,5,20\nB,thirty,100\n"))
    assert (e.line, e.column) == (3, "numerator")
    assert "'thirty' is not a number" in e.message and "expected" in e.message
    assert str(e).startswith(f"{e.path}:3: column numerator:")


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_value(write, value):
    e = error(write(f"area,numerator,denominator\nA,5,{value}\n"))
    assert (e.line, e.column) == (2, "denominator") and "not a finite number" in e.message


def test_blank_value(write):
    e = error(write("area,numerator,denominator\nA,,20\n"))
    assert (e.line, e.column) == (2, "numerator") and "blank value" in e.message


def test_negative_value(write):
    e = error(write("area,observed,expected\nA,5,20\nB,3,-1\n"), "ratio")
    assert (e.line, e.column) == (3, "expected") and "'-1' is negative" in e.message
    assert "an expected count of zero or more" in e.message


def test_numerator_above_denominator_for_proportions_only(write):
    path = write("area,numerator,denominator\nA,5,20\nB,30,10\n")
    e = error(path)
    assert (e.line, e.column) == (3, "numerator")
    assert "numerator 30 is greater than denominator 10" in e.message
    assert funnel_from_csv(path, "rate").areas == ("A", "B")  # a rate may exceed 1
    e = error(write("area,numerator,denominator\nA,11,10\n", "b.csv"))  # just above
    assert (e.line, e.column) == (2, "numerator")
    assert funnel_from_csv(write("area,numerator,denominator\nA,10,10\n", "c.csv"), "proportion").areas == ("A",)


def test_empty_file(write):
    e = error(write(""))
    assert e.line == 1 and "empty" in e.message


def test_header_only(write):
    e = error(write("area,numerator,denominator\n"))
    assert e.line == 2 and "no data rows" in e.message


def test_duplicate_area(write):
    e = error(write("area,numerator,denominator\nA,5,20\nB,3,30\nA,6,20\n"))
    assert (e.line, e.column) == (4, "area")
    assert "duplicate area 'A' (first on line 2)" in e.message


def test_blank_area(write):
    e = error(write("area,numerator,denominator\n ,5,20\n"))
    assert (e.line, e.column) == (2, "area") and "blank value" in e.message


def test_wrong_number_of_fields(write):
    e = error(write("area,numerator,denominator\nA,5\n"))
    assert e.line == 2 and "too few fields (2); expected 3" in e.message
    e = error(write("area,numerator,denominator\nA,5,6,7\n"))
    assert e.line == 2 and "too many fields" in e.message


def test_not_utf8(write):
    e = error(write(b"area,numerator,denominator\nA,5,20\nB\xe9,3,30\n"))
    assert e.line == 3 and "UTF-8" in e.message


def test_repeated_header(write):
    e = error(write("area,numerator,denominator,Area\nA,5,20,x\n"))
    assert e.line == 1 and "repeated column" in e.message


def test_missing_file(tmp_path):
    e = error(tmp_path / "nope.csv")
    assert "no such file" in e.message


def test_unknown_kind(write):
    with pytest.raises(ValueError, match="kind"):
        funnel_from_csv(write(PROPORTIONS), "percent")  # type: ignore[arg-type]


def test_zero_denominator_is_allowed(write):
    table = funnel_from_csv(write("area,numerator,denominator\nA,0,0\nB,3,30\nC,5,30\n"), "proportion")
    assert table.result.flag_95[0] == "not compared"
    assert math.isclose(table.result.target, 8 / 60)
