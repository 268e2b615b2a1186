"""The dated organisation hierarchy, month by month, as Ibis expressions.

`org_relations` holds dated memberships from several sources (epraccur: practice → sub-ICB
from the date the practice joined; each monthly practice mapping: practice → PCN → sub-ICB →
ICB → region from its extract date). For a month *m* the membership of a child is the row
valid in *m* (valid_from ≤ m, or unknown; valid_to ≥ m, or open) with the latest valid_from,
so that a newer mapping supersedes an older one from the month it applies. A child with no row
valid in *m* but one that starts later (a mapping first loaded after *m*) takes the earliest
such row: a snapshot's date says when the mapping was published, not when it began.

With ``current=True`` every month uses the membership valid in the latest month loaded
instead, so that a series follows today's organisations back in time.
"""

from __future__ import annotations

import ibis

from ..vocabulary import ENGLAND, ENGLAND_CODE, TRUST  # noqa: F401 (re-exported to the engine's callers)
from ..vocabulary import POPULATION_LEVELS as LEVELS

# Trusts are a level the engine computes on request (hospital issues only: no registered patients),
# after the population levels; they are not among the levels published for the portal.
ENGINE_LEVELS = (*LEVELS, TRUST)

# How each kind of base organisation reaches each level: the chain of parent types to follow.
PATHS: dict[str, dict[str, tuple[str, ...]]] = {
    "practice": {"practice": (), "pcn": ("pcn",), "sub_icb": ("sub_icb",), "icb": ("sub_icb", "icb"),
                 "region": ("sub_icb", "icb", "region")},
    "pcn": {"pcn": (), "sub_icb": ("sub_icb",), "icb": ("sub_icb", "icb"), "region": ("sub_icb", "icb", "region")},
    "sub_icb": {"sub_icb": (), "icb": ("icb",), "region": ("icb", "region")},
    "icb": {"icb": (), "region": ("region",)},
    "region": {"region": ()},
    # ODS etr gives each trust's ICB (its STP) and region: hospital issues follow the ICB.
    "trust": {"trust": (), "icb": ("icb",), "region": ("icb", "region")},
}


def _day_number(d: ibis.Value) -> ibis.Value:
    """A sortable whole number for a date (yyyymmdd); 0 when unknown."""
    return (d.year() * 10000 + d.month() * 100 + d.day()).fill_null(0)


def memberships(relations: ibis.Table, months: ibis.Table, *, current: bool = False,
                latest: ibis.Table | None = None) -> ibis.Table:
    """One row per month, child and parent type: (month, child, child_type, parent, parent_type).
    With `current`, the membership valid at `latest` (a one-row table with column `month`: the
    latest month loaded; default the latest of `months`) is used for every month."""
    rel = relations.select("child", "child_type", "parent", "parent_type", "valid_from", "valid_to")
    if current:
        at = latest if latest is not None else months
        grid = rel.cross_join(at.aggregate(at=at.month.max()))
    else:
        grid = rel.cross_join(months.select(at=months.month))
    open_at = grid.valid_to.isnull() | (grid.valid_to >= grid.at)
    started = grid.valid_from.isnull() | (grid.valid_from <= grid.at)
    day = _day_number(grid.valid_from)
    candidates = grid.filter(open_at).mutate(
        later=ibis.ifelse(started, 0, 1),
        order=ibis.ifelse(started, -day, day),
    )
    window = ibis.window(group_by=[candidates.at, candidates.child, candidates.child_type, candidates.parent_type],
                         order_by=[candidates.later, candidates.order, candidates.parent])
    ranked = candidates.mutate(rank=ibis.row_number().over(window))
    chosen = ranked.filter(ranked["rank"] == 0).select("at", "child", "child_type", "parent", "parent_type")
    if current:
        return chosen.cross_join(months.select("month")).select("month", "child", "child_type", "parent",
                                                                 "parent_type")
    return chosen.rename(month="at")


def rollup(member: ibis.Table, base_type: str, level: str) -> ibis.Table | None:
    """(month, base, org): the organisation at `level` that each base organisation of
    `base_type` belongs to in each month, following PATHS; None when the level is not above
    the base type. Identity (level == base_type) is left to the caller, which knows its bases."""
    chain = PATHS.get(base_type, {}).get(level)
    if not chain:
        return None
    step_type = base_type
    result = None
    for parent_type in chain:
        step = member.filter((member.child_type == step_type) & (member.parent_type == parent_type))
        if result is None:
            result = step.select("month", base=step.child, org=step.parent)
        else:
            step = step.select("month", child=step.child, parent=step.parent)
            result = result.join(step, [result.month == step.month, result.org == step.child]).select(
                result.month, result.base, org=step.parent)
        step_type = parent_type
    return result
