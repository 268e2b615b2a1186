"""The NSPL postcode lookup reader on the 9 real postcode-area files, against pandas, and on bad
input."""

from __future__ import annotations

import pandas as pd
import pytest

from uptake.errors import InputError
from uptake.sources import read_file
from uptake.sources.nspl import normalise

NSPL = "geo/nspl_nov2021_9_postcode_areas"


def test_every_area_file_reads_every_postcode(shared_data):
    files = sorted((shared_data / NSPL).glob("NSPL_*.csv.gz"))
    assert len(files) == 9
    total = live = 0
    for path in files:
        table = read_file(path).table
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert table.num_rows == len(frame)
        assert table.column("postcode").to_pylist() == frame["pcds"].tolist()
        assert set(table.column("area").to_pylist()) == {path.name.split("_")[-1].split(".")[0]}
        located = frame[frame["lat"].astype(float) < 99]
        assert table.column("lat").null_count == len(frame) - len(located)
        total += len(frame)
        live += int((frame["doterm"] == "").sum())
        assert table.column("terminated").null_count == int((frame["doterm"] == "").sum())
    assert (total, live) == (73_182, 52_311)  # SOURCES.md


def test_a_postcode_keeps_its_coordinates_and_areas(shared_data):
    table = read_file(shared_data / NSPL / "NSPL_NOV_2021_UK_HG.csv.gz").table
    row = next(r for r in table.to_pylist() if r["postcode"] == "HG1 1AA")
    # the file's second line: "HG1 1AA", ..., "E38000241" (ccg), ..., 53.993657,-1.541446, ..., "E54000051" (stp)
    assert (row["lat"], row["lon"], row["ccg"], row["icb"], row["region"]) == (
        53.993657, -1.541446, "E38000241", "E54000051", "E40000009")
    assert row["terminated"] is None


@pytest.mark.parametrize("text, postcode", [("hg1 1aa", "HG1 1AA"), ("HG11AA", "HG1 1AA"), ("WC2N  5DU", "WC2N 5DU"),
                                            ("SW1A1AA", "SW1A 1AA"), ("12345", None), ("HG1", None), ("", None)])
def test_postcodes_are_normalised(text, postcode):
    assert normalise(text) == postcode


HEADER = "pcds,doterm,lat,long,ccg,stp,nhser,laua,lsoa11"


@pytest.mark.parametrize("line, column, expected", [
    ("HG1 1XX,,53.9,-1.5,E38000241,E54000051,E40000009,E07000165,E01027679", None, None),
    ("HGX 1AA,,53.9,-1.5,E38000241,E54000051,E40000009,E07000165,E01027679", "pcds", "expected e.g. 'HG1 1AA'"),
    ("HG1 1AB,,13.9,-1.5,E38000241,E54000051,E40000009,E07000165,E01027679", "lat", "outside the UK"),
    ("HG1 1AB,2021-05,53.9,-1.5,E38000241,E54000051,E40000009,E07000165,E01027679", "doterm", "YYYYMM"),
    ("HG1 1AB,,north,-1.5,E38000241,E54000051,E40000009,E07000165,E01027679", "lat", "a latitude"),
])
def test_bad_rows_are_refused_with_line_and_column(write, line, column, expected):
    path = write("nspl.csv", [HEADER, "HG1 1AA,,53.99,-1.54,E38000241,E54000051,E40000009,E07000165,E01027679", line])
    if column is None:
        assert read_file(path).table.num_rows == 2
        return
    with pytest.raises(InputError) as err:
        read_file(path)
    assert (err.value.line, err.value.column) == (3, column) and expected in str(err.value)


def test_a_repeated_postcode_is_refused(write):
    row = "HG1 1AA,,53.99,-1.54,E38000241,E54000051,E40000009,E07000165,E01027679"
    with pytest.raises(InputError, match="first on line 2"):
        read_file(write("nspl.csv", [HEADER, row, row]))
