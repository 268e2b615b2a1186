"""The domain's words, defined once: the levels of organisation and the headline figures.

Every layer derives what it needs from here — the engine its levels, the services their
parent/child maps and names, the API its types, the pages their labels — so that adding a level
or a headline is one edit in this file (docs/architecture.md, "Glossary").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Level:
    code: str  # as in the warehouse, the publication, the API and the URLs
    name: str  # as a person reads it ("Sub-ICB location")
    parent: str | None  # the level above, along the population hierarchy
    published: bool = True  # in the publication the portal reads
    population: bool = True  # has registered patients (the engine's population levels)


# Lowest first. England is the root; trusts (hospital issues only, no registered patients) sit
# beside the population hierarchy, counted towards their ICB.
LEVELS: tuple[Level, ...] = (
    Level("practice", "GP practice", parent="pcn"),
    Level("pcn", "PCN", parent="sub_icb"),
    Level("sub_icb", "Sub-ICB location", parent="icb"),
    Level("icb", "ICB", parent="region"),
    Level("region", "NHS region", parent="england"),
    Level("england", "England", parent=None),
    Level("trust", "NHS trust", parent="icb", published=False, population=False),
)

ENGLAND = "england"
ENGLAND_CODE = "ENG"
TRUST = "trust"

LEVEL = {lv.code: lv for lv in LEVELS}
LEVEL_NAMES = {lv.code: lv.name for lv in LEVELS}
# The levels published for the portal, lowest first, England last.
PUBLISHED_LEVELS = tuple(lv.code for lv in LEVELS if lv.published)
# The levels the engine rolls prescribing up to (England is the sum of the regions).
POPULATION_LEVELS = tuple(lv.code for lv in LEVELS if lv.population and lv.code != ENGLAND)
PARENT_LEVEL = {lv.code: lv.parent for lv in LEVELS if lv.published and lv.parent}
CHILD_LEVEL = {parent: child for child, parent in PARENT_LEVEL.items()}


@dataclass(frozen=True)
class Headline:
    code: str  # as in the publication and the API
    label: str  # what the figure is, as a page or report says it


# The figure a subject is ranked by: TAs on an uptake index where the catalogue gives an eligible
# population, else on patients or items per 1,000 registered; measures on their share or rate.
HEADLINES: tuple[Headline, ...] = (
    Headline("index", "uptake index (patients treated ÷ expected)"),
    Headline("per_1000", "patients treated per 1,000 registered"),
    Headline("items_per_1000", "items per 1,000 registered"),
    Headline("proportion", "share"),
    Headline("rate_per_1000", "per 1,000 registered patients"),
    Headline("none", "nothing: no primary-care presentation or hospital product with a daily dose in the catalogue"),
)
HEADLINE_LABEL = {h.code: h.label for h in HEADLINES}
