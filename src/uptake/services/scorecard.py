"""The scorecard as plain Python: one TA (or measure) across every organisation of a level in a
month, with England, percentiles, deciles and funnel-plot flags; and one organisation's profile
across every TA. Used by the CLI now and by the portal, API and reports."""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa

from ..catalogue.measures import Measure
from ..engine.hierarchy import ENGLAND, ENGLAND_CODE, TRUST
from ..engine.scorecard import SECONDARY_LEVELS
from ..engine.prepare import headline as catalogue_headline
from ..engine.prepare import in_primary_care
from ..engine.stats.ranking import deciles
from ..errors import UptakeError
from ..vocabulary import HEADLINE_LABEL, LEVEL_NAMES
from .analysis import ALL_LEVELS, CHILD_LEVEL, Source
from .funnels import FunnelSummary, funnel_for, measure_headline

DEFAULT_MIN_ITEMS = 5
# Observed figures hidden for a suppressed row: everything computed from dispensing.
SUPPRESSIBLE = ("items", "quantity", "cost", "patients", "ddd", "numerator", "value", "index", "per_1000",
                "per_100_eligible", "items_per_1000", "ddd_per_100k", "percentile", "flag_95", "flag_998",
                "flag_998_od")
# Levels the scorecard can be shown at: the published ones, England, and trusts (hospital issues only).
SCORECARD_LEVELS = (*ALL_LEVELS, TRUST)


@dataclass
class ScoreRow:
    level: str
    org: str
    name: str | None
    month: str
    value: float | None
    percentile: float | None
    flag_95: str | None = None
    flag_998: str | None = None
    flag_998_od: str | None = None
    items: float | None = None
    quantity: float | None = None
    cost: float | None = None
    patients: float | None = None
    ddd: float | None = None
    secondary_quantity: float | None = None  # hospital issues (SCMD), in VMP units
    secondary_cost: float | None = None  # their indicative cost
    secondary_patients: float | None = None  # patients on treatment from hospital issues (in `patients`)
    registered_all: float | None = None
    registered: float | None = None
    eligible: float | None = None
    expected: float | None = None
    index: float | None = None
    per_1000: float | None = None
    per_100_eligible: float | None = None
    items_per_1000: float | None = None
    ddd_per_100k: float | None = None
    numerator: float | None = None
    denominator: float | None = None
    suppressed: bool = False


@dataclass
class Scorecard:
    subject: str  # a TA id or a measure id
    title: str
    kind: str  # 'ta' or 'measure'
    level: str
    month: str
    headline: str
    headline_label: str
    direction: str
    membership: str
    engine: str
    min_items: int
    england: ScoreRow | None
    rows: list[ScoreRow] = field(default_factory=list)
    deciles: dict[str, float] = field(default_factory=dict)
    funnel: FunnelSummary | None = None
    notes: list[str] = field(default_factory=list)
    # activity that reached England but no organisation of this level: {organisations, count, unit}
    unplaced: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def suppressed(self) -> int:
        return sum(r.suppressed for r in self.rows)


def _clean(v):
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, date):
        return v.strftime("%Y-%m")
    return v


def _rows(table: pa.Table) -> list[dict]:
    return [{k: _clean(v) for k, v in r.items()} for r in table.to_pylist()]


def is_small(count: float | None, min_items: int) -> bool:
    """A count disclosure rules hide: 1 to min_items − 1 (zero is not hidden)."""
    return count is not None and 0 < count < min_items


def _suppress(row: ScoreRow, count: float | None, min_items: int) -> ScoreRow:
    if is_small(count, min_items):
        for name in SUPPRESSIBLE:
            setattr(row, name, None)
        row.suppressed = True
    return row


def decile_dict(values) -> dict[str, float]:
    """{p10: …, p90: …} of the values (None left out); {} when there are none."""
    v = np.array([x for x in values if x is not None], dtype=float)
    return {f"p{10 * (k + 1)}": float(q) for k, q in enumerate(deciles(v))} if v.size else {}


def _ta_notes(ta, headline: str, level: str, hospital: bool) -> list[str]:
    """What a reader must know to read the TA's figures at `level`; `hospital`: whether a loaded
    hospital issues (SCMD) file covers the TA's products in the month."""
    notes = []
    primary = in_primary_care(ta)
    secondary = any(p.setting in ("secondary", "both") and p.dmd_vmps for p in ta.products)
    counted_here = level in SECONDARY_LEVELS
    if secondary and not hospital:
        notes.append(f"Not covered: no loaded hospital issues (SCMD) file covers {ta.id}'s products in this month, "
                     "so its use in hospitals is unknown, not zero" + (
                         ": these figures are primary care only." if primary else ", and it has no figure."))
    elif secondary and counted_here:
        notes.append("Patients count primary-care prescribing and hospital issues (SCMD) together; a trust's "
                     "issues count towards the ICB it belongs to, as the Innovation Scorecard attributes a "
                     "provider's use, whatever the patients' home.")
    elif secondary:
        notes.append("Hospital issues (SCMD) cannot be attributed below an ICB: "
                     + ("these figures are primary care only." if primary else f"{ta.id} has no figure at this "
                        "level; see its ICBs, regions or trusts."))
    if level == TRUST:
        notes.append("Trusts have no registered population: they show what they issued, with no rate or rank.")
    if headline not in ("index", "none"):
        if catalogue_headline(ta) == "index":
            notes.append("No disease registers (QOF) loaded for this month, so no expected use: "
                         f"{ta.id} is ranked on {HEADLINE_LABEL[headline]}, not on an uptake index.")
        else:
            notes.append("No sourced eligible fraction and expected share in the catalogue for "
                         f"{ta.id}: ranked on {HEADLINE_LABEL[headline]}, not on an uptake index.")
    if not ta.verified:
        notes.append(f"The catalogue entry for {ta.id} is not fully verified (see `uptake catalogue show {ta.id}`).")
    return notes


