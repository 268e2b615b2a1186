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


SOURCE_KINDS = ("official", "secondary", "estimate")


def _kind(given: str | None, source: str, verified: bool) -> str:
    """A figure's source type: as stated, else official when verified, estimate when its source
    says so, secondary otherwise."""
    if given:
        return given
    if verified:
        return "official"
    return "estimate" if source.startswith("Estimate") else "secondary"


@dataclass(frozen=True)
class RangeEnd:
    """One end (low or high) of a range of shares, with its own source."""

    value: float
    kind: str
    source: str

    @classmethod
    def from_dict(cls, d: dict | None) -> RangeEnd | None:
        return None if d is None else cls(value=d["value"], kind=d["kind"], source=" ".join(d["source"].split()))

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "kind": self.kind, "source": self.source}


@dataclass(frozen=True)
class NationalCount:
    """A published count of the people in England a TA is for, in the source's words."""

    count: float
    per_year: bool
    kind: str
    quote: str
    source: str
    verified: bool

    @classmethod
    def from_dict(cls, d: dict) -> NationalCount:
        return cls(count=d["count"], per_year=d["per_year"], kind=d["kind"], quote=" ".join(d["quote"].split()),
                   source=" ".join(d["source"].split()), verified=d["verified"])

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "per_year": self.per_year, "kind": self.kind, "quote": self.quote,
                "source": self.source, "verified": self.verified}


class NationalCounts:
    """The central value and range of a block's ``national`` counts: the first listed is
    central, the smallest and largest are the ends."""

    national: tuple[NationalCount, ...]

    @property
    def count(self) -> float | None:
        return float(self.national[0].count) if self.national else None

    @property
    def count_low(self) -> float | None:
        return float(min(n.count for n in self.national)) if self.national else None

    @property
    def count_high(self) -> float | None:
        return float(max(n.count for n in self.national)) if self.national else None


@dataclass(frozen=True)
class EligiblePopulation(NationalCounts):
    """Who the TA applies to: a QOF register and/or an age/sex band, and the share of it eligible.

    Three forms (docs/metrics.md §3.2): register or band × ``fraction``; a ``national`` count
    apportioned by the ``driver`` (the register, or the age/sex band); or none (``fraction``
    None: no sourced figure, and ``source`` says what was searched). ``low``/``high`` (a fraction
    form's range) or the smallest/largest national count give the range where sources disagree.
    """

    register: str | None
    age_min: int | None
    age_max: int | None
    sex: str | None
    fraction: float | None
    source: str
    verified: bool
    kind: str | None = None
    low: RangeEnd | None = None
    high: RangeEnd | None = None
    national: tuple[NationalCount, ...] = ()
    driver: str | None = None
    driver_reason: str = ""

    @classmethod
    def from_dict(cls, pop: dict) -> EligiblePopulation:
        return cls(register=pop["register"], age_min=pop["age_min"], age_max=pop["age_max"], sex=pop["sex"],
                   fraction=pop["fraction"], source=pop["source"].strip(), verified=pop["verified"],
                   kind=pop.get("kind"), low=RangeEnd.from_dict(pop.get("low")),
                   high=RangeEnd.from_dict(pop.get("high")),
                   national=tuple(NationalCount.from_dict(n) for n in pop.get("national", [])),
                   driver=pop.get("driver"), driver_reason=" ".join(pop.get("driver_reason", "").split()))

    @property
    def form(self) -> str:
        """'national' (a count apportioned), 'fraction' (register or band × fraction) or 'none'."""
        if self.national:
            return "national"
        return "fraction" if self.fraction is not None else "none"

    @property
    def source_kind(self) -> str | None:
        if self.form == "none":
            return None
        if self.national:
            return self.national[0].kind
        return _kind(self.kind, self.source, self.verified)


    @property
    def fraction_low(self) -> float | None:
        return self.low.value if self.low else self.fraction

    @property
    def fraction_high(self) -> float | None:
        return self.high.value if self.high else self.fraction

    def to_dict(self) -> dict[str, Any]:
        return {
            "register": self.register,
            "age_min": self.age_min,
            "age_max": self.age_max,
            "sex": self.sex,
            "fraction": self.fraction,
            "source": self.source,
            "verified": self.verified,
            "form": self.form,
            "kind": self.source_kind,
            "low": self.low.to_dict() if self.low else None,
            "high": self.high.to_dict() if self.high else None,
            "national": [n.to_dict() for n in self.national],
            "count": self.count,
            "count_low": self.count_low,
            "count_high": self.count_high,
            "driver": self.driver,
            "driver_reason": self.driver_reason,
        }


@dataclass(frozen=True)
class ExpectedUptake(NationalCounts):
    """What NICE or NHS England expected to be treated: ``share`` of the eligible population (the
    central value, with ``low``/``high`` ends each sourced), or, with share None, ``national``
    counts of people expected to be treated (the first central, the smallest and largest the range)."""

    share: float | None
    source: str
    verified: bool
    kind: str | None = None
    low: RangeEnd | None = None
    high: RangeEnd | None = None
    national: tuple[NationalCount, ...] = ()

    @classmethod
    def from_dict(cls, d: dict) -> ExpectedUptake:
        return cls(share=d["share"], source=d["source"].strip(), verified=d["verified"], kind=d.get("kind"),
                   low=RangeEnd.from_dict(d.get("low")), high=RangeEnd.from_dict(d.get("high")),
                   national=tuple(NationalCount.from_dict(n) for n in d.get("national", [])))

    @property
    def form(self) -> str:
        """'share' (of the eligible population), 'national' (people treated, apportioned) or 'none'."""
        if self.share is not None:
            return "share"
        return "national" if self.national else "none"

    @property
    def source_kind(self) -> str | None:
        if self.form == "none":
            return None
        if self.form == "national" and not self.kind:
            return self.national[0].kind
        return _kind(self.kind, self.source, self.verified)

    @property
    def share_low(self) -> float | None:
        return self.low.value if self.low else self.share

    @property
    def share_high(self) -> float | None:
        return self.high.value if self.high else self.share


    def to_dict(self) -> dict[str, Any]:
        return {"share": self.share, "source": self.source, "verified": self.verified, "form": self.form,
                "kind": self.source_kind, "low": self.low.to_dict() if self.low else None,
                "high": self.high.to_dict() if self.high else None,
                "national": [n.to_dict() for n in self.national], "count": self.count,
                "count_low": self.count_low, "count_high": self.count_high}


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
