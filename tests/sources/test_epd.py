"""EPD and organisation-level prescribing readers: real shared files and hand-made bad ones."""

from __future__ import annotations

import gzip
from datetime import date

import pytest

from uptake.errors import InputError
from uptake.sources import detect_format, read_file

from epd_files import EPD_HEADER, epd_row, good_epd_rows, write_epd


def test_2017_layout_real_extract(shared_data):
    path = shared_data / "epd/openprescribing_e2e_EPD_201709_4practices.csv.gz"
    result = read_file(path)
    t = result.table
    assert result.format.id == "epd_2017"
    assert t.num_rows == 10_027  # SOURCES.md
    assert set(t.column("month").to_pylist()) == {date(2017, 9, 1)}
    assert sorted(set(t.column("practice").to_pylist())) == ["B85010", "B85054", "L84018", "L84073"]
    first = t.slice(0, 1).to_pylist()[0]
    # The file's first data line: Octasa 800mg, 168 x 1 item, NIC 75.38, actual cost 69.93852
    assert first == {"month": date(2017, 9, 1), "practice": "L84073", "bnf_code": "0105010B0BIAAAS", "items": 1,
                     "quantity": 168.0, "total_quantity": 168.0, "nic": 75.38, "actual_cost": 69.93852}


def test_totals_match_an_independent_parse(shared_data):
    import csv

    path = shared_data / "epd/openprescribing_e2e_EPD_201710_4practices.csv.gz"
    with gzip.open(path, "rt", newline="") as f:
        rows = list(csv.DictReader(f))
    t = read_file(path).table
    assert t.num_rows == len(rows) == 10_223
    assert sum(t.column("items").to_pylist()) == sum(int(r["ITEMS"]) for r in rows)
    assert sum(t.column("actual_cost").to_pylist()) == pytest.approx(sum(float(r["ACTUAL_COST"]) for r in rows))


def test_current_layout_plain_and_gzip(tmp_path):
    rows = good_epd_rows()
    for name in ("epd.csv", "epd.csv.gz"):
        result = read_file(write_epd(tmp_path / name, rows))
        assert result.format.id == "epd"
        assert result.table.num_rows == 12
        assert sum(result.table.column("items").to_pylist()) == sum(int(r[20]) for r in rows)
        assert set(result.table.column("month").to_pylist()) == {date(2022, 9, 1)}


@pytest.mark.parametrize("written", ["202209", "2022_09", "2022-09", "2022-09-01", "01/09/2022"])
def test_month_formats_accepted(tmp_path, written):
    t = read_file(write_epd(tmp_path / "e.csv", [epd_row(month=written)])).table
    assert t.column("month").to_pylist() == [date(2022, 9, 1)]


def test_gzip_detected_by_content_not_name(tmp_path):
    path = write_epd(tmp_path / "epd.csv", good_epd_rows(), gz=True)
    assert read_file(path).table.num_rows == 12


def test_extract_layout_real_file(shared_data):
    result = read_file(shared_data / "epd/epd_pitolisant_sodium_oxybate_practice_monthly_2019_2022.csv.gz")
    assert result.format.id == "epd_extract"
    assert result.table.num_rows == 4_867
    first = result.table.slice(0, 1).to_pylist()[0]
    # first data line: K82610, pitolisant 4.5mg, 1 item, total quantity 60, NIC 620, 2019-01
    assert first["practice"] == "K82610" and first["bnf_code"] == "0404000W0AAABAB"
    assert (first["items"], first["total_quantity"], first["quantity"], first["nic"]) == (1, 60.0, 60.0, 620.0)
    assert first["actual_cost"] is None


def test_org_level_real_file(shared_data):
    result = read_file(shared_data / "epd/doacs_warfarin_subicb_monthly_201710_202209.csv.gz")
    t = result.table
    assert result.format.id == "prescribing_org"
    assert t.num_rows == 31_792
    assert set(t.column("org_type").to_pylist()) == {"sub_icb"}
    assert len(set(t.column("org_code").to_pylist())) == 106
    months = t.column("month").to_pylist()
    assert min(months) == date(2017, 10, 1) and max(months) == date(2022, 9, 1)
    row = t.slice(0, 1).to_pylist()[0]
    assert row == {"month": date(2017, 10, 1), "org_type": "sub_icb", "org_code": "00L", "bnf_code": "0208020Z0",
                   "items": 2205, "quantity": 95891.0, "actual_cost": 84369.07, "nic": None, "list_size": 324350}


# --- bad input: each names the file, the line and the column ------------------------------


def _error(path) -> InputError:
    with pytest.raises(InputError) as info:
        read_file(path)
    return info.value


def test_wrong_columns(tmp_path):
    header = [c for c in EPD_HEADER if c not in ("ITEMS", "NIC")]
    err = _error(write_epd(tmp_path / "e.csv", [], header=header))
    assert err.line == 1
    assert "unrecognised columns" in err.message


