"""Catalogue facts as small Arrow tables the engine joins to the warehouse.

Each function reads the reviewed catalogue and returns one table; nothing here touches the
warehouse. The engine turns them into Ibis tables on whichever backend it runs.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from datetime import date

import pyarrow as pa

from ..catalogue import Catalogue
from ..catalogue.measures import Measure

CODES_SCHEMA = pa.schema([
    ("ta", pa.string()), ("code", pa.string()), ("code_length", pa.int64()),
    ("units_per_day", pa.float64()), ("ddd_per_unit", pa.float64()),
])
POPULATION_SCHEMA = pa.schema([
    ("ta", pa.string()), ("register", pa.string()), ("fraction", pa.float64()), ("share", pa.float64()),
    ("banded", pa.bool_()), ("band", pa.string()),
    # the range ends (equal to the central value where the catalogue gives no range)
    ("fraction_low", pa.float64()), ("fraction_high", pa.float64()),
    ("share_low", pa.float64()), ("share_high", pa.float64()),
    # national counts apportioned by the driver: people eligible, and people expected to be treated
    ("count", pa.float64()), ("count_low", pa.float64()), ("count_high", pa.float64()),
    ("treated", pa.float64()), ("treated_low", pa.float64()), ("treated_high", pa.float64()),
])
BANDS_SCHEMA = pa.schema([("band", pa.string()), ("sex", pa.string()), ("age_band", pa.string()),
                          ("weight", pa.float64())])
VMP_CODES_SCHEMA = pa.schema([
    ("ta", pa.string()), ("vmp_code", pa.string()), ("units_per_day", pa.float64()), ("ddd_per_unit", pa.float64()),
])
MONTHS_SCHEMA = pa.schema([("month", pa.date32()), ("days", pa.int64()), ("year", pa.string())])
MEASURE_CODES_SCHEMA = pa.schema([("measure", pa.string()), ("part", pa.string()), ("code", pa.string()),
                                  ("code_length", pa.int64()), ("exclude", pa.bool_()),
                                  ("item_quantity_above", pa.float64())])
MEASURE_INFO_SCHEMA = pa.schema([("measure", pa.string()), ("unit", pa.string()), ("registered", pa.bool_()),
                                 ("per", pa.float64()), ("item_level", pa.bool_())])
OPEN_BAND_WIDTH = 10  # an open band such as '95+' is taken as ten years wide when a TA has an upper age


def _ddd_per_unit(presentation, ddd) -> float | None:
    """DDDs in one dispensed unit: strength ÷ the daily dose, when both are in the same unit."""
    if ddd is None or not ddd.value or presentation.strength_unit != ddd.unit:
        return None
    return float(presentation.strength) / float(ddd.value)


def codes_table(cat: Catalogue) -> pa.Table:
    """The BNF codes that count for each TA in primary care.

    A 15-character presentation code carries its own units per day of treatment. The 9-character
    chemical code is listed too, for data aggregated to chemicals (OpenPrescribing-style
    exports): it carries units per day (and DDDs per unit) only when every catalogue
    presentation of that chemical agrees, because a chemical total cannot be split by strength.
    """
    rows: list[dict] = []
    for ta in cat.technology_appraisals:
        chemicals: dict[str, list[tuple[float, float | None]]] = {}
        for product in ta.products:
            if product.setting not in ("primary", "both"):
                continue
            for x in product.presentations:
                per_unit = _ddd_per_unit(x, product.ddd)
                rows.append({"ta": ta.id, "code": x.bnf_code, "code_length": 15,
                             "units_per_day": float(x.units_per_day) if x.units_per_day else None,
                             "ddd_per_unit": per_unit})
                chemicals.setdefault(x.bnf_code[:9], []).append((x.units_per_day, per_unit))
        for chemical, values in chemicals.items():
            days = {v[0] for v in values}
            ddds = {v[1] for v in values}
            rows.append({"ta": ta.id, "code": chemical, "code_length": 9,
                         "units_per_day": float(days.pop()) if len(days) == 1 and None not in days else None,
                         "ddd_per_unit": ddds.pop() if len(ddds) == 1 else None})
    return pa.Table.from_pylist(rows, schema=CODES_SCHEMA)


def _agreed(values: list) -> float | None:
    """The one value every entry agrees on; None when they differ, one is unknown, or there are none."""
    distinct = set(values)
    if len(distinct) != 1 or None in distinct:
        return None
    return float(distinct.pop())


def vmp_units_per_day(product) -> float | None:
    """Units of a product's VMPs making one day's treatment: its `vmp_units_per_day`, else the
    units per day every one of its presentations agrees on (None when they differ or are none)."""
    if product.vmp_units_per_day:
        return float(product.vmp_units_per_day)
    return _agreed([x.units_per_day or None for x in product.presentations])


def vmp_codes_table(cat: Catalogue) -> pa.Table:
    """The dm+d VMP codes that count for each TA in secondary care (SCMD).

    SCMD gives a quantity in the VMP's unit (tablets, capsules, pre-filled pens, vials), the same
    dm+d unit dose the product's BNF presentations count in primary care. A VMP therefore takes
    the product's `vmp_units_per_day` where the catalogue states one, else its presentations'
    units per day (and DDDs per unit) when every one of them agrees, as a BNF chemical code
    does; otherwise it counts quantity and cost but no days of treatment, because a VMP cannot
    be matched to a strength here."""
    rows: list[dict] = []
    for ta in cat.technology_appraisals:
        for product in ta.products:
            if product.setting not in ("secondary", "both"):
                continue
            days = vmp_units_per_day(product)
            ddds = _agreed([_ddd_per_unit(x, product.ddd) for x in product.presentations])
            for code in dict.fromkeys(product.dmd_vmps):
                rows.append({"ta": ta.id, "vmp_code": code, "units_per_day": days, "ddd_per_unit": ddds})
    return pa.Table.from_pylist(rows, schema=VMP_CODES_SCHEMA)


def population_table(cat: Catalogue) -> pa.Table:
    """One row per TA: the QOF register it applies to, the eligible fraction and NICE's expected
    share (null where the catalogue has no sourced figure — never invented), and whether its
    registered population is an age/sex band rather than everyone."""
    rows = []
    for ta in cat.technology_appraisals:
        pop, share = ta.eligible_population, ta.expected_uptake
        banded = pop is not None and (pop.age_min is not None or pop.age_max is not None or pop.sex is not None)
        rows.append({
            "band": band_id(pop) if banded else None,
            "ta": ta.id,
            # a national count apportioned by registered patients in a band has no register
            "register": pop.register if pop.driver != "age_sex" else None,
            "fraction": pop.fraction,
            "share": share.share,
            "banded": banded,
            "fraction_low": pop.fraction_low, "fraction_high": pop.fraction_high,
            "share_low": share.share_low, "share_high": share.share_high,
            "count": pop.count, "count_low": pop.count_low, "count_high": pop.count_high,
            "treated": share.count, "treated_low": share.count_low, "treated_high": share.count_high,
        })
    return pa.Table.from_pylist(rows, schema=POPULATION_SCHEMA)


_BAND = re.compile(r"^(\d+)(?:-(\d+)|\+)$")


def band_weight(band: str, age_min: int | None, age_max: int | None) -> float:
    """The share of a list-size age band ('15-19', '75+') inside [age_min, age_max], assuming ages
    spread evenly within the band. 'all' and unreadable bands give 0: they are not age bands."""
    m = _BAND.match(band)
    if not m:
        return 0.0
    lo = int(m.group(1))
    hi = int(m.group(2)) + 1 if m.group(2) else (lo + OPEN_BAND_WIDTH if age_max is not None else 200)
    want_lo = age_min if age_min is not None else 0
    want_hi = age_max + 1 if age_max is not None else 200
    overlap = max(0, min(hi, want_hi) - max(lo, want_lo))
    return overlap / (hi - lo)


def band_id(pop) -> str:
    """A name for a TA's age/sex band, shared by every TA with the same band ('18+', '50+ female')."""
    ages = f"{pop.age_min or 0}-{pop.age_max}" if pop.age_max is not None else f"{pop.age_min or 0}+"
    return ages + (f" {pop.sex}" if pop.sex else "")


