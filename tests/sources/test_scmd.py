"""SCMD readers on the real reduced extracts and on the full NHSBSA layout."""

from __future__ import annotations

import csv
import gzip
from datetime import date

import pytest

from uptake.errors import InputError
from uptake.sources import read_file

FULL_HEADER = ["YEAR_MONTH", "ODS_CODE", "VMP_SNOMED_CODE", "VMP_PRODUCT_NAME", "UNIT_OF_MEASURE_IDENTIFIER",
               "UNIT_OF_MEASURE_NAME", "TOTAL_QUANITY_IN_VMP_UNIT", "INDICATIVE_COST"]


def test_reduced_layout_real_file(shared_data):
    path = shared_data / "scmd/scmd_narcolepsy_meds_trust_monthly_2019_2021.csv.gz"
    result = read_file(path)
    assert result.format.id == "scmd_reduced"
    t = result.table
    assert t.num_rows == 30_462
    with gzip.open(path, "rt", newline="") as f:
        total = sum(float(r["total_quantity"]) for r in csv.DictReader(f))
    assert sum(t.column("total_quantity").to_pylist()) == pytest.approx(total)
    # returns exceed issues in some months: negative quantities are real and kept
    assert min(t.column("total_quantity").to_pylist()) < 0


def test_reduced_layout_second_file(shared_data):
    t = read_file(shared_data / "scmd/scmd_tocilizumab_sarilumab_remdesivir_trust_monthly_2019_2020.csv.gz").table
    assert t.num_rows == 14_419
    assert t.slice(0, 1).to_pylist()[0] == {
        "month": date(2019, 1, 1), "trust": "R1F", "vmp_code": "16101911000001101",
        "vmp_name": "Tocilizumab 200mg/10ml solution for infusion vials", "unit": None,
        "total_quantity": 60.0, "indicative_cost": None}


def _write(path, rows, header=FULL_HEADER):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_full_layout(tmp_path):
    rows = [["202209", "RTH", "36036511000001108", "Trastuzumab 150mg powder", "3317411000001100", "vial", "12", "4590.5"],
            ["202209", "RTH", "36036511000001108", "Trastuzumab 150mg powder", "258684004", "mg", "1800", "0"]]
    result = read_file(_write(tmp_path / "scmd.csv", rows))
    assert result.format.id == "scmd"
    assert result.table.to_pylist()[0] == {
        "month": date(2022, 9, 1), "trust": "RTH", "vmp_code": "36036511000001108",
        "vmp_name": "Trastuzumab 150mg powder", "unit": "vial", "total_quantity": 12.0, "indicative_cost": 4590.5}


def test_full_layout_bad_cost(tmp_path):
    rows = [["202209", "RTH", "36036511000001108", "x", "1", "vial", "12", "£4590"]]
    with pytest.raises(InputError) as info:
        read_file(_write(tmp_path / "scmd.csv", rows))
    assert (info.value.line, info.value.column) == (2, "INDICATIVE_COST")


def test_duplicate_trust_vmp_unit(tmp_path):
    row = ["202209", "RTH", "36036511000001108", "x", "1", "vial", "12", "10"]
    with pytest.raises(InputError) as info:
        read_file(_write(tmp_path / "scmd.csv", [row, ["202209", "RTH", "999", "y", "1", "vial", "1", "1"], row]))
    assert "duplicate row" in info.value.message
