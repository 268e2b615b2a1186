"""Clinical trials a member of the public could join: the loaded registry records (datasets
`trials` and `trial_sites`) whose registered conditions match a TA's condition group
(catalogue/trial_conditions.py), with a UK site, in plain words, nearest site first.

A trial in several loaded files is shown once, from its newest record (a live fetch before a
recorded sample). ClinicalTrials.gov gives a status; ISRCTN gives recruitment dates, so its
status is worked out on the day: recruiting between the start and the end, opening soon before.
A site is placed at its postcode (from the loaded postcode lookup) where it can be, else at the
registry's point for the town (ClinicalTrials.gov's geoPoint), and its distance is then "about".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ..catalogue.trial_conditions import ConditionGroup
from ..warehouse import Warehouse
from .places import NotAPostcode, NotInLookup, Places, miles_between, state_stamp

UK = "United Kingdom"
OPEN = ("RECRUITING", "NOT_YET_RECRUITING")
STATUS_WORDS = {
    "RECRUITING": "Looking for people to take part now",
    "NOT_YET_RECRUITING": "Opening soon",
    "ENROLLING_BY_INVITATION": "Only for people who are invited",
    "ACTIVE_NOT_RECRUITING": "Running, but not taking new people",
    "COMPLETED": "Finished",
    "TERMINATED": "Stopped early",
    "SUSPENDED": "Paused",
    "WITHDRAWN": "Stopped before it began",
    "RECRUITMENT_ENDED": "No longer taking new people",
    "UNKNOWN": "Not known: the registry has not been updated for a long time",
}


@dataclass
class Site:
    facility: str | None
    city: str | None
    postcode: str | None
    status: str | None
    miles: float | None = None
    approximate: bool = False


@dataclass
class Trial:
    trial_id: str
    registry: str
    title: str
    phase: str | None
    status: str
    sponsor: str | None
    url: str
    conditions: list[str]
    fetched: str | None  # None: a recorded sample, not a live fetch
    sites: list[Site] = field(default_factory=list)  # UK sites, nearest first

    @property
    def status_words(self) -> str:
        return STATUS_WORDS.get(self.status, "Not known")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def sample(self) -> bool:
        return self.fetched is None

    @property
    def nearest(self) -> Site | None:
        return self.sites[0] if self.sites and self.sites[0].miles is not None else None


def status_on(status: str | None, start: date | None, end: date | None, today: date) -> str:
    """The registry's status, or for a record that gives only recruitment dates, the status on `today`."""
    if status:
        return status
    if start is None or end is None:
        return "UNKNOWN"
    if today < start:
        return "NOT_YET_RECRUITING"
    return "RECRUITING" if today <= end else "RECRUITMENT_ENDED"


class Trials:
    """The loaded trials, once per warehouse state."""

    def __init__(self, warehouse: Warehouse):
        con = warehouse.connect()
        rows = _dicts(con.execute("""
            SELECT * FROM (
                SELECT t.*, row_number() OVER (PARTITION BY trial_id
                    ORDER BY fetched IS NULL, fetched DESC, source DESC) AS pick FROM trials t)
            WHERE pick = 1 AND uk ORDER BY trial_id"""))
        self._trials = rows
        sites = _dicts(con.execute("SELECT * FROM trial_sites WHERE country = ?", [UK]))
        self._sites: dict[tuple[str, str], list[dict]] = {}
        for s in sites:
            self._sites.setdefault((s["source"], s["trial_id"]), []).append(s)

    def __len__(self) -> int:
        return len(self._trials)

    def for_condition(self, group: ConditionGroup, today: date, places: Places | None = None,
                      origin: tuple[float, float] | None = None) -> list[Trial]:
        """UK trials for the condition: open ones first (nearest site first), then the rest."""
        out = []
        for row in self._trials:
            if not group.matches(row["conditions"] or []):
                continue
            trial = Trial(row["trial_id"], row["registry"], row["title"], row["phase"],
                          status_on(row["status"], row["start"], row["end"], today), row["sponsor"], row["url"],
                          row["conditions"] or [], row["fetched"])
            trial.sites = [self._site(s, places, origin) for s in self._sites.get((row["source"], row["trial_id"]), [])]
            trial.sites.sort(key=lambda s: (s.miles is None, s.miles or 0.0, s.city or "", s.facility or ""))
            out.append(trial)
        far = float("inf")
        return sorted(out, key=lambda t: (not t.is_open, t.nearest.miles if t.nearest else far, t.trial_id))

    @staticmethod
    def _site(s: dict, places: Places | None, origin: tuple[float, float] | None) -> Site:
        site = Site(s["facility"], s["city"], s["postcode"], s["status"])
        lat, lon, approximate = s["lat"], s["lon"], True
        if places is not None and s["postcode"]:
            try:
                where = places.place(s["postcode"])
                lat, lon, approximate = where.lat, where.lon, False
            except (NotAPostcode, NotInLookup):
                pass
        if origin is not None and lat is not None and lon is not None:
            site.miles = miles_between(origin[0], origin[1], lat, lon)
            site.approximate = approximate
        return site


def _dicts(cursor) -> list[dict]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


_cache: dict = {}


def trials_for(warehouse: Warehouse) -> Trials:
    """The Trials of the warehouse's current state (rebuilt after a load)."""
    key = state_stamp(warehouse)
    if key not in _cache:
        _cache.clear()
        _cache[key] = Trials(warehouse)
    return _cache[key]


@dataclass
class AreaTrials:
    """The open trials (for any catalogue TA's condition) with UK sites in one ICB's area."""

    trials: list[tuple[Trial, list[Site], str]]  # (trial, its sites in the area, the condition's name)
    sites: int
    unplaced: int  # UK sites of open, matching trials whose postcode is not in the loaded lookup
    sample: bool  # some of the trials come from a recorded sample, not a live fetch


def open_in_area(trials: Trials, places: Places, area_ons_code: str, groups: list[ConditionGroup],
                 today: date) -> AreaTrials:
    """Open trials with a site whose postcode lies in the area (the lookup's ICB/STP code)."""
    found: dict[str, tuple[Trial, list[Site], str]] = {}
    unplaced = 0
    for group in groups:
        for trial in trials.for_condition(group, today):
            if not trial.is_open or trial.trial_id in found:
                continue
            mine = []
            for site in trial.sites:
                try:
                    where = places.place(site.postcode or "")
                except (NotAPostcode, NotInLookup):
                    unplaced += 1
                    continue
                if where.icb == area_ons_code:
                    mine.append(site)
            if mine:
                found[trial.trial_id] = (trial, mine, group.name)
    listed = sorted(found.values(), key=lambda t: t[0].trial_id)
    return AreaTrials(listed, sum(len(s) for _, s, _ in listed), unplaced, any(t.sample for t, _, _ in listed))
