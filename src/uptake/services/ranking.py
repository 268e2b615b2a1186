"""A TA's (or measure's) ranking at one level, optionally only the organisations inside one parent
("practices in my ICB on this TA"), with each organisation's gap: the patients (and their cost)
it would add by reaching the national benchmark, the opportunity's 80th centile of its level.
One function for the pages, the CSV and the API."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..engine.hierarchy import ENGLAND, ENGLAND_CODE
from ..errors import UptakeError
from ..vocabulary import LEVEL_NAMES, PUBLISHED_LEVELS
from .analysis import Source
from .scorecard import DEFAULT_MIN_ITEMS, ScoreRow
from .variation import variation


@dataclass
class RankedRow:
    org: str
    name: str | None
    rank: int | None  # among every organisation of the level in England, highest value first
    value: float | None
    percentile: float | None
    flag_998_od: str | None
    numerator: float | None
    denominator: float | None
    patients: float | None
    expected: float | None
    gap_patients: float | None  # 0 at or above the benchmark; None when hidden or not measured
    gap_cost: float | None  # a month, at England's cost per patient-month
    suppressed: bool
    row: ScoreRow = field(repr=False)

    def to_dict(self) -> dict:
        d = asdict(self)
        del d["row"]
        return d


@dataclass
class Ranking:
    subject: str
    level: str
    month: str
    headline: str
    parent: dict | None  # {level, org, name} when filtered to one organisation's members
    benchmark: float | None  # the value at the opportunity's centile across England's organisations
    centile: int | None
    rows: list[RankedRow]
    gap_patients: float | None  # the rows' total
    gap_cost: float | None

    def to_dict(self) -> dict:
        d = asdict(self)
        for r in d["rows"]:
            del r["row"]
        return d


def members(an: Source, parent: str, level: str, codes: list[str], when) -> tuple[dict, set[str]]:
    """The organisation `parent` ({level, org, name}) and which of `codes` (organisations of
    `level`) belong to it in `when`, walking up the hierarchy (a practice without a PCN belongs
    to its sub-ICB directly)."""
    code = parent.strip().upper()
    plevel = an.org_level(code)
    me = {"level": plevel, "org": code, "name": an.names().get((plevel, code)) or ("England" if code == ENGLAND_CODE
                                                                                   else None)}
    order = list(PUBLISHED_LEVELS)
    if order.index(plevel) <= order.index(level):
        below = ", ".join(order[:order.index(plevel)]) or "none"
        raise UptakeError(f"parent {code} ({LEVEL_NAMES[plevel]}) has no {LEVEL_NAMES[level]}s inside it: "
                          f"{LEVEL_NAMES[plevel]}: choose a level below it ({below})")
    if plevel == ENGLAND:
        return me, set(codes)
    inside = set()
    for org in codes:
        lv, c = level, org
        for _ in order:
            up = an.parent(c, lv, when)
            if up is None:
                break
            lv, c = up["level"], up["org"]
            if (lv, c) == (plevel, code):
                inside.add(org)
                break
            if order.index(lv) >= order.index(plevel):
                break
    return me, inside


def ranking(an: Source, subject: str, level: str = "icb", month: str | None = None, parent: str | None = None,
            min_items: int = DEFAULT_MIN_ITEMS) -> Ranking:
    """Every organisation of `level` (only those inside `parent` if given), highest value first,
    with its national rank and its gap to the national benchmark."""
    var = variation(an, subject, level, month, min_items=min_items)
    card = var.scorecard
    counts = {p.org: (p.numerator, p.denominator) for p in var.points}
    opp = var.opportunity
    gaps = {d["org"]: d for d in opp.by_org} if opp else {}
    ranks = {r.org: i + 1 for i, r in enumerate(r for r in card.rows if r.value is not None)}
    who, inside = None, None
    if parent:
        who, inside = members(an, parent, level, [r.org for r in card.rows], an.month(card.month))
    rows = []
    for r in card.rows:
        if inside is not None and r.org not in inside:
            continue
        measured = opp is not None and not r.suppressed and r.value is not None
        gap = gaps.get(r.org)
        rows.append(RankedRow(
            org=r.org, name=r.name, rank=ranks.get(r.org), value=r.value, percentile=r.percentile,
            flag_998_od=r.flag_998_od, numerator=counts.get(r.org, (None, None))[0],
            denominator=counts.get(r.org, (None, None))[1], patients=r.patients, expected=r.expected,
            gap_patients=(gap["additional_patients"] if gap else 0.0) if measured else None,
            gap_cost=((gap["additional_cost"] if gap else 0.0) if opp.additional_cost is not None else None)
            if measured else None,
            suppressed=r.suppressed, row=r))
    total = sum(r.gap_patients for r in rows if r.gap_patients is not None) if opp else None
    cost = sum(r.gap_cost for r in rows if r.gap_cost is not None) if opp and opp.additional_cost is not None \
        else None
    return Ranking(subject=card.subject, level=level, month=card.month, headline=card.headline, parent=who,
                   benchmark=opp.benchmark if opp else None, centile=opp.centile if opp else None, rows=rows,
                   gap_patients=total, gap_cost=cost)


def org_gaps(an: Source, code: str, month: str | None = None) -> dict[str, RankedRow]:
    """One organisation's row in each TA's ranking at its level (its gap in patients and cost
    to the national benchmark), by TA; {} for England, which has no peers."""
    code = code.strip().upper()
    level = an.org_level(code)
    if level == ENGLAND:
        return {}
    out = {}
    for ta in an.catalogue.technology_appraisals:
        try:
            rows = ranking(an, ta.id, level, month).rows
        except UptakeError:  # not measurable at this level or month
            continue
        mine = next((r for r in rows if r.org == code), None)
        if mine is not None:
            out[ta.id] = mine
    return out
