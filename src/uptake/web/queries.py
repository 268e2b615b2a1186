"""What the pages and the API ask of the publication, memoised per publication (see store)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow.compute as pc

from ..catalogue.measures import Measure
from ..engine.hierarchy import ENGLAND
from ..errors import UptakeError
from ..services import official as of
from ..services import ranking as rk
from ..services import expected as expected_words
from ..services import scorecard as sc
from ..services import variation as var
from ..services.analysis import check_level
from ..services.search import Directory
from .store import cached, published


class NotFound(UptakeError):
    """A TA, measure or organisation the publication does not have (HTTP 404)."""


def subject(key: str):
    """A TA or a measure by id (TA275, ta275, 275, doac_share), or NotFound."""
    pub = published()
    try:
        return pub.find(key if not key.isdigit() else f"TA{key}")
    except (UptakeError, LookupError) as exc:
        message = str(exc)
        if message.startswith("/") and ": " in message:  # the catalogue names its folder: not for the web
            message = message.split(": ", 1)[1]
        raise NotFound(message) from None


def organisation(code: str) -> dict:
    try:
        return published().organisation(code)
    except UptakeError as exc:
        raise NotFound(str(exc)) from None


def month(text: str | None) -> date:
    return published().month(text)


def level(text: str) -> str:
    return check_level(text)


@cached
def scorecard(key: str, lv: str, when: str | None, min_items: int = sc.DEFAULT_MIN_ITEMS) -> sc.Scorecard:
    return sc.scorecard(published(), key, level(lv), when, min_items=min_items)


@cached
def profile(code: str, when: str | None) -> sc.Profile:
    return sc.profile(published(), code, when)


@cached
def variation(key: str, lv: str, when: str | None) -> var.Variation:
    return var.variation(published(), key, level(lv), when)


@cached
def ranking(key: str, lv: str, when: str | None, parent: str | None) -> rk.Ranking:
    """The level's ranking with each organisation's gap, only `parent`'s members if given."""
    return rk.ranking(published(), key, level(lv), when, parent=parent)


@cached
def official(ta: str, lv: str) -> of.OfficialFigure:
    """The Innovation Scorecard's own figure (daily doses per 100,000 per quarter) at a level."""
    return of.official_figure(published(), ta, level(lv))


@cached
def org_gaps(code: str, when: str | None) -> dict:
    """The organisation's gap in patients and cost on every TA, by TA."""
    return rk.org_gaps(published(), code, when)


@cached
def diffusion(ta: str, lv: str) -> dict:
    """The stored diffusion of a TA at region or ICB level; computed (and memoised) at others."""
    stored = published().diffusion(ta, lv)
    if stored is not None:
        return stored
    from ..services.diffusion import diffusion as fit

    return fit(published(), ta, level(lv)).to_dict()


@cached
def decile_series(key: str, lv: str) -> list[dict]:
    """Deciles of the headline value across the level's organisations, every month."""
    pub = published()
    item = subject(key)
    months = pub.months()
    if isinstance(item, Measure):
        t = pub.measure_table([item.id], months, (lv,))
    else:
        t = pub.ta_table([item.id], months, (lv,))
    t = t.filter(pc.equal(t.column("level"), lv))
    out = []
    month_col = t.column("month").to_numpy(zero_copy_only=False)
    values = t.column("value").to_numpy(zero_copy_only=False).astype(float)
    for m in months:
        v = values[(month_col == np.datetime64(m)) & np.isfinite(values)]
        if v.size:
            out.append({"month": f"{m:%Y-%m}", **sc.decile_dict(v)})
    return out


@cached
def org_values(key: str, lv: str, code: str) -> list[dict]:
    """One organisation's headline value every month ({month, value}), months whose figure the
    disclosure rule hides (1–4 items) left out: the highlighted line on the deciles chart."""
    pub = published()
    item = subject(key)
    months = pub.months()
    measure = isinstance(item, Measure)
    t = (pub.measure_table if measure else pub.ta_table)([item.id], months, (lv,))
    out = []
    for r in t.filter(pc.and_(pc.equal(t.column("level"), lv), pc.equal(t.column("org"), code))).to_pylist():
        count = r.get("numerator") if measure else r.get("items")
        if r["value"] is not None and np.isfinite(r["value"]) and not sc.is_small(count, sc.DEFAULT_MIN_ITEMS):
            out.append({"month": f"{r['month']:%Y-%m}", "value": float(r["value"])})
    return sorted(out, key=lambda d: d["month"])


@cached
def org_at(code: str, lv: str) -> str | None:
    """The organisation at level `lv` that `code` is or belongs to (a practice's ICB), or None."""
    pub = published()
    org = organisation(code)
    here, c = org["level"], org["code"]
    when = pub.months()[-1]
    for _ in range(8):
        if here == lv:
            return c
        up = pub.parent(c, here, when)
        if up is None:
            return None
        here, c = up["level"], up["org"]
    return None


@cached
def directory() -> Directory:
    pub = published()
    return Directory(pub.organisations(), pub.catalogue)


@cached
def children(code: str, lv: str) -> list[dict]:
    pub = published()
    return pub.children(code, lv, pub.months()[-1])


@cached
def home(when: str | None) -> dict:
    """England's headline: TAs furthest behind expected use, those with the widest unwarranted
    variation among ICBs (the systematic component of variation, beyond chance), the most recent."""
    pub = published()
    now = pub.month(when)
    tas = pub.catalogue.technology_appraisals
    eng = {r["ta"]: r for r in pub.ta_table([t.id for t in tas], [now], (ENGLAND,)).to_pylist()
           if r["level"] == ENGLAND}
    behind, widest = [], []
    for t in tas:
        r = eng.get(t.id)
        if r is None or r["headline"] == "none":
            continue
        if r["headline"] == "index" and r["value"] is not None:
            behind.append({"ta": t, "value": r["value"], "headline": r["headline"]})
        v = variation(t.id, "icb", f"{now:%Y-%m}")
        scv = v.summary.get("scv")  # the systematic component: variation beyond chance
        if scv is not None and np.isfinite(scv):
            widest.append({"ta": t, "scv": scv, "p90_p10": v.summary.get("p90_p10"), "headline": r["headline"],
                           "lagging": v.scorecard.funnel.outside_998_low_od if v.scorecard.funnel else None})
    behind.sort(key=lambda d: d["value"])
    widest.sort(key=lambda d: -d["scv"])
    recent = sorted(tas, key=lambda t: t.published, reverse=True)[:5]
    recent_rows = []
    for t in recent:
        try:
            d = diffusion(t.id, "icb") if t.id in eng else None
        except UptakeError:  # no prescribing since it was published
            d = None
        recent_rows.append({"ta": t, "england": eng.get(t.id), "diffusion": d})
    gaps = expected_words.gaps([eng[t.id] for t in tas if t.id in eng], "England", pub.catalogue)
    expected_rows = [{"ta": t, "england": eng.get(t.id), "range": expected_words.range_text(eng.get(t.id) or {}),
                      "why": expected_words.why_no_expected(t)} for t in tas]
    return {"month": f"{now:%Y-%m}", "behind": behind[:5], "widest": widest[:5], "recent": recent_rows,
            "gaps": gaps[:5], "expected": expected_rows,
            "with_expected": sum(1 for d in expected_rows if d["range"])}
