"""The scanning helpers' fast paths: the UTF-8 check that skips ASCII blocks, and the checks made
on a file parsed straight into Arrow. Each bad input still names its line and column."""

from __future__ import annotations

import gzip
from datetime import date

import pytest

from uptake.errors import InputError
from uptake.sources import read_file
from uptake.sources.base import read_header
from uptake.sources.csvscan import find_invalid_utf8

from epd_files import EPD_HEADER, epd_row, good_epd_rows, write_epd


def _lines(n: int, bad_at: int | None = None, raw: bytes = b"\xe9") -> bytes:
    """A header and n rows of ASCII; row `bad_at` (1-based data row) holds `raw` in its 2nd field."""
    out = [b"A,B,C\n"]
    for i in range(1, n + 1):
        name = b"name" + (raw if i == bad_at else b"") + str(i).encode()
        out.append(b"%d,%s,x\n" % (i, name))
    return b"".join(out)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("chunk", [16, 64, 1 << 24])
def test_utf8_error_found_in_a_later_block_names_line_and_column(tmp_path, gz, chunk):
    path = tmp_path / "f.csv"
    data = _lines(300, bad_at=217)
    path.write_bytes(gzip.compress(data) if gz else data)
    err = find_invalid_utf8(read_header(path), chunk=chunk)
    assert err is not None and (err.line, err.column) == (218, "B")
    assert "not UTF-8" in err.message


@pytest.mark.parametrize("chunk", [7, 16, 64, 1 << 24])
def test_utf8_characters_split_between_blocks_are_accepted(tmp_path, chunk):
    path = tmp_path / "f.csv"
    path.write_bytes(b"A,B,C\n" + "".join(f"{i},CAFÉ ÅRHUS € {i},x\n" for i in range(200)).encode("utf-8"))
    assert find_invalid_utf8(read_header(path), chunk=chunk) is None


@pytest.mark.parametrize("chunk", [16, 1 << 24])
def test_utf8_valid_bytes_before_the_bad_one_on_the_same_line(tmp_path, chunk):
    # the first field with non-ASCII text is good UTF-8; the bad byte is in the third
    path = tmp_path / "f.csv"
    path.write_bytes(b"A,B,C\n1,ok,x\n2,caf\xc3\xa9,bad\xff\n")
    err = find_invalid_utf8(read_header(path), chunk=chunk)
    assert (err.line, err.column) == (3, "C")


def test_utf8_character_cut_off_at_the_end_of_the_file(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"A,B,C\n1,ok,x\n2,ok,caf\xc3")
    err = find_invalid_utf8(read_header(path), chunk=8)
    assert (err.line, err.column) == (3, "C")


