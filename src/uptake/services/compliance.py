"""NICE's compliance regime for local formularies, as rules over plain data.

Every positive NICE technology appraisal recommendation must be in each relevant local formulary
within the TA's funding period (90 days from publication unless NICE says otherwise: 30 days for
TA733 inclisiran, for example; reference/methods.md §3.2). A formulary serves one ICB or several;
its decisions on a TA form a dated sequence (rejected, then included, say). For a date D ("as
of"), the decision that applies is the latest one dated on or before D, so any earlier day can be
replayed exactly.

Status of an ICB × TA as of D (day counting: publication day = day 0, so a decision on day 90 of a
90-day TA is on time and day 91 is one day late):

    on_time         included (with or without NICE's restrictions) within the funding period
    late            included after it; `days_late` says by how many days
    rejected        the formulary's decision in force is not to include it: non-compliant
    not_applicable  the formulary says it does not apply (e.g. hospital only), with a reason
    overdue         the deadline has passed with no decision in force
    due_soon        no decision yet, the deadline is 0–14 days away
    not_yet_due     no decision yet, the deadline is more than 14 days away

A decision dated before publication (added at draft guidance) counts from publication: 0 days.
The inclusion date is the first inclusion of the unbroken run of inclusions in force: a TA
rejected on day 20 and included on day 120 was included 30 days late.

No SQL and no Django here: the portal's store, the CLI and the tests hand these functions plain
`Decision`s, `Icb`s and the catalogue.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from ..catalogue import Catalogue

DECISIONS = ("included", "included_with_restrictions", "not_applicable", "rejected")
INCLUDED = ("included", "included_with_restrictions")
POSITIVE = ("recommended", "optimised", "cancer_drugs_fund")
DUE_SOON_DAYS = 14
DEFAULT_DEADLINE_DAYS = 90

STATUSES = ("overdue", "rejected", "late", "due_soon", "not_yet_due", "on_time", "not_applicable")
STATUS_LABELS = {
    "on_time": "On time",
    "late": "Late",
    "rejected": "Rejected (non-compliant)",
    "not_applicable": "Not applicable",
    "overdue": "Overdue",
    "due_soon": "Due soon",
    "not_yet_due": "Not yet due",
}
DECISION_LABELS = {
    "included": "Included",
    "included_with_restrictions": "Included with restrictions matching NICE",
    "not_applicable": "Not applicable",
    "rejected": "Rejected",
}
# Statuses that have reached a verdict against the deadline: the denominator of "% on time".
JUDGED = ("on_time", "late", "overdue", "rejected")


@dataclass(frozen=True)
class Decision:
    """One formulary decision on one TA, as recorded."""

    formulary: str
    ta: str
    decision: str
    decision_date: date
    restrictions: str = ""
    reason: str = ""
    evidence: str = ""
    recorded_by: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["decision_date"] = self.decision_date.isoformat()
        return d


@dataclass(frozen=True)
class Icb:
    """An ICB, the formulary that serves it (None when none is recorded) and its open period."""

    code: str
    name: str | None = None
    formulary: str | None = None
    opened: date | None = None
    closed: date | None = None

    def open_on(self, day: date) -> bool:
        return (self.opened is None or self.opened <= day) and (self.closed is None or day <= self.closed)


@dataclass(frozen=True)
class Requirement:
    """A TA that must be in formularies: its publication and funding deadline."""

    ta: str
    title: str
    published: date
    deadline_days: int
    clinical_area: str = ""

    @property
    def deadline(self) -> date:
        return self.published + timedelta(days=self.deadline_days)


@dataclass(frozen=True)
class Status:
    icb: str
    icb_name: str | None
    formulary: str | None
    ta: str
    ta_title: str
    published: date
    deadline: date
    deadline_days: int
    status: str
    decision: Decision | None = None
    included_on: date | None = None
    days_to_inclusion: int | None = None  # from publication, never below 0
    days_late: int | None = None
    days_overdue: int | None = None
    days_left: int | None = None  # until the deadline, for due_soon and not_yet_due

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def compliant(self) -> bool | None:
        """True when the formulary meets the regime as of the date, False when it does not,
        None when it is not yet judged (not yet due, due soon) or not applicable."""
        if self.status in ("on_time", "late"):
            return True
        if self.status in ("overdue", "rejected"):
            return False
        return None

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "decision"}
        for k in ("published", "deadline", "included_on"):
            d[k] = d[k].isoformat() if d[k] else None
        d["label"] = self.label
        d["decision"] = self.decision.decision if self.decision else None
        d["decision_date"] = self.decision.decision_date.isoformat() if self.decision else None
        d["reason"] = self.decision.reason if self.decision else ""
        d["restrictions"] = self.decision.restrictions if self.decision else ""
        d["evidence"] = self.decision.evidence if self.decision else ""
        return d


def requirements(catalogue: Catalogue, as_of: date) -> list[Requirement]:
    """The catalogue's TAs with a positive recommendation published on or before `as_of`."""
    out = []
    for t in catalogue.technology_appraisals:
        if t.recommendation not in POSITIVE or t.status == "withdrawn" or t.published > as_of:
            continue
        out.append(Requirement(t.id, t.title, t.published, t.funding_deadline_days or DEFAULT_DEADLINE_DAYS,
                               t.clinical_area))
    return sorted(out, key=lambda r: (r.published, r.ta))