def bands_table(cat: Catalogue, bands: Iterable[tuple[str, str]]) -> pa.Table:
    """For each distinct age/sex band of the catalogue's TAs, the weight of each (sex, age band)
    present in the list sizes: registered(band) = Σ patients(sex, age band) × weight. Computed
    once per band, not per TA: forty TAs share a handful of bands."""
    rows = []
    seen: set[str] = set()
    present = list(bands)
    for ta in cat.technology_appraisals:
        pop = ta.eligible_population
        if pop is None or (pop.age_min is None and pop.age_max is None and pop.sex is None):
            continue
        band = band_id(pop)
        if band in seen:
            continue
        seen.add(band)
        for sex, age_band in present:
            if sex not in ("male", "female") or (pop.sex and pop.sex != sex):
                continue
            weight = band_weight(age_band, pop.age_min, pop.age_max)
            if weight > 0:
                rows.append({"band": band, "sex": sex, "age_band": age_band, "weight": weight})
    return pa.Table.from_pylist(rows, schema=BANDS_SCHEMA)


def financial_year(month: date) -> str:
    start = month.year if month.month >= 4 else month.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def months_table(months: Iterable[date], qof_years: Iterable[str]) -> pa.Table:
    """Each month with its length in days and the QOF year whose registers apply to it: the
    month's own financial year if loaded, else the latest earlier one, else the earliest."""
    years = sorted(set(qof_years))
    rows = []
    for m in sorted(set(months)):
        wanted = financial_year(m)
        year = max((y for y in years if y <= wanted), default=years[0] if years else None)
        rows.append({"month": m, "days": calendar.monthrange(m.year, m.month)[1], "year": year})
    return pa.Table.from_pylist(rows, schema=MONTHS_SCHEMA)