def test_forced_format_names_missing_columns(tmp_path):
    header = [c for c in EPD_HEADER if c != "ITEMS"]
    path = write_epd(tmp_path / "e.csv", [epd_row()[:20] + epd_row()[21:]], header=header)
    with pytest.raises(InputError) as info:
        read_file(path, format="epd")
    assert info.value.line == 1 and "missing column ITEMS" in info.value.message


def test_non_numeric_items(tmp_path):
    rows = good_epd_rows()
    rows[4][20] = "two"
    err = _error(write_epd(tmp_path / "e.csv", rows))
    assert (err.line, err.column) == (6, "ITEMS")
    assert "'two' is not a whole number" in err.message and "expected the number of items" in err.message
    assert str(err).startswith(f"{tmp_path / 'e.csv'}:6: column ITEMS:")


def test_negative_items(tmp_path):
    rows = good_epd_rows()
    rows[7][20] = "-3"
    err = _error(write_epd(tmp_path / "e.csv", rows))
    assert (err.line, err.column) == (9, "ITEMS")
    assert "negative" in err.message


def test_unknown_month_format(tmp_path):
    rows = good_epd_rows()
    rows[2][0] = "Sept 2022"
    err = _error(write_epd(tmp_path / "e.csv", rows))
    assert (err.line, err.column) == (4, "YEAR_MONTH")
    assert "'Sept 2022' is not a month" in err.message and "YYYYMM" in err.message


def test_month_thirteen_is_not_a_month(tmp_path):
    err = _error(write_epd(tmp_path / "e.csv", [epd_row(), epd_row(month="202213", practice="A81002")]))
    assert (err.line, err.column) == (3, "YEAR_MONTH")


def test_duplicate_rows(tmp_path):
    rows = good_epd_rows()
    rows.insert(9, list(rows[3]))
    err = _error(write_epd(tmp_path / "e.csv", rows))
    assert err.line == 11  # header, then rows 1..9, the repeat of row 4 is the 10th data row
    assert "duplicate row" in err.message and "A81000" in err.message


def test_blank_practice(tmp_path):
    rows = good_epd_rows()
    rows[1][8] = ""
    err = _error(write_epd(tmp_path / "e.csv", rows))
    assert (err.line, err.column) == (3, "PRACTICE_CODE")


def test_truncated_gzip(tmp_path):
    path = write_epd(tmp_path / "e.csv.gz", good_epd_rows(practices=400, codes=5))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    err = _error(path)
    assert "truncated gzip" in err.message
    assert err.line is not None and 1 < err.line < 2001


def test_wrong_encoding(tmp_path):
    path = tmp_path / "e.csv"
    write_epd(path, good_epd_rows())
    text = path.read_text(encoding="utf-8").replace("THE DENSHAM SURGERY", "CAFÉ SURGERY", 1)
    path.write_bytes(text.encode("latin-1"))
    err = _error(path)
    assert err.line == 2 and err.column == "PRACTICE_NAME"
    assert "not UTF-8" in err.message


def test_utf16_file(tmp_path):
    path = tmp_path / "e.csv"
    write_epd(path, good_epd_rows())
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    err = _error(path)
    assert err.line == 1 and "not UTF-8" in err.message


def test_empty_file(tmp_path):
    path = tmp_path / "e.csv"
    path.write_bytes(b"")
    err = _error(path)
    assert err.line == 1 and "empty" in err.message


def test_header_only(tmp_path):
    err = _error(write_epd(tmp_path / "e.csv", []))
    assert err.line == 2 and "no data rows" in err.message


def test_too_few_fields(tmp_path):
    rows = good_epd_rows()
    rows[5] = rows[5][:10]
    err = _error(write_epd(tmp_path / "e.csv", rows))
    assert (err.line, err.column) == (7, None)
    assert "too few fields (10); expected 26" in err.message


def test_detection_is_unambiguous_for_every_real_file(shared_data):
    for path in sorted(shared_data.rglob("*.csv*")):
        try:
            fmt, _ = detect_format(path)
        except InputError as exc:
            assert "several formats" not in exc.message, f"{path.name}: {exc}"


def test_fractional_items_are_refused_not_rounded(tmp_path):
    rows = good_epd_rows()
    rows[6][20] = "2.5"
    err = _error(write_epd(tmp_path / "e.csv", rows))
    assert (err.line, err.column) == (8, "ITEMS")
    assert "2.5 is not a whole number" in err.message


def test_one_reader_module_imported_first_does_not_hide_the_others():
    import subprocess
    import sys

    code = ("from uptake.sources.reference import resolve_code_changes\n"
            "from uptake.sources import formats\n"
            "assert {'epd', 'scmd', 'epraccur'} <= set(formats()), sorted(formats())\n")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
