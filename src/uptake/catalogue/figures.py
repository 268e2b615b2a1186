"""How the catalogue's eligible populations and expected uptake are sourced: one label per TA
and counts by source type (official / secondary / estimate / none), for `uptake catalogue list`
and the pages that say where a figure comes from."""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path

import yaml

from .models import SOURCE_KINDS, TechnologyAppraisal

ENGLAND_FILE = Path(__file__).parent / "data" / "england.yaml"

KINDS = (*SOURCE_KINDS, "none")


def _people(low: float | None, central: float | None, high: float | None) -> str:
    if central is None:
        return ""
    text = f"{central:,.0f}"
    return text if low == high == central else f"{text} ({low:,.0f}–{high:,.0f})"


def _share(low: float | None, central: float | None, high: float | None) -> str:
    text = f"{central:.3g}"
    return text if low == high == central else f"{text} ({low:.3g}–{high:.3g})"


def _label(block, shares: tuple, of: str, people: str) -> str:
    if block.form == "none":
        return "—"
    if block.form == "national":
        return f"{_people(block.count_low, block.count, block.count_high)} {people}, {block.source_kind}"
    return f"{_share(*shares)} of {of}, {block.source_kind}"


def eligible_label(ta: TechnologyAppraisal) -> str:
    """'260,000 (250,000–260,000) people, secondary', '0.77 of AF, estimate' or '—'."""
    pop = ta.eligible_population
    return _label(pop, (pop.fraction_low, pop.fraction, pop.fraction_high), pop.register or "registered", "people")


def expected_label(ta: TechnologyAppraisal) -> str:
    """'0.675 (0.55–0.8) of eligible, estimate', '300,000 people treated, official' or '—'."""
    up = ta.expected_uptake
    return _label(up, (up.share_low, up.share, up.share_high), "eligible", "people treated")


def has_expected(ta: TechnologyAppraisal) -> bool:
    """Whether the engine can compute an expected use for the TA: a share of an eligible
    population, or national counts of people treated."""
    up, pop = ta.expected_uptake, ta.eligible_population
    return up.form == "national" or (up.form == "share" and pop.form != "none")


def counts(tas: list[TechnologyAppraisal]) -> dict[str, dict[str, int]]:
    """{'eligible': {'official': n, 'secondary': n, 'estimate': n, 'none': n}, 'expected': {...}}."""
    eligible = Counter(t.eligible_population.source_kind or "none" for t in tas)
    expected = Counter((t.expected_uptake.source_kind if has_expected(t) else None) or "none" for t in tas)
    return {"eligible": {k: eligible.get(k, 0) for k in KINDS}, "expected": {k: expected.get(k, 0) for k in KINDS}}


@cache
def _england() -> dict:
    return yaml.safe_load(ENGLAND_FILE.read_text())


def england_registered() -> float:
    """England's registered patients, the reference total that says how much of England a
    warehouse holds when national counts are apportioned (data/england.yaml, with its source)."""
    return float(_england()["registered_patients"])


def england_register(code: str) -> float | None:
    """England's total on a QOF register in 2018-19 (data/england.yaml), or None."""
    value = _england()["registers"].get(code)
    return None if value is None else float(value)
