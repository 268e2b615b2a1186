"""Bad input made from the real files in ../shared/data: each problem is one line naming the file,
the line, the column and what was expected, never a traceback (issue 17.7, issue 24 items 5 and 12).

The files are small real-format copies of the first rows of a shared file, written into the
test's own directory with one change each.
"""

from __future__ import annotations

import csv
import gzip
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.compute as pc
import pytest

from uptake.errors import InputError
from uptake.sources import read_file
from uptake.sources.csvscan import MAX_WHOLE, this_month

EPD_2017 = "epd/openprescribing_e2e_EPD_201710_4practices.csv.gz"
DOAC = "epd/doacs_warfarin_subicb_monthly_201710_202209.csv.gz"
CCG_MEASURE = "epd/doac_vs_warfarin_measure_ccg_monthly_2015_2020.csv"
ISC = "innovation_scorecard"


def _rows(path: Path, n: int) -> list[list[str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        return [row for _, row in zip(range(n + 1), reader)]


def _write(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def _refused(path: Path, **kwargs) -> InputError:
    with pytest.raises(InputError) as info:
        read_file(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    return info.value


def _epd_with(shared_data: Path, tmp_path: Path, column: str, row: int, value: str) -> Path:
    rows = _rows(shared_data / EPD_2017, 6)
    rows[row][rows[0].index(column)] = value
    return _write(tmp_path / "epd.csv", rows)


@pytest.mark.parametrize(("column", "value"), [("ACTUAL_COST", "NaN"), ("NIC", "inf"), ("QUANTITY", "-Infinity"),
                                                ("TOTAL_QUANTITY", "1e400")])
def test_non_finite_numbers_are_refused_with_their_place(shared_data, tmp_path, column, value):
    path = _epd_with(shared_data, tmp_path, column, 3, value)
    e = _refused(path)
    assert (e.line, e.column) == (4, column)
    assert f"{value!r} is not a finite number; expected" in e.message


def test_a_future_month_is_refused(shared_data, tmp_path):
    rows = _rows(shared_data / EPD_2017, 6)
    rows[5][rows[0].index("YEAR_MONTH")] = "209912"
    e = _refused(_write(tmp_path / "epd.csv", rows))
    assert (e.line, e.column) == (6, "YEAR_MONTH")
    assert e.message == f"'209912' is a month in the future; expected a month up to {this_month():%Y-%m}, the current one"


def test_the_current_month_is_accepted(shared_data, tmp_path):
    rows = _rows(shared_data / EPD_2017, 3)
    for row in rows[1:]:
        row[rows[0].index("YEAR_MONTH")] = f"{this_month():%Y%m}"
    table = read_file(_write(tmp_path / "epd.csv", rows)).table
    assert set(table.column("month").to_pylist()) == {this_month()}


def test_a_whole_number_too_large_is_refused_not_a_traceback(shared_data, tmp_path):
    path = _epd_with(shared_data, tmp_path, "ITEMS", 2, "99999999999999999999999")
    e = _refused(path)
    assert (e.line, e.column) == (3, "ITEMS")
    assert e.message.startswith("'99999999999999999999999' is too large; expected the number of items")
    assert f"{MAX_WHOLE:,}" in e.message


def test_junk_after_a_complete_gzip_is_not_called_truncated(shared_data, tmp_path):
    path = tmp_path / "epd.csv.gz"
    shutil.copy(shared_data / EPD_2017, path)
    lines = sum(1 for _ in gzip.open(path, "rt"))
    with open(path, "ab") as f:
        f.write(b"<html>not found</html>\n")
    e = _refused(path)
    assert e.line == lines
    assert e.message.startswith("the compressed data is complete but followed by 23 bytes that are not gzip data")
    assert "truncated" not in e.message


def test_a_truncated_gzip_is_still_called_truncated(shared_data, tmp_path):
    path = tmp_path / "epd.csv.gz"
    path.write_bytes((shared_data / EPD_2017).read_bytes()[:4000])
    assert "ends early (truncated gzip)" in _refused(path).message


def test_an_r_written_csv_with_a_blank_named_row_index_reads_as_the_original(shared_data, tmp_path):
    """R's write.csv puts a row index first under a blank name ("") — DuckDB could not bind it."""
    rows = _rows(shared_data / DOAC, 300)
    plain = _write(tmp_path / "plain.csv", rows)
    r_style = tmp_path / "r_style.csv"
    with open(r_style, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, quoting=csv.QUOTE_NONNUMERIC)
        w.writerow(["", *rows[0]])
        for i, row in enumerate(rows[1:], start=1):
            w.writerow([str(i), *row])
    assert r_style.read_text().startswith('"","date"')
    got, want = read_file(r_style), read_file(plain)
    assert got.format.id == want.format.id == "prescribing_org"
    assert got.table.equals(want.table)
    assert got.table.num_rows == 300


def test_detection_names_the_closest_format_and_its_missing_column(shared_data, tmp_path):
    rows = _rows(shared_data / EPD_2017, 4)
    rows[0][rows[0].index("ITEMS")] = "NUMBER_OF_ITEMS"
    e = _refused(_write(tmp_path / "epd.csv", rows))
    assert e.line == 1
    assert "the closest known format is epd_2017" in e.message
    assert "which needs column ITEMS — rename it" in e.message


def test_a_forced_org_format_without_bnf_code_names_the_missing_columns(shared_data):
    """The CCG-level DOAC measure file (OpenPrescribing's measure layout) has no bnf_code."""
    path = shared_data / CCG_MEASURE
    e = _refused(path, format="prescribing_org")
    assert e.line == 1
    assert e.message.startswith("missing columns bnf_code, items (or quantity, total_quantity, y_quantity); "
                                "found month, pct_id, total_doac_items")


@pytest.mark.parametrize("name", ["isc_oct22_breast_cancer_meds_national_quarterly.csv",
                                  "isc_oct22_breast_cancer_meds_stp_quarterly.csv"])
def test_innovation_scorecard_files_point_to_uptake_official(shared_data, name):
    e = _refused(shared_data / ISC / name)
    assert e.line == 1
    assert "published NHS England Innovation Scorecard file" in e.message
    assert "`uptake official --published FILE`" in e.message


def test_the_scorecard_dosage_table_says_what_it_is(shared_data):
    e = _refused(shared_data / ISC / "bc_med_dosage_calculations.csv")
    assert "dosage-calculation table, not data for the warehouse" in e.message


def test_an_org_level_file_of_quantities_only_loads(shared_data, tmp_path):
    """The DOAC sub-ICB extract without its items column: quantities (and costs) as in the file,
    items unknown (never zero)."""
    rows = _rows(shared_data / DOAC, 2000)
    drop = rows[0].index("items")
    path = _write(tmp_path / "quantities.csv", [r[:drop] + r[drop + 1:] for r in rows])
    result = read_file(path)
    assert result.format.id == "prescribing_org"
    t = result.table
    want = pd.read_csv(path)
    assert t.num_rows == len(want) == 2000
    assert pc.sum(t.column("quantity")).as_py() == pytest.approx(want["quantity"].sum(), rel=1e-12)
    assert pc.sum(t.column("actual_cost")).as_py() == pytest.approx(want["actual_cost"].sum(), rel=1e-12)
    assert t.column("items").null_count == 2000


def test_an_epd_that_lost_its_items_is_not_taken_for_quantities_only(shared_data, tmp_path):
    rows = _rows(shared_data / EPD_2017, 4)
    drop = rows[0].index("ITEMS")
    e = _refused(_write(tmp_path / "epd.csv", [r[:drop] + r[drop + 1:] for r in rows]))
    assert "closest known format is epd_2017" in e.message and "ITEMS" in e.message
