"""The expected use in words: patients not yet reached, the range and where an organisation
stands in it, and why a TA has no expected figure (docs/metrics.md §3.2-3.6). Shared by the
portal's pages, the API, the ICB report and the CLI, so they all say the same."""

from __future__ import annotations

from ..catalogue import figures
from ..formats import about, missing, people_range

POSITION_TEXT = {"below": "below the expected range", "within": "within the expected range",
                 "above": "above the expected range"}


def not_reached_sentence(place: str, ta_id: str, row: dict) -> str | None:
    """'About 4,100 people in NHS X ICB eligible for TA275 are not receiving it (range
    2,900–4,300).' for an organisation-month row below its central expected use; None otherwise."""
    gap = row.get("not_reached")
    if missing(gap) or gap < 0.5:
        return None
    low, high = row.get("not_reached_low"), row.get("not_reached_high")
    span = "" if missing(low) or missing(high) else people_range(max(low, 0.0), max(high, 0.0))
    span = f" (range {span})" if "–" in span else ""  # one source, or ends that round alike: no range
    return f"About {about(gap)} people in {place} eligible for {ta_id} are not receiving it{span}."


def range_text(row: dict) -> str:
    """'expected 3,700 (range 3,200–3,800); 2,900 treated: below the expected range' or ''."""
    if missing(row.get("expected")):
        return ""
    text = f"expected {about(row['expected'])}"
    if not missing(row.get("expected_low")) and not missing(row.get("expected_high")):
        span = people_range(row["expected_low"], row["expected_high"])
        text += f" (range {span})" if "–" in span else ""
    if not missing(row.get("patients")):
        text += f"; {about(row['patients'])} treated"
    if row.get("position"):
        text += f": {POSITION_TEXT[row['position']]}"
    return text


def why_no_expected(ta) -> str | None:
    """Why a TA has no expected use (None when it has one): no eligible population, or no
    uptake figure, in the catalogue's own words on what was searched."""
    if figures.has_expected(ta):
        return None
    pop, up = ta.eligible_population, ta.expected_uptake
    if pop.form == "none":
        return f"No eligible population: no sourced figure was found. {pop.source}"
    return (f"Eligible population {figures.eligible_label(ta)}, but no expected uptake: "
            f"{up.source}")


def summary(ta) -> dict:
    """The catalogue's figures for a TA, as the API and pages show them."""
    return {"eligible": figures.eligible_label(ta), "expected": figures.expected_label(ta),
            "eligible_form": ta.eligible_population.form, "expected_form": ta.expected_uptake.form,
            "driver": ta.eligible_population.driver, "driver_reason": ta.eligible_population.driver_reason or None,
            "why_none": why_no_expected(ta)}


def gaps(rows: list[dict], place: str, catalogue) -> list[dict]:
    """One organisation's TAs with people not yet reached, most first: [{ta, sentence, row}]."""
    out = []
    for r in rows:
        sentence = not_reached_sentence(place, r["ta"], r)
        if sentence:
            out.append({"ta": catalogue.ta(r["ta"]), "sentence": sentence, "row": r})
    return sorted(out, key=lambda d: -d["row"]["not_reached"])