def status_of(req: Requirement, decisions: Sequence[Decision], as_of: date, *, icb: str = "",
              icb_name: str | None = None, formulary: str | None = None) -> Status:
    """The status of one TA for one formulary as of a date, from that formulary's decisions on
    the TA (any order; those after `as_of` are ignored)."""
    base: dict[str, Any] = dict(icb=icb, icb_name=icb_name, formulary=formulary, ta=req.ta, ta_title=req.title,
                published=req.published, deadline=req.deadline, deadline_days=req.deadline_days)
    in_force = sorted((d for d in decisions if d.decision_date <= as_of), key=lambda d: d.decision_date)
    if not in_force:
        left = (req.deadline - as_of).days
        if left < 0:
            return Status(**base, status="overdue", days_overdue=-left)
        return Status(**base, status="due_soon" if left <= DUE_SOON_DAYS else "not_yet_due", days_left=left)
    latest = in_force[-1]
    if latest.decision == "not_applicable":
        return Status(**base, status="not_applicable", decision=latest)
    if latest.decision == "rejected":
        return Status(**base, status="rejected", decision=latest)
    first = latest
    for d in reversed(in_force):
        if d.decision not in INCLUDED:
            break
        first = d
    days = max(0, (first.decision_date - req.published).days)
    late = days - req.deadline_days
    return Status(**base, status="late" if late > 0 else "on_time", decision=latest,
                  included_on=first.decision_date, days_to_inclusion=days, days_late=late if late > 0 else None)


@dataclass
class IcbSummary:
    """One ICB's compliance as of a date: counts by status, % on time and days to inclusion."""

    icb: str
    name: str | None
    formulary: str | None
    counts: dict[str, int] = field(default_factory=dict)
    judged: int = 0
    on_time_pct: float | None = None  # on time ÷ (on time + late + overdue + rejected) × 100
    median_days: float | None = None  # to inclusion, over the TAs included
    rank: int | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        for s in STATUSES:
            d[s] = self.counts.get(s, 0)
        del d["counts"]
        return d


def _tally(statuses: Sequence[Status]) -> dict:
    """Counts by status, how many are judged, % on time among those, and the median days to
    inclusion over the TAs included."""
    counts = {k: 0 for k in STATUSES}
    for s in statuses:
        counts[s.status] += 1
    judged = sum(counts[k] for k in JUDGED)
    days = [s.days_to_inclusion for s in statuses if s.days_to_inclusion is not None]
    return {"counts": counts, "judged": judged, "on_time_pct": 100.0 * counts["on_time"] / judged if judged else None,
            "median_days": float(statistics.median(days)) if days else None}