def measure_codes_table(measures: Iterable[Measure]) -> pa.Table:
    """Every BNF code prefix of each measure's numerator and denominator: those counted
    (exclude false) and those left out (exclude true), with the numerator's per-item quantity
    threshold on each numerator row."""
    rows = []
    for m in measures:
        for part, codes, excluded in (("numerator", m.numerator_codes, m.numerator_exclude),
                                      ("denominator", m.denominator_codes, m.denominator_exclude)):
            above = m.item_quantity_above if part == "numerator" else None
            for code, exclude in [(c, False) for c in codes] + [(c, True) for c in excluded]:
                rows.append({"measure": m.id, "part": part, "code": code, "code_length": len(code),
                             "exclude": exclude, "item_quantity_above": above})
    return pa.Table.from_pylist(rows, schema=MEASURE_CODES_SCHEMA)


def measure_info_table(measures: Iterable[Measure]) -> pa.Table:
    """One row per measure: the unit its numerator sums, whether its denominator is registered
    patients (and the `per` multiplier of its value), and whether it needs each item's quantity
    (so practice-level prescribing only)."""
    rows = [{"measure": m.id, "unit": m.unit, "registered": m.denominator_population == "registered",
             "per": float(m.per), "item_level": m.needs_item_quantity} for m in measures]
    return pa.Table.from_pylist(rows, schema=MEASURE_INFO_SCHEMA)


def measure_code_lengths(measures: Iterable[Measure]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The distinct lengths of the prefixes counted and of those left out: the engine joins once
    per length."""
    ms = list(measures)
    counted = {len(c) for m in ms for c in (*m.numerator_codes, *m.denominator_codes)}
    left_out = {len(c) for m in ms for c in (*m.numerator_exclude, *m.denominator_exclude)}
    return tuple(sorted(counted)), tuple(sorted(left_out))