def test_ascii_file_passes(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(_lines(1000))
    assert find_invalid_utf8(read_header(path), chunk=64) is None


def test_not_utf8_in_a_column_the_reader_does_not_keep(tmp_path):
    # ADDRESS_1 is not one of the EPD columns kept, so only the whole-file check sees it
    rows = good_epd_rows(practices=50)
    path = write_epd(tmp_path / "e.csv", rows)
    lines = path.read_bytes().split(b"\n")
    fields = lines[120].split(b",")
    fields[EPD_HEADER.index("ADDRESS_1")] = b"CAF\xc9 ROAD"
    lines[120] = b",".join(fields)
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(InputError) as info:
        read_file(path)
    assert (info.value.line, info.value.column) == (121, "ADDRESS_1")


# --- the EPD read straight into Arrow: checks still name the line -----------------------------


def _error(path) -> InputError:
    with pytest.raises(InputError) as info:
        read_file(path)
    return info.value


def test_practice_of_spaces_is_blank_though_codes_are_trimmed_as_parsed(tmp_path):
    rows = good_epd_rows()
    rows[6][8] = "   "
    err = _error(write_epd(tmp_path / "e.csv", rows))
    assert (err.line, err.column) == (8, "PRACTICE_CODE")
    assert "blank value" in err.message


def test_bnf_code_of_spaces_is_blank(tmp_path):
    rows = good_epd_rows()
    rows[10][16] = " "
    err = _error(write_epd(tmp_path / "e.csv", rows))
    assert (err.line, err.column) == (12, "BNF_CODE")


def test_codes_differing_only_by_surrounding_spaces_are_duplicates(tmp_path):
    rows = good_epd_rows()
    repeat = list(rows[2])
    repeat[8], repeat[16] = f" {repeat[8]} ", f"{repeat[16]}  "
    rows.append(repeat)
    err = _error(write_epd(tmp_path / "e.csv", rows))
    assert err.line == 14
    assert "duplicate row" in err.message and f"practice={rows[2][8]}" in err.message


def test_first_bad_month_is_named_with_its_own_value(tmp_path):
    rows = good_epd_rows()
    rows[3][0] = "Sept 2022"
    rows[8][0] = "2022/13"
    err = _error(write_epd(tmp_path / "e.csv", rows))
    assert (err.line, err.column) == (5, "YEAR_MONTH")
    assert err.message.startswith("'Sept 2022' is not a month")


def test_blank_month_is_refused(tmp_path):
    rows = good_epd_rows()
    rows[5][0] = ""
    err = _error(write_epd(tmp_path / "e.csv", rows))
    assert (err.line, err.column) == (7, "YEAR_MONTH")


def test_result_keeps_file_order_and_trims_codes(tmp_path):
    rows = [epd_row(month, f"A8100{p}", f"0208020Z0AAA{c}AA", "28", str(1 + c)) for month in ("2022-08", "202209")
            for p in (3, 1, 2) for c in (2, 0, 1)]
    rows[0][8] = " A81003 "
    t = read_file(write_epd(tmp_path / "e.csv", rows)).table
    assert t.column("practice").to_pylist() == [r[8].strip() for r in rows]
    assert t.column("bnf_code").to_pylist() == [r[16] for r in rows]
    assert t.column("month").to_pylist() == [date(2022, 8, 1)] * 9 + [date(2022, 9, 1)] * 9
    assert t.column("items").type == "int64" and t.column("items").to_pylist() == [int(r[20]) for r in rows]


def test_extract_quantity_per_item_from_total_and_items(tmp_path, write):
    path = write("x.csv", ["year_month,PRACTICE_CODE,bnf_code,ITEMS,total_quantity,NIC",
                           "201901,K82610,0404000W0AAABAB,2,60,620",
                           "201902,K82610,0404000W0AAABAB,0,0,0",
                           "201903,K82610,0404000W0AAABAB,3,0,NA"])
    result = read_file(path)
    t = result.table
    assert result.format.id == "epd_extract"
    assert t.column("quantity").to_pylist() == [30.0, 0.0, 0.0]
    assert t.column("items").to_pylist() == [2, 0, 3]
    assert t.column("nic").to_pylist() == [620.0, 0.0, None]
    assert t.column("actual_cost").null_count == 3


@pytest.mark.parametrize("column, index, value", [("ITEMS", 3, "NA"), ("total_quantity", 4, "")])
def test_missing_items_or_total_quantity_is_refused_with_its_line(write, input_error, column, index, value):
    rows = [["201901", "K82610", "0404000W0AAABAB", "2", "60", "620"] for _ in range(5)]
    for i, row in enumerate(rows):
        row[0] = f"2019{i + 1:02d}"
    rows[3][index] = value
    path = write("x.csv", ["year_month,PRACTICE_CODE,bnf_code,ITEMS,total_quantity,NIC", *rows])
    err = input_error(path)
    assert (err.line, err.column) == (5, column)
    assert err.message.startswith("blank value; expected the")


def test_missing_items_in_the_full_layout(tmp_path):
    rows = good_epd_rows()
    rows[9][20] = ""
    err = _error(write_epd(tmp_path / "e.csv", rows))
    assert (err.line, err.column) == (11, "ITEMS")
    assert err.message == "blank value; expected the number of items, a whole number"
