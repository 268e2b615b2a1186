"""Figures as people read them, the same on the portal's pages, in reports and in e-mails."""

from __future__ import annotations

import calendar
import math

# The funnel flag allowing for overdispersion (99.8% limits), in words: never colour alone.
FLAG_TEXT = {"low": "Below 99.8% limit", "high": "Above 99.8% limit", "not significant": "Within limits"}


def missing(v) -> bool:
    return v is None or (isinstance(v, float) and not math.isfinite(v))


# What each headline figure is counted in, for a column heading or beside a figure.
HEADLINE_UNIT = {"index": "uptake index", "per_1000": "per 1,000 registered", "items_per_1000": "items per 1,000",
                 "proportion": "share", "rate_per_1000": "per 1,000 registered"}


def signed_money(v, places: int = 2) -> str:
    """Money with its sign before the pound sign: "−£0.11", never "£-0.11"; "£0.00" when it
    rounds to nothing."""
    if missing(v):
        return "—"
    text = f"£{abs(v):,.{places}f}"
    return ("−" if round(v, places) < 0 else "") + text


def points_change(v: float) -> str:
    """A change in a share (0–1) in percentage points: "+1.2 percentage points", "no change"
    when it rounds to nothing (never "-0.0%")."""
    if round(v * 100, 1) == 0:
        return "no change"
    return f"{v * 100:+.1f} percentage points".replace("-", "−")


def headline_value(v, headline: str) -> str:
    """An uptake index or share as a percentage; a rate to 2 decimals."""
    if missing(v):
        return "—"
    if headline in ("index", "proportion"):
        return f"{v:.0%}" if abs(v) >= 0.1 else f"{v:.1%}"
    return f"{v:,.2f}"


def number(v, places: int = 0) -> str:
    return "—" if missing(v) else f"{v:,.{int(places)}f}"


def percent(v) -> str:
    """A percentile rank (0–100) to a whole number."""
    return "—" if missing(v) else f"{v:.0f}"


def money(v) -> str:
    return "—" if missing(v) else f"£{v:,.0f}"


def flag(v) -> str:
    return FLAG_TEXT.get(v, v) if v else "—"


def month_name(iso: str) -> str:
    """'2022-09' (or '2022-09-01') → 'September 2022'."""
    return f"{calendar.month_name[int(iso[5:7])]} {iso[:4]}"


def day(d) -> str:
    """A date as '30 September 2022'."""
    return "—" if d is None else f"{d.day} {calendar.month_name[d.month]} {d.year}"


def about(v) -> str:
    """A count of people no more precise than the sources behind it: two significant figures
    (12,345 → '12,000'; 87 → '87'; 4.2 → '4')."""
    if missing(v):
        return "—"
    n = abs(float(v))
    if n < 100:
        return f"{round(n):,.0f}"
    digits = int(math.floor(math.log10(n))) - 1
    return f"{round(n, -digits):,.0f}"


def people_range(low, high) -> str:
    """'3,900–4,100' from the ends of a range, each rounded as `about`; one figure when they agree."""
    a, b = about(low), about(high)
    return a if a == b else f"{a}–{b}"