def scorecard(an: Source, subject: str, level: str = "icb", month: str | None = None,
              min_items: int = DEFAULT_MIN_ITEMS) -> Scorecard:
    """Every organisation of `level` for one TA or measure in one month (default: the latest)."""
    if level not in SCORECARD_LEVELS:
        raise UptakeError(f"level {level!r}: expected one of {', '.join(SCORECARD_LEVELS)}")
    when = an.month(month)
    item = an.find(subject)
    if level == TRUST and isinstance(item, Measure):
        raise UptakeError("measures count primary-care prescribing: they have no trust level")
    names = an.names()
    if isinstance(item, Measure):
        table = an.measure_table([item.id], [when], (level,))
        rows = _rows(table)
        headline, direction, title, kind = measure_headline(item), item.direction, item.title, "measure"
        notes = ([f"Counts {item.unit} in the numerator and the denominator."] if item.kind == "proportion" else
                 [f"Counts {item.unit} per {item.per:,.0f} registered patients (all ages)."])
    else:
        table = an.ta_table([item.id], [when], (level,))
        rows = _rows(table)
        headline = rows[0]["headline"] if rows else "per_1000"
        direction, title, kind = "higher", item.title, "ta"
        hospital = any(r.get("secondary_quantity") is not None for r in rows)
        notes = _ta_notes(item, headline, level, hospital)
    mixed = an.sources_note(when, level)
    if mixed:
        notes.append(mixed)
    eng_raw = next((r for r in rows if r["level"] == ENGLAND), None)
    org_raw = sorted((r for r in rows if r["level"] == level), key=lambda r: r["org"])
    funnel = funnel_for(headline, org_raw) if level != TRUST else None
    out_rows = []
    for i, r in enumerate(org_raw):
        row = _score_row(r, names)
        if funnel is not None:
            row.flag_95, row.flag_998, row.flag_998_od = funnel.flags(i)
        out_rows.append(row)
    out_rows.sort(key=lambda r: (r.value is None, -(r.value or 0.0)))
    lost = unplaced_activity(an, item, level, when)
    if lost is not None:
        notes.append(unplaced_note(lost, level))
    notes.extend(membership_notes(an, level, when))
    card = Scorecard(
        subject=item.id, title=title, kind=kind, level=level, month=f"{when:%Y-%m}", headline=headline,
        headline_label=HEADLINE_LABEL[headline], direction=direction, membership=an.membership,
        engine=an.engine_name, min_items=min_items,
        england=_score_row(eng_raw, names) if eng_raw else None, rows=out_rows,
        deciles=decile_dict([r.get("value") for r in org_raw]),
        funnel=funnel.summary if funnel is not None else None, notes=notes, unplaced=lost)
    return suppressed(card, min_items)


def unplaced_activity(an: Source, item, level: str, when: date) -> dict | None:
    """{organisations, count, unit} of the activity in `when` that reached England but no
    organisation of `level` (an old or unknown code with no membership), or None when all of it
    was placed."""
    if level in (ENGLAND, TRUST):
        return None
    kind = "measure" if isinstance(item, Measure) else "ta"
    got = an.unplaced(kind, [item.id], [when], (level,)).to_pylist()
    if not got or not got[0]["counted"]:
        return None
    unit = item.unit if isinstance(item, Measure) else "items"
    return {"organisations": int(got[0]["organisations"]), "count": float(got[0]["counted"]), "unit": unit}


ICB_START = date(2022, 7, 1)  # CCGs became sub-ICB locations of the new ICBs (Bassetlaw moved ICB then)


def membership_notes(an: Source, level: str, when: date) -> list[str]:
    """Before July 2022, where sub-ICBs are placed in ICBs by a file not dated to the month (an
    undated snapshot such as epraccur, or a later file), say so: that is where they are now, not
    where they were then (Bassetlaw, 02Q, moved from South Yorkshire and Bassetlaw to Nottingham
    and Nottinghamshire in July 2022)."""
    if level not in ("icb", "region") or an.current_orgs or when >= ICB_START:
        return []
    got = [r for r in an.undated_membership([when]).to_pylist() if r.get("undated")]
    if not got:
        return []
    n, total = got[0]["undated"], got[0]["sub_icbs"]
    return [f"{n} of {total} sub-ICB locations are placed in ICBs by a file not dated to {when:%Y-%m} (an undated "
            "snapshot such as epraccur, or a later file): ICBs as that file has them, not as they were then. Load "
            "ONS's CCG → STP lookup of the year (or the practice mapping of the month) for the membership valid "
            "then."]