@dataclass
class Compliance:
    """Every ICB × TA status as of a date, and what the pages and the CLI summarise from it."""

    as_of: date
    statuses: list[Status]
    icbs: list[Icb]

    def for_icb(self, code: str) -> list[Status]:
        return [s for s in self.statuses if s.icb == code]

    def for_ta(self, ta: str) -> list[Status]:
        return [s for s in self.statuses if s.ta == ta]

    def summaries(self) -> list[IcbSummary]:
        """ICBs ranked by % on time (highest first), then by median days to inclusion (fewest
        first), then by code; ICBs with nothing judged yet come last, unranked."""
        rows: dict[str, list[Status]] = defaultdict(list)
        for s in self.statuses:
            rows[s.icb].append(s)
        out = []
        for icb in self.icbs:
            t = _tally(rows.get(icb.code, []))
            out.append(IcbSummary(icb.code, icb.name, icb.formulary, t["counts"], t["judged"], t["on_time_pct"],
                                  t["median_days"]))
        judged = [s for s in out if s.on_time_pct is not None]
        ranked = sorted(judged, key=lambda s: (-(s.on_time_pct or 0.0),
                                                s.median_days if s.median_days is not None else 1e9, s.icb))
        for i, summary in enumerate(ranked, 1):
            summary.rank = i
        return ranked + sorted((s for s in out if s.on_time_pct is None), key=lambda s: s.icb)

    def national(self) -> dict:
        """England: counts by status, % on time and the median days to inclusion over every ICB × TA."""
        return {"as_of": self.as_of.isoformat(), "icbs": len(self.icbs), **_tally(self.statuses)}

    def ta_summary(self, ta: str) -> dict:
        mine = self.for_ta(ta)
        counts = _tally(mine)["counts"]
        included = counts["on_time"] + counts["late"]
        return {"ta": ta, "icbs": len(mine), "counts": counts, "included": included,
                "not_included": counts["overdue"] + counts["rejected"] + counts["due_soon"] + counts["not_yet_due"]}


def compliance(catalogue: Catalogue, icbs: Iterable[Icb], decisions: Iterable[Decision], as_of: date,
               *, tas: Iterable[str] | None = None) -> Compliance:
    """The status of every TA requirement for every ICB open on `as_of`."""
    by_pair: dict[tuple[str, str], list[Decision]] = defaultdict(list)
    for d in decisions:
        by_pair[(d.formulary, d.ta)].append(d)
    reqs = requirements(catalogue, as_of)
    if tas is not None:
        wanted = {t.upper() for t in tas}
        reqs = [r for r in reqs if r.ta in wanted]
    open_icbs = sorted((i for i in icbs if i.open_on(as_of)), key=lambda i: i.code)
    statuses = [status_of(r, by_pair.get((i.formulary, r.ta), []) if i.formulary else [], as_of,
                          icb=i.code, icb_name=i.name, formulary=i.formulary)
                for i in open_icbs for r in reqs]
    return Compliance(as_of, statuses, open_icbs)


def beside_uptake(statuses: Sequence[Status], uptake: dict[str, dict]) -> list[dict]:
    """Each ICB's compliance status for one TA beside its uptake (`uptake`: ICB code → a
    scorecard row with `value`, `percentile` and `flag`), with what the two together suggest:
    a formulary in place with low uptake points past the formulary; a late or missing formulary
    decision is a barrier in itself."""
    out = []
    for s in statuses:
        u = uptake.get(s.icb) or {}
        pct = u.get("percentile")
        low = u.get("flag") == "low" or (pct is not None and pct < 20)
        if s.status in ("overdue", "rejected"):
            reading = "formulary is a barrier: not included" + ("; uptake is low" if low else "")
        elif s.status == "late":
            reading = "included late" + ("; uptake still low: look beyond the formulary" if low else "")
        elif s.status == "on_time":
            reading = "in the formulary on time" + ("; uptake low: the barrier is elsewhere" if low else "")
        else:
            reading = STATUS_LABELS[s.status].lower()
        out.append({**s.to_dict(), "value": u.get("value"), "percentile": pct, "flag": u.get("flag"),
                    "uptake_low": low, "reading": reading})
    return out


def icbs_of(source, formularies: dict[str, str], month: date | None = None) -> list[Icb]:
    """The ICBs of a scorecard source (the engine's or the published one) in its latest month,
    each with the formulary the portal's database says it uses; ICBs that only the database
    knows are added (a formulary may be recorded before its ICB's prescribing is loaded)."""
    from ..engine.hierarchy import ENGLAND, ENGLAND_CODE

    when = month or source.month(None)
    names = source.names()
    found: dict[str, Icb] = {}
    for region in source.children(ENGLAND_CODE, ENGLAND, when):
        for icb in source.children(region["org"], "region", when):
            found[icb["org"]] = Icb(icb["org"], icb["name"], formularies.get(icb["org"]))
    for code, form in formularies.items():
        if code not in found:
            found[code] = Icb(code, names.get(("icb", code)), form)
    return sorted(found.values(), key=lambda i: i.code)
