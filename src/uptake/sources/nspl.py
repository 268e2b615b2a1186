"""Reader for the ONS National Statistics Postcode Lookup (NSPL): every UK postcode with its
coordinates (latitude and longitude of the postcode's centre), when it was retired, and the areas
it lies in (CCG/sub-ICB, STP/ICB, NHS region, local authority, LSOA), as ONS codes.

The full lookup is one CSV of 2.7 million rows, or one CSV per postcode area (e.g.
NSPL_NOV_2021_UK_HG.csv); each postcode area is its own partition, so the area files load one by
one and a newer file for an area replaces only that area. Postcodes without a grid reference
(NSPL writes latitude 99.999999) have no coordinates.
"""

from __future__ import annotations

import re

from ..errors import InputError
from .base import Header, register
from .reference import column_for, parse_date, parse_number, read_small, rows_to_table

POSTCODE_RE = re.compile(r"^([A-Z]{1,2})[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")
NO_GRID = 99.0  # NSPL's latitude for a postcode without a grid reference is 99.999999
COLUMNS = ("pcds", "doterm", "lat", "long", "ccg", "stp", "nhser", "laua", "lsoa11")


def normalise(text: str) -> str | None:
    """'hg1 1aa', 'HG11AA' → 'HG1 1AA' (the outward code, one space, the inward code); None when
    the text is not shaped like a UK postcode."""
    compact = re.sub(r"\s+", "", text or "").upper()
    if not 5 <= len(compact) <= 7:
        return None
    spaced = f"{compact[:-3]} {compact[-3:]}"
    return spaced if POSTCODE_RE.match(spaced) else None


def area_of(postcode: str) -> str:
    """The postcode area: the leading letters ('HG' of 'HG1 1AA')."""
    return re.match(r"[A-Z]+", postcode).group(0)  # type: ignore[union-attr]


def _is_nspl(header: Header) -> bool:
    return header.has(*COLUMNS)


@register("nspl", "postcodes", "ONS National Statistics Postcode Lookup (NSPL) CSV, whole or one postcode area",
          _is_nspl)
def read_nspl(header: Header) -> object:
    small = read_small(header)
    col = column_for(small, header, COLUMNS)
    rows, seen = [], {}
    for line, row in small.rows:
        raw = row[col["pcds"]]
        postcode = normalise(raw)
        if postcode is None:
            raise InputError(small.path, f"{raw!r} is not a postcode; expected e.g. 'HG1 1AA'", line=line,
                             column="pcds")
        if postcode in seen:
            raise InputError(small.path, f"postcode {postcode} again (first on line {seen[postcode]}); expected "
                             "each postcode once", line=line, column="pcds")
        seen[postcode] = line
        lat = parse_number(small.path, line, "lat", row[col["lat"]], what="a latitude")
        lon = parse_number(small.path, line, "long", row[col["long"]], what="a longitude", negative_ok=True)
        if lat is not None and lat < NO_GRID and not (49 <= lat <= 61 and -9 <= (lon or 0) <= 2.5):
            raise InputError(small.path, f"{lat}, {lon} is outside the UK; expected a latitude of 49-61 and a "
                             "longitude of -9 to 2.5 (or 99.999999 for no grid reference)", line=line,
                             column="lat")
        located = lat is not None and lon is not None and lat < NO_GRID
        doterm = row[col["doterm"]].strip()
        terminated = parse_date(small.path, line, "doterm", doterm + "01", ("yyyymmdd",),
                                what="a month of termination (YYYYMM)") if doterm else None
        rows.append({
            "postcode": postcode, "area": area_of(postcode), "lat": lat if located else None,
            "lon": lon if located else None, "terminated": terminated,
            **{k: (row[col[c]].strip() or None) for k, c in (("ccg", "ccg"), ("icb", "stp"), ("region", "nhser"),
                                                              ("local_authority", "laua"), ("lsoa11", "lsoa11"))},
            "source": header.path.name,
        })
    return rows_to_table("postcodes", rows)