def _in_a_sentence(name: str) -> str:
    """'Sub-ICB location' → 'sub-ICB location'; 'ICB', 'GP practice', 'NHS region' as they are."""
    return name if name[:2].isupper() else name[0].lower() + name[1:]


def unplaced_note(lost: dict, level: str) -> str:
    """'n items from k organisations not placed in any ICB', and why."""
    unit = {"actual_cost": "£ of actual cost"}.get(lost["unit"], lost["unit"])
    k = lost["organisations"]
    return (f"{lost['count']:,.0f} {unit} from {k:,} organisation{'s' if k != 1 else ''} not placed in any "
            f"{_in_a_sentence(LEVEL_NAMES[level])}: no organisation file loaded places their codes in this month (load ODS "
            "epraccur, the successor file succ.csv or ONS's CCG lookups); England counts them, this level does not.")


def suppressed(card: Scorecard, min_items: int) -> Scorecard:
    """A copy of the scorecard with the observed figures of every organisation with 1 to
    `min_items` − 1 items (numerator, for a measure) hidden and marked. England is never hidden.
    Statistics (England, deciles, funnel) are computed before suppression. Rows are copied (their
    fields are plain values); England, deciles, funnel and notes are shared with `card`."""
    out = copy.copy(card)
    out.min_items = min_items
    out.rows = [copy.copy(row) for row in card.rows]
    for row in out.rows:
        _suppress(row, row.items if card.kind == "ta" else row.numerator, min_items)
    return out


def _score_row(r: dict, names: dict) -> ScoreRow:
    fields = {k: r.get(k) for k in ScoreRow.__dataclass_fields__ if k in r and k != "suppressed"}
    fields["name"] = names.get((r["level"], r["org"]))
    return ScoreRow(**fields)


# --- one organisation's profile ----------------------------------------------------------------


@dataclass
class ProfileRow:
    ta: str
    title: str
    area: str
    headline: str
    value: float | None
    england_value: float | None
    percentile: float | None
    flag_998_od: str | None
    items: float | None
    patients: float | None
    expected: float | None
    index: float | None
    trend: list[float | None]  # the headline value for the last 12 months, oldest first
    suppressed: bool = False


@dataclass
class Profile:
    org: str
    name: str | None
    level: str
    month: str
    parent: dict | None
    children_level: str | None
    membership: str
    engine: str
    rows: list[ProfileRow] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def profile(an: Source, org: str, month: str | None = None, min_items: int = DEFAULT_MIN_ITEMS,
            trend_months: int = 12) -> Profile:
    """One organisation against England and its peers for every catalogue TA."""
    code = org.strip().upper()
    level = an.org_level(code)
    when = an.month(month)
    months = [m for m in an.months() if m <= when][-trend_months:]
    tas = [t.id for t in an.catalogue.technology_appraisals]
    mine = an.org_series(code if level != ENGLAND else ENGLAND_CODE, level, tas, months)
    if not mine and level != ENGLAND:
        raise UptakeError(f"{code} ({level}) has no prescribing or registered patients in "
                          f"{months[0]:%Y-%m}–{when:%Y-%m}")
    by_ta: dict[str, list[dict]] = {}
    for r in mine:
        by_ta.setdefault(r["ta"], []).append(r)
    out = []
    for ta in an.catalogue.technology_appraisals:
        series = sorted(by_ta.get(ta.id, []), key=lambda r: r["month"])
        latest = next((r for r in series if r["month"] == when), None)
        if latest is None:
            continue
        row = ProfileRow(ta=ta.id, title=ta.title, area=ta.clinical_area, headline=latest["headline"],
                         value=_clean(latest["value"]), england_value=_clean(latest["england_value"]),
                         percentile=_clean(latest.get("percentile")), flag_998_od=latest.get("flag_998_od"),
                         items=_clean(latest["items"]), patients=_clean(latest["patients"]),
                         expected=_clean(latest["expected"]), index=_clean(latest["index"]),
                         trend=[None if is_small(r["items"], min_items) else _clean(r["value"]) for r in series])
        if is_small(latest["items"], min_items):
            row.value = row.percentile = row.items = row.patients = row.index = row.flag_998_od = None
            row.trend = []
            row.suppressed = True
        out.append(row)
    return Profile(org=code, name=an.names().get((level, code)), level=level, month=f"{when:%Y-%m}",
                   parent=an.parent(code, level, when), children_level=CHILD_LEVEL.get(level),
                   membership=an.membership, engine=an.engine_name, rows=out)
