"""Where things are, for the public pages: a postcode's position and area from the loaded
postcode lookup (NSPL), the GP practices with their postcodes and positions, the practices
nearest a point, and practices found by name or postcode with typos tolerated.

A practice's position is its postcode's in the lookup; when the lookup does not hold that exact
postcode but holds others of its sector ('HG1 2' of 'HG1 2AB'), the middle of the sector (the
mean of its postcodes' positions, under a mile across) and the distance is marked approximate.
A home postcode that the lookup does not hold is never guessed: the caller says so.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..errors import UptakeError
from ..sources.nspl import area_of, normalise
from ..warehouse import Warehouse
from .search import Directory

MILES_PER_KM = 0.621371
EARTH_RADIUS_KM = 6371.0088
OUTWARD_RE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")


class NotAPostcode(UptakeError):
    """The text is not shaped like a UK postcode."""


class NotInLookup(UptakeError):
    """A postcode the loaded lookup does not hold (its area is not loaded, or no such postcode)."""


@dataclass(frozen=True)
class Place:
    postcode: str
    lat: float
    lon: float
    icb: str | None = None  # the ONS code of the STP/ICB the postcode lies in
    terminated: bool = False


@dataclass
class Practice:
    code: str
    name: str
    postcode: str | None
    lat: float | None = None
    lon: float | None = None
    approximate: bool = False  # placed at the middle of its postcode sector
    miles: float | None = field(default=None, compare=False)


def miles_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), in miles."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a)) * MILES_PER_KM


class Places:
    """Built once per warehouse state (see `places_for`); `practice_codes` limits the practices
    to those the publication has figures for."""

    def __init__(self, warehouse: Warehouse, practice_codes: set[str] | None = None):
        con = warehouse.connect()
        self.areas = [r[0] for r in con.execute("SELECT DISTINCT area FROM postcodes ORDER BY area").fetchall()]
        self._con = con
        rows = con.execute("""
            WITH pc AS (SELECT postcode, lat, lon,
                               split_part(postcode, ' ', 1) || ' ' || left(split_part(postcode, ' ', 2), 1) AS sector
                        FROM postcodes WHERE lat IS NOT NULL),
                 sectors AS (SELECT sector, avg(lat) AS lat, avg(lon) AS lon FROM pc GROUP BY sector),
                 practices AS (SELECT code, max(name) AS name, max(upper(trim(postcode))) AS postcode
                               FROM organisations WHERE type = 'practice' AND closed IS NULL GROUP BY code)
            SELECT p.code, p.name, p.postcode, coalesce(e.lat, s.lat), coalesce(e.lon, s.lon),
                   e.lat IS NULL AND s.lat IS NOT NULL
            FROM practices p
            LEFT JOIN pc e ON e.postcode = p.postcode
            LEFT JOIN sectors s ON s.sector = split_part(p.postcode, ' ', 1) || ' ' || left(split_part(p.postcode, ' ', 2), 1)
            ORDER BY p.code""").fetchall()
        self.practices = [Practice(code, name or code, postcode, lat, lon, bool(approx))
                          for code, name, postcode, lat, lon, approx in rows
                          if practice_codes is None or code in practice_codes]
        self._by_code = {p.code: p for p in self.practices}
        self._directory = Directory([{"level": "practice", "code": p.code, "name": p.name}
                                     for p in self.practices], _NoCatalogue())

    def practice(self, code: str) -> Practice | None:
        return self._by_code.get(code.strip().upper())

    def place(self, text: str) -> Place:
        """A home postcode's position; NotAPostcode or NotInLookup rather than a guess."""
        postcode = normalise(text)
        if postcode is None:
            raise NotAPostcode(f"{text.strip()[:20]!r} is not a postcode")
        row = self._con.execute("SELECT lat, lon, icb, terminated IS NOT NULL FROM postcodes WHERE postcode = ?",
                                [postcode]).fetchone()
        if row is None or row[0] is None:
            loaded = area_of(postcode) in self.areas
            raise NotInLookup(f"{postcode} is not in the postcode list"
                              + ("" if loaded else f" (postcodes starting {area_of(postcode)} are not loaded)"))
        return Place(postcode, row[0], row[1], row[2], bool(row[3]))

    def nearest(self, lat: float, lon: float, limit: int = 5) -> list[Practice]:
        placed = [p for p in self.practices if p.lat is not None]
        for p in placed:
            p.miles = miles_between(lat, lon, p.lat, p.lon)  # type: ignore[arg-type]
        return [_copy(p) for p in sorted(placed, key=lambda p: (p.miles, p.code))[:limit]]

    def find(self, query: str, limit: int = 10) -> list[Practice]:
        """Practices by postcode (whole, or its first half: 'HG1') or by name, typos tolerated."""
        text = query.strip()
        postcode = normalise(text)
        compact = re.sub(r"\s+", "", text.upper())
        if postcode or OUTWARD_RE.match(compact):
            prefix = postcode or compact + " "
            hits = [p for p in self.practices if p.postcode and (p.postcode + " ").startswith(prefix)]
            if hits:
                return hits[:limit]
        return [self._by_code[h.code] for h in self._directory.search(text, limit=limit, kinds=("organisation",))]


def _copy(p: Practice) -> Practice:
    return Practice(p.code, p.name, p.postcode, p.lat, p.lon, p.approximate, p.miles)


class _NoCatalogue:
    technology_appraisals: list = []


_cache: dict = {}


def state_stamp(warehouse: Warehouse) -> tuple[str, int | None]:
    """What changes when a load commits: a cache key for what is built from the warehouse."""
    try:
        return str(warehouse.root), warehouse.state_path.stat().st_mtime_ns
    except FileNotFoundError:
        return str(warehouse.root), None


def places_for(warehouse: Warehouse, practice_codes: set[str] | None = None) -> Places:
    """The Places of the warehouse's current state (rebuilt after a load)."""
    key = (state_stamp(warehouse), frozenset(practice_codes) if practice_codes is not None else None)
    if key not in _cache:
        _cache.clear()
        _cache[key] = Places(warehouse, practice_codes)
    return _cache[key]
