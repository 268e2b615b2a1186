"""Bounds on what people type into the portal, set where a real user never meets them (issue
24.13: a 5 MB reason and 1 MB rationales were accepted, and dates 0001-01-01 and 9999-12-31).
Forms show them as `maxlength`; the stores (compliance, opportunities, knowledge) refuse anything
beyond them whatever the way in (page, API, admin, file). docs/security.md lists them."""

from __future__ import annotations

from datetime import date, timedelta

SHORT_TEXT = 2_000  # characters: a formulary reason, restrictions, evidence; an opportunity's rationale
LONG_TEXT = 20_000  # a case study's section, a barrier's description, a post, a moderator's note
PAGE_TEXT = 200_000  # a wiki page or a guide (a long guideline summary is ~60,000)
EARLIEST = date(2000, 1, 1)  # NICE published its first technology appraisal (TA1) in March 2000
FUTURE_DAYS = 92  # a decision may be recorded ahead of its date by up to about three months


def text_problem(label: str, value: str, limit: int) -> str | None:
    if len(value or "") > limit:
        return f"{label} is {len(value):,} characters long; at most {limit:,} are kept"
    return None


def date_problem(label: str, day: date, today: date) -> str | None:
    """A date before NICE's first TA, or more than FUTURE_DAYS after today, is a typing mistake."""
    latest = today + timedelta(days=FUTURE_DAYS)
    if day < EARLIEST:
        return f"{label} {day.isoformat()} is before {EARLIEST.year}, when NICE published its first TA"
    if day > latest:
        return (f"{label} {day.isoformat()} is more than {FUTURE_DAYS} days after today "
                f"({today.isoformat()}); expected a date up to {latest.isoformat()}")
    return None


def first_problem(texts: dict[str, tuple[str, int]]) -> str | None:
    """The first of `texts` (label → (value, limit)) that is too long, as text_problem says it."""
    for label, (value, limit) in texts.items():
        if (problem := text_problem(label, value, limit)) is not None:
            return problem
    return None
