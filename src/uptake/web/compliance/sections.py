"""The compliance section of a TA page (counts, a map of ICBs by status, each ICB's status
beside its uptake) and the status colours the pages share."""

from __future__ import annotations

from datetime import date

from django.urls import reverse

from ... import charts
from ...services import compliance as rules
from ..pages import map_levels
from . import queries as cq

STATUS_COLOURS = {
    "on_time": charts.PALETTE["green"], "late": charts.PALETTE["warm_yellow"], "rejected": charts.PALETTE["dark_red"],
    "overdue": charts.PALETTE["red"], "due_soon": charts.PALETTE["purple"], "not_yet_due": charts.PALETTE["light_blue"],
    "not_applicable": charts.PALETTE["mid_grey"],
}
TAGS = {"on_time": "green", "late": "yellow", "rejected": "red", "overdue": "red", "due_soon": "purple",
        "not_yet_due": "blue", "not_applicable": "grey"}


def ta_section(ta: str, day: date) -> dict | None:
    """The compliance section of a TA page: counts, a map of ICBs by status, and each ICB's
    status beside its uptake."""
    c = cq.current(day, [ta])
    statuses = c.for_ta(ta)
    if not statuses:
        return None
    rows = rules.beside_uptake(statuses, cq.uptake_by_icb(ta))
    order = {s: i for i, s in enumerate(rules.STATUSES)}
    rows.sort(key=lambda r: (order[r["status"]], r["icb_name"] or r["icb"]))
    section = {"as_of": day, "summary": c.ta_summary(ta), "rows": rows}
    if "icb" in map_levels():
        section["map"] = charts.category_map(
            reverse("map_file", args=["icb"]),
            [{"org": r["icb"], "category": r["status"],
              "detail": (f"{r['days_late']} days late" if r["days_late"] else
                         f"{r['days_overdue']} days overdue" if r["days_overdue"] else r["reason"] or "")}
             for r in rows],
            title=f"{ta}: formulary status by ICB, {day:%d %B %Y}", level_label="ICB", legend="Formulary status",
            categories=[(s, rules.STATUS_LABELS[s], STATUS_COLOURS[s]) for s in rules.STATUSES],
            org_url=reverse("compliance_icb", args=["XXX"]).replace("XXX", "{org}"))
    return section
