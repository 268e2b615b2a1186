"""The catalogue's value objects: frozen dataclasses built from the reviewed YAML files."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

RECOMMENDATIONS = (
    "recommended",
    "optimised",
    "only_in_research",
    "not_recommended",
    "terminated",
    "cancer_drugs_fund",
)
COMMISSIONERS = ("icb", "nhs_england")
SETTINGS = ("primary", "secondary", "both")
DDD_BASES = ("WHO_DDD", "ADD", "NICE")


@dataclass(frozen=True)
class DailyDose:
    """The daily dose used to turn a dispensed quantity into days of treatment.

    ``value`` is None when the source names the convention (e.g. "1 daily dose = 1 DDD")
    without the number; ``basis`` is WHO_DDD, ADD (from the licensed posology) or NICE
    (a figure NICE itself calculated).
    """

    value: float | None
    unit: str
    basis: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.unit, "basis": self.basis, "source": self.source}


@dataclass(frozen=True)
class Presentation:
    """One BNF presentation (a 15-character code) of a product."""

    bnf_code: str
    name: str
    strength: float
    strength_unit: str
    units_per_day: float
    verified: bool = False

    @property
    def bnf_chemical(self) -> str:
        return self.bnf_code[:9]

    def to_dict(self) -> dict[str, Any]:
        return {
            "bnf_code": self.bnf_code,
            "name": self.name,
            "strength": self.strength,
            "strength_unit": self.strength_unit,
            "units_per_day": self.units_per_day,
            "verified": self.verified,
        }


@dataclass(frozen=True)
class Product:
    """A medicine (or device) a TA covers, with its primary-care and secondary-care codes."""

    name: str
    bnf_chemical: str | None
    presentations: tuple[Presentation, ...]
    dmd_vmps: tuple[str, ...]
    setting: str
    ddd: DailyDose
    atc: str | None = None
    notes: str = ""
    vmp_units_per_day: float | None = None  # units of its VMPs per day of treatment, where stated

    @property
    def presentation_codes(self) -> list[str]:
        return [p.bnf_code for p in self.presentations]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "bnf_chemical": self.bnf_chemical,
            "atc": self.atc,
            "presentations": [p.to_dict() for p in self.presentations],
            "dmd_vmps": list(self.dmd_vmps),
            "setting": self.setting,
            "vmp_units_per_day": self.vmp_units_per_day,
            "ddd": self.ddd.to_dict(),
            "notes": self.notes,
        }


@dataclass(frozen=True)
class EligiblePopulation:
    """Who the TA applies to: a QOF register and/or an age/sex band, and the share of it eligible.

    ``fraction`` is None when no sourced figure exists (the catalogue never guesses one).
    """

    register: str | None
    age_min: int | None
    age_max: int | None
    sex: str | None
    fraction: float | None
    source: str
    verified: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "register": self.register,
            "age_min": self.age_min,
            "age_max": self.age_max,
            "sex": self.sex,
            "fraction": self.fraction,
            "source": self.source,
            "verified": self.verified,
        }


@dataclass(frozen=True)
class ExpectedUptake:
    """The share of the eligible population expected to be treated at steady state."""

    share: float | None
    source: str
    verified: bool

    def to_dict(self) -> dict[str, Any]:
        return {"share": self.share, "source": self.source, "verified": self.verified}


@dataclass(frozen=True)
class ClinicalArea:
    """A clinical area; ``nic_priority`` marks the NICE Implementation Collaborative's four."""

    id: str
    name: str
    description: str
    nic_priority: bool
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "nic_priority": self.nic_priority,
            "source": self.source,
        }


@dataclass(frozen=True)
class TechnologyAppraisal:
    """One NICE technology appraisal, as reviewed in ``data/technology_appraisals/TAnnn.yaml``."""

    id: str
    title: str
    published: dt.date
    url: str
    recommendation: str
    funding_deadline_days: int
    commissioner: str
    clinical_area: str
    summary: str
    products: tuple[Product, ...]
    eligible_population: EligiblePopulation
    expected_uptake: ExpectedUptake
    verified: bool
    sources: tuple[str, ...]
    reviewed: dt.date
    notes: str
    status: str = "current"
    replaced_by: tuple[str, ...] = field(default_factory=tuple)

    @property
    def number(self) -> int:
        return int(self.id[2:])

    @property
    def funding_deadline(self) -> dt.date:
        """The date by which commissioners must fund it: publication + the funding period."""
        return self.published + dt.timedelta(days=self.funding_deadline_days)

    @property
    def bnf_chemicals(self) -> list[str]:
        """Distinct BNF chemical codes of the products, in catalogue order."""
        seen: list[str] = []
        for product in self.products:
            if product.bnf_chemical and product.bnf_chemical not in seen:
                seen.append(product.bnf_chemical)
        return seen

    @property
    def presentation_codes(self) -> list[str]:
        """Distinct BNF presentation codes of all products, in catalogue order."""
        seen: list[str] = []
        for product in self.products:
            for code in product.presentation_codes:
                if code not in seen:
                    seen.append(code)
        return seen

    @property
    def dmd_vmps(self) -> list[str]:
        """Distinct dm+d VMP codes of all products (for secondary-care data)."""
        seen: list[str] = []
        for product in self.products:
            for code in product.dmd_vmps:
                if code not in seen:
                    seen.append(code)
        return seen

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (dates as ISO strings), with the derived fields added."""
        return {
            "id": self.id,
            "number": self.number,
            "title": self.title,
            "published": self.published.isoformat(),
            "url": self.url,
            "recommendation": self.recommendation,
            "funding_deadline_days": self.funding_deadline_days,
            "funding_deadline": self.funding_deadline.isoformat(),
            "commissioner": self.commissioner,
            "clinical_area": self.clinical_area,
            "summary": self.summary,
            "status": self.status,
            "replaced_by": list(self.replaced_by),
            "products": [p.to_dict() for p in self.products],
            "bnf_chemicals": self.bnf_chemicals,
            "presentation_codes": self.presentation_codes,
            "eligible_population": self.eligible_population.to_dict(),
            "expected_uptake": self.expected_uptake.to_dict(),
            "verified": self.verified,
            "sources": list(self.sources),
            "reviewed": self.reviewed.isoformat(),
            "notes": self.notes,
        }
