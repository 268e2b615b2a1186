"""The dated organisation hierarchy, month by month, as Ibis expressions.

`org_relations` holds dated memberships from several sources (epraccur: practice → sub-ICB
from the date the practice joined; each monthly practice mapping: practice → PCN → sub-ICB →
ICB → region from its extract date). For a month *m* the membership of a child is the row
valid in *m* (valid_from ≤ m, or unknown; valid_to ≥ m, or open) with the latest valid_from,
so that a newer mapping supersedes an older one from the month it applies. A child with no row
valid in *m* but one that starts later (a mapping first loaded after *m*) takes the earliest
such row: a snapshot's date says when the mapping was published, not when it began. A row
that ended before *m* gives no membership in *m* (a CCG → STP lookup says nothing after June
2022, when CCGs ended): what it leaves unplaced is reported, not guessed.

Organisations succeed one another (ODS succ: 10G → 15D in April 2018, 15D → D4U1Y in April
2021). `successions` holds each old code with every code it passed into and when
(`successor_chains`). An old code with no membership of its own in a month
takes its successors' (its area is theirs now), so that a file keyed by any year's CCG codes
reaches today's ICBs and regions; `succeeded` re-keys activity recorded under an old code in a
month after its succession (with ``current``, whatever the date) to the code that took it over.

With ``current=True`` every month uses the membership valid in the latest month loaded
instead, so that a series follows today's organisations back in time.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import ibis
import pyarrow as pa

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


def _inherited(rel: ibis.Table, successions: ibis.Table) -> ibis.Table:
    """Each old code's copy of its successors' relations (flagged `inherited`)."""
    j = successions.join(rel, successions.new == rel.child)
    return j.select(child=j.old, child_type=j.child_type, parent=j.parent, parent_type=j.parent_type,
                    valid_from=j.valid_from, valid_to=j.valid_to, inherited=ibis.literal(1))


def memberships(relations: ibis.Table, months: ibis.Table, *, current: bool = False,
                latest: ibis.Table | None = None, successions: ibis.Table | None = None) -> ibis.Table:
    """One row per month, child and parent type: (month, child, child_type, parent, parent_type,
    snapshot), `snapshot` saying that the row chosen is not dated to the month.
    With `current`, the membership valid at `latest` (a one-row table with column `month`: the
    latest month loaded; default the latest of `months`) is used for every month. With
    `successions` (old, new, effective), an old code without a relation of its own open in the
    month for a parent type takes its successors'."""
    rel = relations.select("child", "child_type", "parent", "parent_type", "valid_from", "valid_to",
                           inherited=ibis.literal(0))
    if successions is not None:
        rel = rel.union(_inherited(rel, successions), distinct=False)
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
                         order_by=[candidates.inherited, candidates.later, candidates.order, candidates.parent])
    ranked = candidates.mutate(rank=ibis.row_number().over(window))
    # `snapshot`: the row is not dated to the month (undated, like epraccur's, or starting later)
    chosen = ranked.filter(ranked["rank"] == 0).select(
        "at", "child", "child_type", "parent", "parent_type",
        snapshot=ranked.valid_from.isnull() | (ranked.later == 1))
    if current:
        return chosen.cross_join(months.select("month")).select("month", "child", "child_type", "parent",
                                                                 "parent_type", "snapshot")
    return chosen.rename(month="at")


def succeeded(facts: ibis.Table, successions: ibis.Table, months: ibis.Table, *, current: bool = False,
              columns: tuple[str, ...] = (), key: str = "ta") -> ibis.Table:
    """Base facts (month, base_type, base, key, columns...) with each base that had been succeeded
    by the month re-keyed to the organisation it passed into last, and summed again. With
    `current`, every succession known counts, whatever its date: today's organisations."""
    s = successions.cross_join(months.select("month"))
    if not current:
        s = s.filter(s.effective <= s.month)
    w = ibis.window(group_by=[s.month, s.old], order_by=[ibis.desc(s.effective), s.new])
    s = s.mutate(rank=ibis.row_number().over(w))
    latest_new = s.filter(s["rank"] == 0).select("month", "old", "new")
    j = facts.left_join(latest_new, [facts.month == latest_new.month, facts.base == latest_new.old])
    moved = j.select(j.month, j.base_type, base=j.new.fill_null(j.base), **{key: j[key]},
                     **{c: j[c] for c in columns})
    return moved.group_by(["month", "base_type", "base", key]).aggregate(**{c: moved[c].sum() for c in columns})


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


def successor_chains(table: pa.Table) -> pa.Table:
    """(old, new, effective) for every organisation an old code passed into, following chains:
    10G → 15D (2018-04-01) and 15D → D4U1Y (2021-04-01) give 10G → 15D from 2018-04-01 and
    10G → D4U1Y from 2021-04-01. A code with several successors on the same date (a split) has no
    single successor from that date: the chain stops before it. Loops end where they close."""
    nexts: dict[str, dict[date, set[str]]] = defaultdict(lambda: defaultdict(set))
    for old, new, eff in zip(table.column("old").to_pylist(), table.column("new").to_pylist(),
                             table.column("effective").to_pylist()):
        nexts[old][eff].add(new)
    out: dict[tuple[str, str], date] = {}
    for start in nexts:
        todo = [(start, date.min)]
        seen = {start}
        while todo:
            code, after = todo.pop()
            for eff, news in sorted(nexts.get(code, {}).items()):
                if len(news) != 1:
                    continue
                (new,) = news
                when = max(eff, after)
                if new in seen:
                    continue
                seen.add(new)
                out[(start, new)] = min(out.get((start, new), when), when)
                todo.append((new, when))
    return pa.table({"old": pa.array([k[0] for k in out], pa.string()),
                     "new": pa.array([k[1] for k in out], pa.string()),
                     "effective": pa.array(list(out.values()), pa.date32())})
