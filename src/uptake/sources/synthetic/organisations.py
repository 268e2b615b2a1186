"""The organisations of a synthetic NHS: real regions, ICBs and sub-ICB locations; synthetic
PCNs, GP practices and trusts; and the changes among them over the period.

Codes that cannot be mistaken for real ones:

- GP practices: ``X`` and 5 digits (``X12345``). Real English practice and prescribing cost
  centre codes begin with A-H, J-N, P or Y (Welsh ones W, Channel Islands G/J); none begins
  with X. Like real ones they match ``[A-Z]\\d{5}``, so every reader treats them as practices.
- PCNs: ``U`` and 5 digits, the real pattern (a synthetic PCN may share a number with a real
  one; its name and members are synthetic).
- NHS trusts: ``R``, a digit 2-9 and a letter or digit (``R4K``). Real trust codes use R0, R1
  or R and a letter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from . import rng as streams
from .calendar import Month
from .reference import Reference
from .scales import Scale

PRACTICE_WORDS = (
    "ABBEY", "ALBERT", "ALBION", "ASH TREE", "BEECH HOUSE", "BIRCHWOOD", "BRIDGE STREET", "BROOKSIDE",
    "CASTLE", "CEDAR", "CHESTNUT", "CHURCH STREET", "CLIFTON", "COTTAGE", "CROSS KEYS", "DENE",
    "EASTGATE", "ELM TREE", "FAIRFIELD", "FERNLEA", "FOREST", "GLEBE", "GRANGE", "GREEN LANE",
    "GROVE", "HARBOUR", "HAWTHORN", "HEATH", "HIGH STREET", "HILLSIDE", "HOLLY", "KINGSWAY",
    "LAUREL", "LIME TREE", "LINDEN", "MANOR", "MARKET STREET", "MEADOWS", "MILL LANE", "MOOR",
    "NEWLANDS", "NORTHGATE", "OAK TREE", "ORCHARD", "PARK VIEW", "PRIORY", "QUEENS ROAD", "RECTORY",
    "RIVERSIDE", "ROWAN", "ST JOHNS", "ST MARYS", "STATION ROAD", "SYCAMORE", "THE ELMS", "THE LIMES",
    "THORNBURY", "VALLEY", "VICTORIA", "WATERSIDE", "WESTGATE", "WILLOWS", "WINDMILL", "WOODLANDS",
)
PRACTICE_KINDS = (
    "SURGERY", "SURGERY", "SURGERY", "MEDICAL CENTRE", "MEDICAL CENTRE", "HEALTH CENTRE",
    "MEDICAL PRACTICE", "GROUP PRACTICE", "FAMILY PRACTICE", "HEALTHCARE",
)
STREETS = (
    "HIGH STREET", "CHURCH ROAD", "STATION ROAD", "MAIN STREET", "PARK ROAD", "LONDON ROAD",
    "VICTORIA ROAD", "GREEN LANE", "MANOR ROAD", "CHURCH STREET", "PARK AVENUE", "THE GREEN",
    "MILL LANE", "QUEENS ROAD", "NEW ROAD", "SCHOOL LANE", "KINGS ROAD", "NORTH STREET",
)
PCN_WORDS = (
    "CENTRAL", "NORTH", "SOUTH", "EAST", "WEST", "RIVERSIDE", "VALLEY", "COASTAL", "RURAL",
    "CITY", "HEALTHY", "PARKS", "MARKET TOWNS", "UNITED", "COLLABORATIVE", "ALLIANCE",
)
TRUST_KINDS = (
    "UNIVERSITY HOSPITALS NHS FOUNDATION TRUST", "HOSPITALS NHS TRUST", "TEACHING HOSPITALS NHS FOUNDATION TRUST",
    "GENERAL HOSPITAL NHS FOUNDATION TRUST", "HEALTHCARE NHS TRUST",
)
TRUST_PREFIX = ("", "NORTH ", "SOUTH ", "EAST ", "WEST ", "CENTRAL ", "ROYAL ", "")
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # letters used in the inward code


@dataclass
class Organisations:
    """Everything about organisations, as arrays indexed by practice (j), month (m) etc."""

    months: list[Month]
    regions: list  # reference Region objects, in code order
    icbs: list  # reference Icb objects, in code order
    sub_icbs: list  # reference SubIcb objects used by at least one practice, in code order
    # PCNs
    pcn_code: np.ndarray
    pcn_name: np.ndarray
    pcn_sub_icb: np.ndarray  # index into sub_icbs
    # practices (sorted by code)
    code: np.ndarray
    name: np.ndarray
    address: np.ndarray  # [P, 4] ADDRESS_1..4
    postcode: np.ndarray
    icb: np.ndarray  # index into icbs (a practice never changes ICB here)
    opened: list[dt.date]
    closed: list[dt.date | None]
    sub_icb_at: np.ndarray  # [M, P] index into sub_icbs
    pcn_at: np.ndarray  # [M, P] index into pcn arrays
    open_at: np.ndarray  # [M, P] bool: registered patients and prescribing in that month
    join_date: list[dt.date]  # date the practice joined its current (last) sub-ICB location
    absorbed_by: dict[int, int] = field(default_factory=dict)  # closed practice → practice taking its list
    moved: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # j → (month index, from, to)
    opening: dict[int, int] = field(default_factory=dict)  # j → month index it opens
    # trusts
    trust_code: np.ndarray = field(default_factory=lambda: np.array([], dtype=str))
    trust_name: np.ndarray = field(default_factory=lambda: np.array([], dtype=str))
    trust_icb: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    trust_postcode: np.ndarray = field(default_factory=lambda: np.array([], dtype=str))
    trust_address: np.ndarray = field(default_factory=lambda: np.empty((0, 4), dtype=object))

    @property
    def n_practices(self) -> int:
        return len(self.code)

    def region_of_icb(self) -> np.ndarray:
        codes = [r.code for r in self.regions]
        return np.array([codes.index(i.region) for i in self.icbs])


def _allocate(total: int, weights: np.ndarray, minimum: int = 0) -> np.ndarray:
    """Split `total` into integers proportional to `weights` (largest remainder), each >= minimum."""
    n = len(weights)
    base = np.full(n, minimum if total >= minimum * n else 0, dtype=np.int64)
    rest = total - base.sum()
    share = weights / weights.sum() * rest
    out = base + np.floor(share).astype(np.int64)
    short = total - out.sum()
    if short > 0:
        order = np.lexsort((np.arange(n), -(share - np.floor(share))))
        out[order[:short]] += 1
    return out


def _practice_counts(ref: Reference, scale: Scale) -> np.ndarray:
    real = np.array([i.practices for i in ref.icbs], dtype=np.float64)
    if scale.practices_per_icb is not None:
        lo, hi = scale.practices_per_icb
        return np.clip(np.rint(np.sqrt(real) / 1.6), lo, hi).astype(np.int64)
    return _allocate(int(scale.national_practices), real, minimum=1)


def _unique_numbers(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    """n distinct integers in [low, high), sorted."""
    return np.sort(rng.choice(np.arange(low, high), size=n, replace=False))


def _postcode(rng: np.random.Generator, area: str) -> str:
    district = int(rng.integers(1, 13 if len(area) == 2 else 21))
    sector = int(rng.integers(0, 10))
    unit = "".join(rng.choice(list(POSTCODE_LETTERS), size=2))
    return f"{area}{district} {sector}{unit}"


def build(ref: Reference, scale: Scale, months: list[Month], seed: int) -> Organisations:
    rng = streams.stream(seed, streams.ORGANISATIONS)
    names = streams.stream(seed, streams.NAMES)
    regions = sorted(ref.regions, key=lambda r: r.code)
    icbs = sorted(ref.icbs, key=lambda i: (i.region, i.code))
    counts = _practice_counts(ref, scale)
    counts = np.array([counts[[x.code for x in ref.icbs].index(i.code)] for i in icbs])

    # Practices in each ICB, spread over its sub-ICB locations by population.
    practice_icb, practice_sub = [], []
    subs_by_icb = {i.code: sorted((s for s in ref.sub_icbs if s.icb == i.code), key=lambda s: s.code) for i in icbs}
    for k, icb in enumerate(icbs):
        subs = subs_by_icb[icb.code]
        weights = np.array([s.population for s in subs], dtype=np.float64)
        per_sub = _allocate(int(counts[k]), weights, minimum=1)
        for s, n in zip(subs, per_sub):
            practice_icb += [k] * int(n)
            practice_sub += [s.code] * int(n)
    n = len(practice_icb)
    used_subs = sorted({c for c in practice_sub})
    sub_objs = {s.code: s for s in ref.sub_icbs}
    sub_icbs = [sub_objs[c] for c in used_subs]
    sub_index = {c: i for i, c in enumerate(used_subs)}
    practice_icb = np.array(practice_icb, dtype=np.int64)
    practice_sub = np.array([sub_index[c] for c in practice_sub], dtype=np.int64)

    # Codes in the order of region, ICB and sub-ICB, as real codes cluster by area.
    code = np.array([f"X{x:05d}" for x in _unique_numbers(rng, n, 10000, 100000)])

    # PCNs: consecutive groups of about pcn_size practices within each sub-ICB location.
    pcn_of = np.empty(n, dtype=np.int64)
    pcn_sub: list[int] = []
    for s in range(len(used_subs)):
        members = np.flatnonzero(practice_sub == s)
        groups = max(1, int(round(len(members) / scale.pcn_size)))
        for chunk in np.array_split(members, groups):
            pcn_of[chunk] = len(pcn_sub)
            pcn_sub.append(s)
    n_pcn = len(pcn_sub)
    pcn_code = np.array([f"U{x:05d}" for x in rng.permutation(_unique_numbers(rng, n_pcn, 10000, 100000))])
    pcn_sub_arr = np.array(pcn_sub, dtype=np.int64)

    # Names and addresses.
    name = np.empty(n, dtype=object)
    address = np.empty((n, 4), dtype=object)
    postcode = np.empty(n, dtype=object)
    for j in range(n):
        icb = icbs[practice_icb[j]]
        word = PRACTICE_WORDS[names.integers(len(PRACTICE_WORDS))]
        kind = PRACTICE_KINDS[names.integers(len(PRACTICE_KINDS))]
        name[j] = f"{word} {kind}"
        town = icb.place.upper().split(" AND ")[0].split(",")[0]
        address[j] = [f"{int(names.integers(1, 200))} {STREETS[names.integers(len(STREETS))]}", "", town, ""]
        areas = icb.postcode_areas
        postcode[j] = _postcode(names, areas[int(names.integers(len(areas)))])
    pcn_name = np.empty(n_pcn, dtype=object)
    for p in range(n_pcn):
        sub = sub_icbs[pcn_sub_arr[p]]
        place = sub.name.split(" ICB - ")[0].removeprefix("NHS ").upper().split(" AND ")[0].split(",")[0]
        pcn_name[p] = f"{place} {PCN_WORDS[names.integers(len(PCN_WORDS))]} PCN"

    # Opening dates long before the period, mostly 1974 (when the NHS reorganised) as in ODS.
    opened: list[dt.date] = []
    for _ in range(n):
        if rng.random() < 0.55:
            opened.append(dt.date(1974, 4, 1))
        else:
            opened.append(dt.date(int(rng.integers(1975, 2016)), int(rng.integers(1, 13)), 1))
    closed: list[dt.date | None] = [None] * n
    join = [max(o, dt.date(2013, 4, 1)) for o in opened]

    M = len(months)
    sub_at = np.tile(practice_sub, (M, 1))
    pcn_at = np.tile(pcn_of, (M, 1))
    open_at = np.ones((M, n), dtype=bool)
    orgs = Organisations(
        months=months, regions=regions, icbs=icbs, sub_icbs=sub_icbs,
        pcn_code=pcn_code, pcn_name=pcn_name.astype(str), pcn_sub_icb=pcn_sub_arr,
        code=code, name=name.astype(str), address=address, postcode=postcode.astype(str), icb=practice_icb,
        opened=opened, closed=closed, sub_icb_at=sub_at, pcn_at=pcn_at, open_at=open_at, join_date=join,
    )
    _events(orgs, scale, seed)
    _trusts(orgs, scale, seed, names)
    return orgs


def _events(orgs: Organisations, scale: Scale, seed: int) -> None:
    """Closures (merging into a neighbour), openings and moves between sub-ICB locations."""
    M = len(orgs.months)
    if M < 6:
        return
    rng = streams.stream(seed, streams.EVENTS)
    n = orgs.n_practices
    busy: set[int] = set()
    pcn = orgs.pcn_at[0]
    # Closures: a practice with a neighbour in its PCN (or sub-ICB) closes at the end of a month
    # and its patients move to that neighbour the next month.
    candidates = [j for j in rng.permutation(n) if (pcn == pcn[j]).sum() > 1]
    for j in candidates[: scale.closures]:
        if j in busy:
            continue
        mates = [k for k in np.flatnonzero(pcn == pcn[j]) if k != j and k not in busy]
        if not mates:
            continue
        k = int(mates[0])
        m = int(rng.integers(2, M - 2))
        month = orgs.months[m]
        orgs.closed[j] = month.last
        orgs.open_at[m + 1:, j] = False
        orgs.absorbed_by[int(j)] = k
        busy.update({int(j), k})
    # Openings: a practice opens on the first of a month during the period.
    free = [int(j) for j in rng.permutation(n) if int(j) not in busy]
    for j in free[: scale.openings]:
        m = int(rng.integers(1, M - 3))
        orgs.opened[j] = orgs.months[m].first
        orgs.join_date[j] = orgs.months[m].first
        orgs.open_at[:m, j] = False
        orgs.opening[j] = m
        busy.add(j)
    # Moves: a practice moves to another sub-ICB location of its ICB (and to a PCN there).
    moved = 0
    for j in (int(j) for j in rng.permutation(n)):
        if moved >= scale.moves:
            break
        if j in busy:
            continue
        here = orgs.sub_icb_at[0, j]
        others = [s for s in range(len(orgs.sub_icbs))
                  if s != here and orgs.sub_icbs[s].icb == orgs.icbs[orgs.icb[j]].code]
        if not others:
            continue
        to = int(others[int(rng.integers(len(others)))])
        m = int(rng.integers(2, M - 2))
        orgs.sub_icb_at[m:, j] = to
        pcns = np.flatnonzero(orgs.pcn_sub_icb == to)
        if len(pcns):
            orgs.pcn_at[m:, j] = int(pcns[0])
        orgs.join_date[j] = orgs.months[m].first
        orgs.moved[j] = (m, int(here), to)
        busy.add(j)
        moved += 1


def _trusts(orgs: Organisations, scale: Scale, seed: int, names: np.random.Generator) -> None:
    rng = streams.stream(seed, streams.ORGANISATIONS, 2)
    lo, hi = scale.trusts_per_icb
    real = np.array([i.practices for i in orgs.icbs], dtype=np.float64)
    per_icb = np.clip(np.rint(lo + (hi - lo) * (real - real.min()) / max(real.max() - real.min(), 1)), lo, hi)
    per_icb = per_icb.astype(np.int64)
    total = int(per_icb.sum())
    pool = [f"R{d}{c}" for d in "23456789" for c in "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"]
    codes = sorted(rng.choice(pool, size=total, replace=False).tolist())
    icb_of = np.repeat(np.arange(len(orgs.icbs)), per_icb)
    tnames, posts, addrs = [], [], []
    for t in range(total):
        icb = orgs.icbs[icb_of[t]]
        place = icb.place.upper().split(" AND ")[0].split(",")[0]
        for _ in range(50):  # a trust's name is unique
            prefix = TRUST_PREFIX[names.integers(len(TRUST_PREFIX))]
            tname = f"{prefix}{place} {TRUST_KINDS[names.integers(len(TRUST_KINDS))]}"
            if tname not in tnames:
                break
        tnames.append(tname)
        areas = icb.postcode_areas
        posts.append(_postcode(names, areas[int(names.integers(len(areas)))]))
        addrs.append([f"{place} HOSPITAL", f"{STREETS[names.integers(len(STREETS))]}", place, ""])
    orgs.trust_code = np.array(codes)
    orgs.trust_name = np.array(tnames)
    orgs.trust_icb = icb_of
    orgs.trust_postcode = np.array(posts)
    orgs.trust_address = np.array(addrs, dtype=object).reshape(total, 4)
