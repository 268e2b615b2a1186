"""Readers for NHS organisation reference data: ODS epraccur (practices and other prescribing
cost centres), NHS Digital's practice → PCN → sub-ICB → ICB → region mapping, ICB → region
lookups (NHSBSA-derived and ONS), the ONS CCG → STP lookup, and ODS etr (NHS trusts).

Each format has one primary reader (registered with `@register`) returning one dataset, and
may have extra functions producing other datasets from the same file; these are listed in
`EXTRA_DATASETS` at the bottom of this module as {format id: {dataset name: function}}.

Organisation types used: 'practice', 'cost_centre', 'pcn', 'sub_icb', 'icb', 'region',
'trust', plus, for epraccur only, 'lhb' (a Welsh local health board, 7A1-7A7) and
'commissioner' (a commissioner of prescribing cost centres that commissions no GP practice:
NHS England's commissioning hubs for prisons and defence medical centres, 13Q/14Q/97T/...).

CCGs became sub-ICB locations on 1 July 2022 (keeping their 3-character codes) and STPs became
ICBs (keeping their Q-codes): older files' CCG and STP codes are typed 'sub_icb' and 'icb' so
that a series runs across the change. NHS England regions: Y56 London, Y58 South West,
Y59 South East, Y60 Midlands, Y61 East of England, Y62 North West, Y63 North East and Yorkshire.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pyarrow as pa

from ..errors import InputError
from .base import Header, register
from .reference import (
    EXTRACT_DATE_LAYOUTS,
    KeyCheck,
    SmallCsv,
    blank_to_none,
    column_for,
    need_code,
    parse_date,
    read_small,
    rows_to_table,
)

REGION_CODES = {
    "LONDON": "Y56",
    "SOUTH WEST": "Y58",
    "SOUTH EAST": "Y59",
    "MIDLANDS": "Y60",
    "EAST OF ENGLAND": "Y61",
    "NORTH WEST": "Y62",
    "NORTH EAST AND YORKSHIRE": "Y63",
}
ENGLISH_REGION = re.compile(r"Y\d{2}")
# CCGs were abolished on 30 June 2022: a CCG → STP lookup of any year says nothing after it
# (Bassetlaw, 02Q, left South Yorkshire and Bassetlaw for Nottingham and Nottinghamshire then).
CCG_END = date(2022, 6, 30)


def _plurality(counts: Counter) -> str | None:
    """The most frequent value, or None when two values tie for first place."""
    top = counts.most_common(2)
    if not top or (len(top) == 2 and top[0][1] == top[1][1]):
        return None
    return top[0][0]


def _relation(child: str, child_type: str, parent: str, parent_type: str, source: str,
              valid_from: date | None = None, valid_to: date | None = None) -> dict:
    return {"child": child, "child_type": child_type, "parent": parent, "parent_type": parent_type,
            "valid_from": valid_from, "valid_to": valid_to, "source": source}


def _organisation(code: str, type_: str, source: str, name: str | None = None, **rest) -> dict:
    return {"code": code, "type": type_, "name": name, "postcode": rest.get("postcode"), "opened": rest.get("opened"),
            "closed": rest.get("closed"), "status": rest.get("status"), "setting": rest.get("setting"),
            "source": source}


def _dedupe(rows: list[dict], key: Callable[[dict], tuple]) -> list[dict]:
    seen: dict[tuple, dict] = {}
    for r in rows:
        seen.setdefault(key(r), r)
    return list(seen.values())


# --- epraccur -----------------------------------------------------------------------------

# The 27 fields of ODS epraccur, as ODS names them (the file has no header line).
EPRACCUR_FIELDS = (
    "organisation_code", "name", "national_grouping", "high_level_health_geography", "address_line_1",
    "address_line_2", "address_line_3", "address_line_4", "address_line_5", "postcode", "open_date", "close_date",
    "status_code", "organisation_sub_type_code", "commissioner", "join_provider_purchaser_date",
    "left_provider_purchaser_date", "contact_telephone_number", "null_19", "null_20", "null_21",
    "amended_record_indicator", "null_23", "provider_purchaser", "null_25", "prescribing_setting", "null_27",
)
EPRACCUR_NAMES = tuple(f"{name} (field {i})" for i, name in enumerate(EPRACCUR_FIELDS, start=1))
F = {name: i for i, name in enumerate(EPRACCUR_FIELDS)}
# 2024+ ODS writes ACTIVE/INACTIVE/DORMANT; the older layout A/C/D/P.
EPRACCUR_STATUS = {"ACTIVE": "ACTIVE", "INACTIVE": "INACTIVE", "DORMANT": "DORMANT", "PROPOSED": "PROPOSED",
                   "A": "ACTIVE", "C": "INACTIVE", "D": "DORMANT", "P": "PROPOSED"}
PRACTICE_CODE = re.compile(r"[A-Z][A-Z0-9]{2,7}")
WELSH_HEALTH_BOARD = re.compile(r"7A\d")


def _is_epraccur(h: Header) -> bool:
    f = h.fields
    return (len(f) == 27 and bool(PRACTICE_CODE.fullmatch(f[0])) and bool(re.fullmatch(r"\d{8}", f[10]))
            and f[12].upper() in EPRACCUR_STATUS)


def _is_gp_practice(setting: str) -> bool:
    """RO76 is ODS's 'GP practice' prescribing setting (roles may be listed as 'RO76|RO268');
    the pre-2024 layout used the number 4."""
    return "RO76" in setting.upper().split("|") or setting == "4"


class _Epraccur:
    """epraccur parsed once: one organisation per row plus what its columns say about the tree."""

    def __init__(self, header: Header):
        f: SmallCsv = read_small(header, headerless=True, names=EPRACCUR_NAMES)
        path = header.path
        keys = KeyCheck(path, ["code"])
        self.rows: list[tuple[int, dict]] = []
        for line, r in f.rows:
            code = need_code(path, line, EPRACCUR_NAMES[F["organisation_code"]], r[F["organisation_code"]],
                             "an ODS organisation code").upper()
            keys.add((code,), line)
            raw_status = r[F["status_code"]].strip().upper()
            if raw_status not in EPRACCUR_STATUS:
                raise InputError(path, f"{r[F['status_code']]!r} is not a status; expected ACTIVE, INACTIVE, DORMANT "
                                 "or PROPOSED (or the older A, C, D, P)", line=line,
                                 column=EPRACCUR_NAMES[F["status_code"]])
            setting = r[F["prescribing_setting"]].strip()

            def day(field: str, r: list[str] = r, line: int = line) -> date | None:
                return parse_date(path, line, EPRACCUR_NAMES[F[field]], r[F[field]], ["yyyymmdd"])

            row = {
                "code": code,
                "type": "practice" if _is_gp_practice(setting) else "cost_centre",
                "name": blank_to_none(r[F["name"]]),
                "postcode": blank_to_none(r[F["postcode"]]),
                "opened": day("open_date"),
                "closed": day("close_date"),
                "status": EPRACCUR_STATUS[raw_status],
                "setting": setting or None,
                "region": blank_to_none(r[F["national_grouping"]]),
                "icb": blank_to_none(r[F["high_level_health_geography"]]),
                "commissioner": blank_to_none(r[F["commissioner"]]),
                "joined": day("join_provider_purchaser_date"),
                "left": day("left_provider_purchaser_date"),
            }
            self.rows.append((line, row))
        self.commissioner_type = self._type_commissioners()

    def _type_commissioners(self) -> dict[str, str]:
        gp = {r["commissioner"] for _, r in self.rows if r["type"] == "practice"}
        types = {}
        for _, r in self.rows:
            c = r["commissioner"]
            if c and c not in types:
                types[c] = ("lhb" if WELSH_HEALTH_BOARD.fullmatch(c) else "sub_icb" if c in gp else "commissioner")
        return types


_CACHE: dict[str, tuple[tuple, object]] = {}


def _parsed(header: Header, parse: Callable[[Header], object]):
    """`parse(header)`, remembered while the file's bytes are unchanged, so that a format's main
    reader and its extra datasets parse the file once. One file is remembered per parser."""
    key = (str(header.path), zlib.crc32(Path(header.path).read_bytes()))
    hit = _CACHE.get(parse.__qualname__)
    if hit is None or hit[0] != key:
        hit = (key, parse(header))
        _CACHE[parse.__qualname__] = hit
    return hit[1]


def _epraccur(header: Header) -> _Epraccur:
    return _parsed(header, _Epraccur)


@register("epraccur", "organisations",
          "ODS epraccur: GP practices and other prescribing cost centres (27 fields, no header line)", _is_epraccur)
def read_epraccur(header: Header) -> pa.Table:
    """One organisation per row: code (field 1), name, postcode, opened/closed (YYYYMMDD),
    status (ACTIVE/INACTIVE/DORMANT; the older A/C/D/P are translated) and prescribing setting
    (field 26). A row is a 'practice' when its setting includes RO76 (or is the older numeric 4)
    and a 'cost_centre' otherwise.

    Then one row, with no name, for each commissioner (field 15), ICB (field 4) and region
    (field 3) the file mentions. A commissioner is a 'sub_icb' when at least one GP practice in
    the file names it, an 'lhb' when it is a Welsh local health board (7A1-7A7), and a
    'commissioner' otherwise (NHS England's commissioning hubs for prisons and defence medical
    centres, or a CCG that only ever commissioned other cost centres)."""
    e = _epraccur(header)
    orgs = [_organisation(r["code"], r["type"], "epraccur", r["name"], postcode=r["postcode"], opened=r["opened"],
                          closed=r["closed"], status=r["status"], setting=r["setting"]) for _, r in e.rows]
    derived = []
    for _, r in e.rows:
        if r["commissioner"]:
            derived.append(_organisation(r["commissioner"], e.commissioner_type[r["commissioner"]], "epraccur"))
        if r["icb"]:
            derived.append(_organisation(r["icb"], "icb", "epraccur"))
        if r["region"]:
            derived.append(_organisation(r["region"], "region", "epraccur"))
    return rows_to_table("organisations", orgs + _dedupe(derived, lambda o: (o["code"], o["type"])))


def relations_epraccur(header: Header) -> pa.Table:
    """The tree epraccur implies (dataset org_relations):

    - each practice or cost centre → its commissioner (field 15), valid from the date it joined
      (field 16) to the date it left (field 17); rows with no commissioner give none;
    - each sub-ICB → the ICB (field 4) of most of its ACTIVE GP practices. Field 4 is the ICB
      of the practice's own location, which for a few practices differs from their
      commissioner's ICB, hence the majority; a sub-ICB with no active practice (a CCG that
      has closed) gets no ICB, and a tie gives none. No dates: valid as at the extract;
    - each ICB → the region (field 3) most rows give it (in ODS's data they all agree).
    """
    e = _epraccur(header)
    rels = [_relation(r["code"], r["type"], r["commissioner"], e.commissioner_type[r["commissioner"]], "epraccur",
                      r["joined"], r["left"]) for _, r in e.rows if r["commissioner"]]
    icbs: dict[str, Counter] = defaultdict(Counter)
    regions: dict[str, Counter] = defaultdict(Counter)
    for _, r in e.rows:
        c = r["commissioner"]
        active_gp = r["type"] == "practice" and r["status"] == "ACTIVE"
        if c and r["icb"] and active_gp and e.commissioner_type[c] == "sub_icb":
            icbs[c][r["icb"]] += 1
        if r["icb"] and r["region"]:
            regions[r["icb"]][r["region"]] += 1
    for sub_icb, counts in sorted(icbs.items()):
        if icb := _plurality(counts):
            rels.append(_relation(sub_icb, "sub_icb", icb, "icb", "epraccur"))
    for icb, counts in sorted(regions.items()):
        if region := _plurality(counts):
            rels.append(_relation(icb, "icb", region, "region", "epraccur"))
    return rows_to_table("org_relations", rels)


# --- NHS Digital gp-reg-pat-prac-map ------------------------------------------------------

MAP_ALIASES = {
    "SUB_ICB_LOCATION_CODE": ["CCG_CODE", "SUB_ICB_LOC_CODE"],
    "SUB_ICB_LOCATION_NAME": ["CCG_NAME", "SUB_ICB_LOC_NAME"],
    "ICB_CODE": ["STP_CODE"],
    "ICB_NAME": ["STP_NAME"],
    "PRACTICE_POSTCODE": ["POSTCODE"],
}
UNALLOCATED_PCN = {"", "U"}


class _PracticeMap:
    def __init__(self, header: Header):
        f = read_small(header)
        path = header.path
        c = column_for(f, header, ["EXTRACT_DATE", "PRACTICE_CODE", "PCN_CODE", "SUB_ICB_LOCATION_CODE", "ICB_CODE",
                                   "COMM_REGION_CODE"], MAP_ALIASES)
        optional = {}
        for name in ("PRACTICE_NAME", "PRACTICE_POSTCODE", "PCN_NAME", "SUB_ICB_LOCATION_NAME", "ICB_NAME",
                     "COMM_REGION_NAME"):
            options = [name, *MAP_ALIASES.get(name, [])]
            hit = next((o for o in options if header.has(o)), None)
            if hit:
                optional[name] = f.index(hit)
        keys = KeyCheck(path, ["practice", "extract_date"])
        # the 2020 layout names CCGs and STPs: its CCG → STP rows end with the CCGs (CCG_END)
        self.ccg_era = f.names[c["SUB_ICB_LOCATION_CODE"]].upper() == "CCG_CODE"
        self.rows: list[tuple[int, dict]] = []
        for line, r in f.rows:
            def code(k: str, what: str, r: list[str] = r, line: int = line) -> str:
                return need_code(path, line, f.names[c[k]], r[c[k]], what).upper()

            def opt(k: str, r: list[str] = r) -> str | None:
                return blank_to_none(r[optional[k]]) if k in optional else None

            row = {
                "extract": parse_date(path, line, f.names[c["EXTRACT_DATE"]], r[c["EXTRACT_DATE"]],
                                      EXTRACT_DATE_LAYOUTS, nulls=(), what="an extract date"),
                "practice": code("PRACTICE_CODE", "a practice code"),
                "pcn": r[c["PCN_CODE"]].strip().upper(),
                "sub_icb": code("SUB_ICB_LOCATION_CODE", "a sub-ICB (CCG) code"),
                "icb": code("ICB_CODE", "an ICB (STP) code"),
                "region": code("COMM_REGION_CODE", "a region code"),
                "practice_name": opt("PRACTICE_NAME"), "postcode": opt("PRACTICE_POSTCODE"),
                "pcn_name": opt("PCN_NAME"), "sub_icb_name": opt("SUB_ICB_LOCATION_NAME"), "icb_name": opt("ICB_NAME"),
                "region_name": opt("COMM_REGION_NAME"),
            }
            keys.add((row["practice"], row["extract"]), line)
            self.rows.append((line, row))
        # The tree above the practices must be a tree: a sub-ICB in one ICB, an ICB in one region.
        for child, parent, what, column in (("sub_icb", "icb", "sub-ICB (CCG)", "ICB_CODE"),
                                            ("icb", "region", "ICB (STP)", "COMM_REGION_CODE")):
            first: dict[tuple, tuple[str, int]] = {}
            for line, row in self.rows:
                k = (row["extract"], row[child])
                seen = first.setdefault(k, (row[parent], line))
                if seen[0] != row[parent]:
                    raise InputError(path, f"{what} {row[child]} is in {parent} {row[parent]} here but in {seen[0]} on "
                                     f"line {seen[1]}; expected one {parent} per {what}", line=line,
                                     column=f.names[c[column]])


def _practice_map(header: Header) -> _PracticeMap:
    return _parsed(header, _PracticeMap)


def _map_source(extract: date) -> str:
    return f"gp_practice_map {extract:%Y-%m}"


@register("gp_practice_map", "org_relations",
          "NHS Digital 'Patients registered at a GP practice' mapping (gp-reg-pat-prac-map): practice → PCN → "
          "sub-ICB (CCG) → ICB (STP) → region",
          columns=("EXTRACT_DATE", "PRACTICE_CODE", "PCN_CODE", "COMM_REGION_CODE",
                   ("CCG_CODE", "SUB_ICB_LOCATION_CODE", "SUB_ICB_LOC_CODE")))
def read_gp_practice_map(header: Header) -> pa.Table:
    """Relations valid from the extract date (EXTRACT_DATE, e.g. 01-Sep-20 or 2022-10-01):
    practice → PCN (PCN_CODE; 'U' = unallocated gives none), practice → sub-ICB, PCN → the
    sub-ICB of most of its practices (a PCN can straddle a boundary; a tie gives none),
    sub-ICB → ICB and ICB → region.

    Both layouts are read: 2020's CCG_CODE/STP_CODE (confirmed on the real Sep 2020 file) and
    the 2022+ SUB_ICB_LOCATION_CODE/ICB_CODE names (ICB_CODE confirmed in published code that
    reads the 2023 file; SUB_ICB_LOCATION_CODE as in NHS Digital's 2026 gp-reg-pat-prac-all).
    CCGs became sub-ICB locations in July 2022: both eras are typed 'sub_icb' and 'icb'. The
    CCG-era layout's CCG → STP rows end on 30 June 2022 with the CCGs (Bassetlaw, 02Q, then moved
    to another ICB); its practice rows stay open.

    Each extract is its own source ('gp_practice_map 2022-09'), so that loading the monthly
    files one after another keeps every month's membership instead of replacing it."""
    m = _practice_map(header)
    rels = []
    pcn_sub: dict[tuple, Counter] = defaultdict(Counter)
    for _, r in m.rows:
        d = r["extract"]
        if r["pcn"] not in UNALLOCATED_PCN:
            rels.append(_relation(r["practice"], "practice", r["pcn"], "pcn", _map_source(d), d))
            pcn_sub[(r["pcn"], d)][r["sub_icb"]] += 1
        rels.append(_relation(r["practice"], "practice", r["sub_icb"], "sub_icb", _map_source(d), d))
    upper = []
    for (pcn, d), counts in pcn_sub.items():
        if sub := _plurality(counts):
            upper.append(_relation(pcn, "pcn", sub, "sub_icb", _map_source(d), d))
    for _, r in m.rows:
        upper.append(_relation(r["sub_icb"], "sub_icb", r["icb"], "icb", _map_source(r["extract"]), r["extract"],
                               CCG_END if m.ccg_era else None))
        upper.append(_relation(r["icb"], "icb", r["region"], "region", _map_source(r["extract"]), r["extract"]))
    key = lambda x: (x["child"], x["child_type"], x["parent_type"], x["valid_from"])  # noqa: E731
    return rows_to_table("org_relations", rels + _dedupe(upper, key))


def organisations_gp_practice_map(header: Header) -> pa.Table:
    """The practices (name, postcode), PCNs, sub-ICBs, ICBs and regions the mapping names, with
    their names; where the file holds several extracts, the latest extract's name is kept."""
    m = _practice_map(header)
    orgs = []
    for _, r in sorted(m.rows, key=lambda x: x[1]["extract"], reverse=True):
        orgs.append(_organisation(r["practice"], "practice", "gp_practice_map", r["practice_name"],
                                  postcode=r["postcode"]))
        if r["pcn"] not in UNALLOCATED_PCN:
            orgs.append(_organisation(r["pcn"], "pcn", "gp_practice_map", r["pcn_name"]))
        orgs.append(_organisation(r["sub_icb"], "sub_icb", "gp_practice_map", r["sub_icb_name"]))
        orgs.append(_organisation(r["icb"], "icb", "gp_practice_map", r["icb_name"]))
        orgs.append(_organisation(r["region"], "region", "gp_practice_map", r["region_name"]))
    return rows_to_table("organisations", _dedupe(orgs, lambda o: (o["code"], o["type"])))


# --- ICB → region lookup (NHSBSA EPD-derived) ---------------------------------------------


def _region_code(path: Path, line: int, column: str, name: str) -> str:
    key = " ".join(name.upper().split())
    if key not in REGION_CODES:
        raise InputError(path, f"{name!r} is not an NHS England region; expected one of "
                         f"{', '.join(n.title() for n in REGION_CODES)}", line=line, column=column)
    return REGION_CODES[key]


def _icb_region_rows(header: Header) -> list[tuple[int, dict]]:
    return _parsed(header, _parse_icb_region)


def _parse_icb_region(header: Header) -> list[tuple[int, dict]]:
    f = read_small(header)
    c = column_for(f, header, ["icb_code", "icb_name", "icb_region"])
    keys = KeyCheck(header.path, ["icb_code"])
    out = []
    for line, r in f.rows:
        code = need_code(header.path, line, f.names[c["icb_code"]], r[c["icb_code"]], "an ICB code").upper()
        if code == "-":
            continue  # NHSBSA's UNIDENTIFIED bucket for prescriptions it cannot attribute
        keys.add((code,), line)
        region_name = need_code(header.path, line, f.names[c["icb_region"]], r[c["icb_region"]], "a region name")
        out.append((line, {"icb": code, "icb_name": blank_to_none(r[c["icb_name"]]), "region_name": region_name,
                           "region": _region_code(header.path, line, f.names[c["icb_region"]], region_name)}))
    return out


@register("icb_region_lookup", "organisations",
          "ICB code → ICB name → NHS region name (icb_code, icb_name, icb_region), as in NHSBSA's EPD",
          columns=("icb_code", "icb_name", "icb_region"))
def read_icb_region_lookup(header: Header) -> pa.Table:
    """The ICBs with their names and the regions they name (region codes from the names:
    Y56 London ... Y63 North East and Yorkshire). The '-' UNIDENTIFIED row is skipped."""
    rows = _icb_region_rows(header)
    orgs = [_organisation(r["icb"], "icb", "icb_region_lookup", r["icb_name"]) for _, r in rows]
    orgs += _dedupe([_organisation(r["region"], "region", "icb_region_lookup", r["region_name"]) for _, r in rows],
                    lambda o: (o["code"], o["type"]))
    return rows_to_table("organisations", orgs)


def relations_icb_region_lookup(header: Header) -> pa.Table:
    """ICB → region, with no dates (valid as at the file)."""
    return rows_to_table("org_relations", [_relation(r["icb"], "icb", r["region"], "region", "icb_region_lookup")
                                           for _, r in _icb_region_rows(header)])


# --- ONS lookups --------------------------------------------------------------------------

ONS_LEVELS = {
    "sub_icb": r"(?:CCG|SICBL)\d{2}",
    "icb": r"(?:STP|ICB)\d{2}",
    "region": r"NHSER\d{2}",
}
ONS_EXTRA = {"FID", "OBJECTID"}


def _ons_columns(h: Header, child: str, parent: str) -> dict[str, str] | None:
    """Map 'child_cd', 'child_cdh', 'child_nm', 'parent_...' to the header's names if the header
    holds exactly an ONS lookup of these two levels (CD = GSS code, CDH = ODS code, NM = name)."""
    found: dict[str, str] = {}
    for field in h.fields:
        up = field.upper()
        if up in ONS_EXTRA:
            continue
        for level in (child, parent):
            m = re.fullmatch(f"({ONS_LEVELS[level]})(CDH|CD|NM)", up)
            if m:
                found[f"{'child' if level == child else 'parent'}_{m.group(2).lower()}"] = field
                break
        else:
            return None
    return found if {"child_cdh", "parent_cdh"} <= set(found) else None


def _ccg_vintage(header: Header, column: str, path: Path) -> tuple[date, date]:
    """The dates a CCG → STP lookup is valid for, from the year in its column names (CCG20CDH:
    April 2020): from 1 April of that year to the day before the next year's lookup, 31 March;
    the last (2021) to 30 June 2022, when CCGs ended. Later years (SICBL22...) are refused here."""
    m = re.fullmatch(r"(?:CCG)(\d{2})CDH", column.upper())
    year = 2000 + int(m.group(1)) if m else None
    if year is None or year > 2021:
        raise InputError(path, f"column {column}: expected a CCG lookup of 2013-2021 (CCG13CDH ... CCG21CDH), "
                         "whose year dates its memberships", line=1, column=column)
    return date(year, 4, 1), (CCG_END if year == 2021 else date(year + 1, 3, 31))


def _ons_rows(header: Header, child: str, parent: str, source: str) -> tuple[list[dict], list[dict]]:
    cols = _ons_columns(header, child, parent)
    if cols is None:
        raise InputError(header.path, f"missing columns; expected an ONS lookup with {child} and {parent} ODS codes "
                         "(e.g. CCG21CDH, STP21CDH)", line=1)
    valid: tuple[date | None, date | None] = (None, None)
    if child == "sub_icb" and cols["child_cdh"].upper().startswith("CCG"):
        valid = _ccg_vintage(header, cols["child_cdh"], header.path)
        source = f"{source} {valid[0].year}"  # each year's lookup is kept beside the others
    f = read_small(header)
    idx = {k: f.index(v) for k, v in cols.items()}
    keys = KeyCheck(header.path, [cols["child_cdh"]])
    rels, orgs = [], []
    for line, r in f.rows:
        kid = need_code(header.path, line, cols["child_cdh"], r[idx["child_cdh"]], "an ODS code").upper()
        par = need_code(header.path, line, cols["parent_cdh"], r[idx["parent_cdh"]], "an ODS code").upper()
        keys.add((kid,), line)
        rels.append(_relation(kid, child, par, parent, source, *valid))
        orgs.append(_organisation(kid, child, source, blank_to_none(r[idx["child_nm"]]) if "child_nm" in idx else None))
        orgs.append(_organisation(par, parent, source,
                                  blank_to_none(r[idx["parent_nm"]]) if "parent_nm" in idx else None))
    return rels, _dedupe(orgs, lambda o: (o["code"], o["type"]))


@register("ons_stp_region_lookup", "org_relations",
          "ONS lookup STP/ICB → NHS England region (STP21CD, STP21CDH, STP21NM, NHSER21CD, NHSER21CDH, NHSER21NM)",
          lambda h: _ons_columns(h, "icb", "region") is not None)
def read_ons_stp_region_lookup(header: Header) -> pa.Table:
    """ICB (STP) → region by their ODS codes (the *CDH columns). STPs became ICBs in July 2022
    with the same footprints and codes, so they are typed 'icb'. No dates (the lookup's vintage
    is in its column names, e.g. 21 = April 2021)."""
    return rows_to_table("org_relations", _ons_rows(header, "icb", "region", "ons_stp_region_lookup")[0])


def organisations_ons_stp_region_lookup(header: Header) -> pa.Table:
    """The ICBs (STPs) and regions with their names."""
    return rows_to_table("organisations", _ons_rows(header, "icb", "region", "ons_stp_region_lookup")[1])


@register("ons_ccg_stp_lookup", "org_relations",
          "ONS lookup CCG/sub-ICB → STP/ICB (FID, CCG21CD, CCG21CDH, CCG21NM, STP21CD, STP21CDH, STP21NM)",
          lambda h: _ons_columns(h, "sub_icb", "icb") is not None)
def read_ons_ccg_stp_lookup(header: Header) -> pa.Table:
    """Sub-ICB (CCG) → ICB (STP) by ODS codes (the *CDH columns); the FID column is ignored.
    CCGs became sub-ICB locations in July 2022 keeping their codes, so they are typed 'sub_icb'.

    Dated by the lookup's year (CCG20CDH: valid 1 April 2020 to 31 March 2021; CCG21CDH: 1 April
    2021 to 30 June 2022, when CCGs ended), and kept as its own source ('ons_ccg_stp_lookup
    2020'), so that each year's lookup places its CCGs in that year only: Bassetlaw (02Q) is in South Yorkshire and Bassetlaw (QF7) until June 2022, and
    from July 2022 wherever a later file (epraccur) puts it (QT1). A sub-ICB → ICB lookup
    (SICBL22CDH, ...) is left undated."""
    return rows_to_table("org_relations", _ons_rows(header, "sub_icb", "icb", "ons_ccg_stp_lookup")[0])


def organisations_ons_ccg_stp_lookup(header: Header) -> pa.Table:
    """The sub-ICBs (CCGs) and ICBs (STPs) with their names."""
    return rows_to_table("organisations", _ons_rows(header, "sub_icb", "icb", "ons_ccg_stp_lookup")[1])


ONS_FIELD = re.compile(r"([A-Z]+)(\d{2})(CDH|CD|NM)")


def _ons_ccg_name_columns(h: Header) -> tuple[str, str, int] | None:
    """(CCGyyCDH, CCGyyNM, year) of an ONS lookup naming CCGs that is not a CCG → STP lookup with
    STP ODS codes (ons_ccg_stp_lookup): every other column is an ONS code or name column
    (LSOA11CD, STP17CD, NHSER18CDH, LAD21NM, ...) or FID/OBJECTID."""
    found: dict[str, str] = {}
    for field in h.fields:
        up = field.upper()
        if up in ONS_EXTRA:
            continue
        m = ONS_FIELD.fullmatch(up)
        if not m:
            return None
        if m.group(1) == "CCG":
            found[m.group(3)] = field
            found["year"] = m.group(2)
    if not {"CDH", "NM"} <= set(found) or _ons_columns(h, "sub_icb", "icb") is not None:
        return None
    return found["CDH"], found["NM"], 2000 + int(found["year"])


@register("ons_ccg_names", "organisations",
          "ONS lookup naming a year's CCGs (CCG17CD, CCG17CDH, CCG17NM; also LSOA → CCG and CCG → STP/region "
          "lookups whose STPs have GSS codes only)", lambda h: _ons_ccg_name_columns(h) is not None)
def read_ons_ccg_names(header: Header) -> pa.Table:
    """The year's CCGs ('sub_icb') with their names, by ODS code (CCGyyCDH), one row each; the
    source names the year ('ons_ccg_names 2017') so that every year's names are kept. A code
    named twice differently is refused. The other columns are not kept: LSOAs (uptake holds no
    LSOA data), local authorities, and STPs or regions of 2017-2019, which these files give by
    GSS code only (several re-coded by 2020) or as the four regions of 2018: today's ICBs and
    regions come from the CCG → STP lookups with ODS codes, epraccur and the successor file."""
    code_col, name_col, year = _ons_ccg_name_columns(header)
    f = read_small(header)
    ci, ni = f.index(code_col), f.index(name_col)
    seen: dict[str, tuple[str, int]] = {}
    for line, r in f.rows:
        code = need_code(header.path, line, code_col, r[ci], "a CCG ODS code").upper()
        name = need_code(header.path, line, name_col, r[ni], "a CCG name")
        first = seen.setdefault(code, (name, line))
        if first[0] != name:
            raise InputError(header.path, f"CCG {code} is named {name!r} here but {first[0]!r} on line {first[1]}; "
                             "expected one name per CCG", line=line, column=name_col)
    source = f"ons_ccg_names {year}"
    return rows_to_table("organisations", [_organisation(code, "sub_icb", source, name)
                                           for code, (name, _) in seen.items()])


# --- NHS trusts (ODS etr, tidied) ---------------------------------------------------------

TRUST_NULLS = ("", "NA")


def _trust_rows(header: Header) -> list[tuple[int, dict]]:
    return _parsed(header, _parse_trusts)


def _parse_trusts(header: Header) -> list[tuple[int, dict]]:
    f = read_small(header)
    c = column_for(f, header, ["ods_code", "ods_name", "region_code", "stp_code", "postcode", "open_date",
                               "close_date"])
    keys = KeyCheck(header.path, ["ods_code"])
    out = []
    for line, r in f.rows:
        code = need_code(header.path, line, f.names[c["ods_code"]], r[c["ods_code"]], "a trust ODS code").upper()
        keys.add((code,), line)

        def day(k: str, r: list[str] = r, line: int = line) -> date | None:
            return parse_date(header.path, line, f.names[c[k]], r[c[k]], ["iso"], nulls=TRUST_NULLS)

        out.append((line, {"code": code, "name": blank_to_none(r[c["ods_name"]], TRUST_NULLS),
                           "postcode": blank_to_none(r[c["postcode"]], TRUST_NULLS), "opened": day("open_date"),
                           "closed": day("close_date"),
                           "region": (blank_to_none(r[c["region_code"]], TRUST_NULLS) or "").upper() or None,
                           "icb": (blank_to_none(r[c["stp_code"]], TRUST_NULLS) or "").upper() or None}))
    return out


@register("nhs_trusts", "organisations",
          "NHS trusts from ODS etr, tidied (ods_code, ods_name, region_code, stp_code, ..., open_date, close_date)",
          columns=("ods_code", "ods_name", "region_code", "stp_code", "open_date"))
def read_nhs_trusts(header: Header) -> pa.Table:
    """One 'trust' per row with name, postcode and open/close dates (YYYY-MM-DD; 'NA' = none).
    The file has no status column: status is left empty."""
    return rows_to_table("organisations", [
        _organisation(r["code"], "trust", "nhs_trusts", r["name"], postcode=r["postcode"], opened=r["opened"],
                      closed=r["closed"]) for _, r in _trust_rows(header)])


def relations_nhs_trusts(header: Header) -> pa.Table:
    """Trust → ICB (stp_code; STPs became ICBs) and trust → region, undated. Only for trusts in an
    English region (Y56-Y63): the Welsh trusts' W00/Q99 are not English regions or ICBs."""
    rels = []
    for _, r in _trust_rows(header):
        if not (r["region"] and ENGLISH_REGION.fullmatch(r["region"])):
            continue
        if r["icb"]:
            rels.append(_relation(r["code"], "trust", r["icb"], "icb", "nhs_trusts"))
        rels.append(_relation(r["code"], "trust", r["region"], "region", "nhs_trusts"))
    return rows_to_table("org_relations", rels)


# --- ODS successor organisations (succ.csv) ----------------------------------------------
# Which organisation took over from which, and from when (mergers and re-codings of CCGs,
# practices, trusts and older bodies). No header line; five fields: the old code, the code that
# succeeded it, a reason (blank in every row of the 2026 file), the effective date (YYYYMMDD)
# and an indicator (0 or 1; ODS's file gives no name for it and uptake does not use it).
# engine.hierarchy.successor_chains follows the chains.

SUCC_FIELDS = ("old code (field 1)", "new code (field 2)", "reason (field 3)", "effective date (field 4)",
               "indicator (field 5)")
ODS_CODE = re.compile(r"[A-Z0-9]{3,12}")
SUCC_SOURCE = "ods_successors"


def _is_succ(h: Header) -> bool:
    f = h.fields
    return (len(f) == 5 and all(ODS_CODE.fullmatch(x.upper()) for x in f[:2]) and not f[2].strip()
            and bool(re.fullmatch(r"\d{8}", f[3])) and f[4] in ("0", "1"))


def _code(header: Header, line: int, column: int, value: str) -> str:
    code = need_code(header.path, line, SUCC_FIELDS[column], value, "an ODS organisation code").upper()
    if not ODS_CODE.fullmatch(code):
        raise InputError(header.path, f"{value!r} is not an ODS code; expected 3 to 12 letters and digits",
                         line=line, column=SUCC_FIELDS[column])
    return code


@register("ods_successors", "org_successions",
          "ODS successor organisations (succ.csv: old code, new code, reason, effective date YYYYMMDD, "
          "indicator; no header line)", _is_succ)
def read_ods_successors(header: Header) -> pa.Table:
    """One row per succession, as written. A code succeeded by itself, or a repeated pair, is
    refused with its line."""
    f = read_small(header, headerless=True, names=SUCC_FIELDS)
    keys = KeyCheck(header.path, ["old", "new"])
    rows = []
    for line, r in f.rows:
        old, new = _code(header, line, 0, r[0]), _code(header, line, 1, r[1])
        if old == new:
            raise InputError(header.path, f"{old} is succeeded by itself; expected a different new code",
                             line=line, column=SUCC_FIELDS[1])
        keys.add((old, new), line)
        effective = parse_date(header.path, line, SUCC_FIELDS[3], r[3], ["yyyymmdd"], nulls=(),
                               what="an effective date")
        rows.append({"old": old, "new": new, "effective": effective, "source": SUCC_SOURCE})
    return rows_to_table("org_successions", rows)


# --- formats yielding more than one dataset -----------------------------------------------

EXTRA_DATASETS: dict[str, dict[str, Callable[[Header], pa.Table]]] = {
    "epraccur": {"org_relations": relations_epraccur},
    "gp_practice_map": {"organisations": organisations_gp_practice_map},
    "icb_region_lookup": {"org_relations": relations_icb_region_lookup},
    "ons_stp_region_lookup": {"organisations": organisations_ons_stp_region_lookup},
    "ons_ccg_stp_lookup": {"organisations": organisations_ons_ccg_stp_lookup},
    "nhs_trusts": {"org_relations": relations_nhs_trusts},
}
