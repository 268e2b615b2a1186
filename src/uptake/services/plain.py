"""The public pages' words: each figure of a practice's, PCN's or ICB's profile said in plain
English (short sentences, everyday words, no statistics terms), rounded, and never a count small
enough to point at a person.

Rules (docs/public.md):
- a count is shown only when the scorecard shows it (the same suppression: fewer than
  `min_items` items hides the row) and it is 5 or more; it is then rounded (to 5 under 100, to 10
  under 1,000, to 100 above) and said as "about N";
- a comparison is said in words from the organisation's place among all organisations of its
  kind in England (its percentile) and from its value against England's;
- nothing is said where the data cannot say it (a hospital medicine has no practice figures).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..catalogue.models import TechnologyAppraisal
from ..catalogue.trial_conditions import ConditionGroup
from .scorecard import ProfileRow

SMALLEST_SHOWN = 5

RECOMMENDATION_WORDS = {
    "recommended": "NICE says the NHS should offer it to the people it could help.",
    "optimised": "NICE says the NHS should offer it to some of the people it could help.",
    "not_recommended": "NICE says the NHS should not use it for this.",
    "cancer_drugs_fund": "NICE says it can be used for now, while more is found out about it.",
}

LEVEL_WORDS = {"practice": ("GP practice", "GP practices"), "pcn": ("group of practices", "groups of practices"),
               "sub_icb": ("local area", "local areas"), "icb": ("local NHS area", "local NHS areas"),
               "region": ("NHS region", "NHS regions")}


def about(count: float | None) -> str | None:
    """'about 40' for a count that may be shown, else None (unknown, or under 5)."""
    if count is None or count != count or count < SMALLEST_SHOWN:
        return None
    step = 5 if count < 100 else 10 if count < 1000 else 100
    rounded = max(SMALLEST_SHOWN, int(step * round(count / step)))
    return f"about {rounded:,}"


_UPPER = {"nhs", "pcn", "icb", "ccg", "gp", "uk", "tia"}
_SMALL = {"and", "of", "the", "for", "in", "on", "at", "with"}


def name_words(name: str | None) -> str:
    """An organisation's name as a person writes it: 'NHS SOUTH WEST LONDON INTEGRATED CARE BOARD'
    → 'NHS South West London Integrated Care Board'."""
    out = []
    for i, word in enumerate((name or "").split()):
        low = word.lower()
        out.append(word.upper() if low in _UPPER else low if (i and low in _SMALL) else
                   "-".join(w[:1].upper() + w[1:] for w in low.split("-")))
    return " ".join(out)


def month_text(month: str) -> str:
    """'2022-09' → 'September 2022'."""
    return month_year(date.fromisoformat(month + "-01"))


def month_year(day: date) -> str:
    return f"{day:%B %Y}"


def medicine_names(ta: TechnologyAppraisal) -> str:
    names = list(dict.fromkeys(p.name.split(" (")[0] for p in ta.products)) or [ta.title.split(" for ")[0].lower()]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def place_words(percentile: float | None, level: str) -> str | None:
    """Where the organisation stands among all of its kind, in words."""
    if percentile is None:
        return None
    kind = LEVEL_WORDS.get(level, ("area", "areas"))[1]
    if percentile < 20:
        return f"Fewer people get it here than at most {kind} in England."
    if percentile < 40:
        return f"Not quite as many people get it here as at most {kind} in England."
    if percentile <= 60:
        return f"About as many people get it here as at most {kind} in England."
    if percentile <= 80:
        return f"A few more people get it here than at most {kind} in England."
    return f"More people get it here than at most {kind} in England."


def england_words(value: float | None, england: float | None) -> str | None:
    if value is None or england is None or england <= 0:
        return None
    ratio = value / england
    if ratio < 0.9:
        return "That is less than in England as a whole."
    if ratio > 1.1:
        return "That is more than in England as a whole."
    return "That is about the same as in England as a whole."


LIST = "its list of medicines that local doctors can use"


def formulary_words(status: str | None, deadline: date | None) -> str | None:
    """Where the local NHS's formulary stands on the TA (services.compliance statuses), in words."""
    when = f"{deadline:%d %B %Y}".lstrip("0") if deadline else "soon"
    return {
        "on_time": f"Your local NHS has added it to {LIST}.",
        "late": f"Your local NHS has added it to {LIST}. It did this later than it should have.",
        "overdue": f"Your local NHS should have added it to {LIST} by {when}. It has not done this yet.",
        "rejected": f"Your local NHS has said no to adding it to {LIST}, but NICE says it should be there.",
        "due_soon": f"Your local NHS has until {when} to add it to {LIST}.",
        "not_yet_due": f"Your local NHS has until {when} to add it to {LIST}.",
    }.get(status or "")


@dataclass
class PlainTA:
    """One TA for one organisation, in words."""

    ta: str
    medicine: str
    condition: str
    recommendation: str
    since: str
    hospital: bool
    eligible: str | None
    receiving: str | None
    hidden: bool  # the figures are hidden because so few people are involved
    place: str | None
    england: str | None
    questions: list[str]
    formulary: str | None = None


def plain_ta(ta: TechnologyAppraisal, group: ConditionGroup | None, row: ProfileRow | None, level: str,
             eligible_count: float | None = None) -> PlainTA:
    """`row`: the organisation's profile row for the TA (suppressed as the analyst pages are);
    `eligible_count`: the eligible population the scorecard holds for it (register × fraction)."""
    medicine = medicine_names(ta)
    hospital = bool(ta.products) and all(p.setting == "secondary" for p in ta.products)
    eligible = receiving = place = england = None
    hidden = False
    if row is not None and not hospital:  # (no row: nothing prescribed or registered to count)
        hidden = row.suppressed
        if not hidden:
            receiving = about(row.patients)
            eligible = about(eligible_count)
            place = place_words(row.percentile, level)
            england = england_words(row.value, row.england_value)
            if receiving is None and row.patients:  # under 5: a count that small is not shown
                hidden = True
    return PlainTA(
        ta=ta.id, medicine=medicine, condition=group.name if group else ta.clinical_area.replace("_", " "),
        recommendation=RECOMMENDATION_WORDS.get(ta.recommendation, ""), since=month_year(ta.published),
        hospital=hospital, eligible=eligible, receiving=receiving, hidden=hidden, place=place, england=england,
        questions=[f"Could {medicine} help me?" if " or " not in medicine else "Could one of these medicines help me?",
                   "What are the other choices?",
                   "What are the good and bad points of each one?"])
