"""The variables peers are found on, computed from loaded data as Ibis expressions: registered
patients (total and shares by age group) per practice, rolled up to any level through the
membership valid in the list sizes' month; QOF prevalence per practice. Deprivation comes from a
practice IMD file (services.peers weights it to areas by registered patients)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import ibis
import pyarrow as pa

from .hierarchy import memberships, rollup
from .inputs import _BAND, band_weight

# NHS England's Similar-10 age variables (share of registered patients), and the children's
# share used for practices: name → (first age, last age or None for open).
AGE_GROUPS: dict[str, tuple[int, int | None]] = {
    "pop_0_17": (0, 17),
    "pop_18_39": (18, 39),
    "pop_65_84": (65, 84),
    "pop_85plus": (85, None),
    "pop_65plus": (65, None),
    "pop_75plus": (75, None),
}
_WEIGHTS_SCHEMA = pa.schema([("group", pa.string()), ("sex", pa.string()), ("age_band", pa.string()),
                             ("weight", pa.float64())])


def _bounds(band: str) -> tuple[int, int | None] | None:
    m = _BAND.match(band)
    return None if m is None else (int(m.group(1)), int(m.group(2)) if m.group(2) else None)


def _measurable(band: str, lo: int, hi: int | None) -> bool:
    """False when an open band ('75+') straddles a group's edge: how its patients split is unknown."""
    b = _bounds(band)
    if b is None or b[1] is not None:
        return True
    inside = (hi is None and b[0] >= lo) or (hi is not None and b[0] > hi)
    return inside


def age_group_weights(bands: Iterable[tuple[str, str]]) -> tuple[pa.Table, set[str]]:
    """For each age group, the weight of each (sex, age band) present in the list sizes (ages
    assumed spread evenly within a closed band, so 10-year bands give 18-39 approximately), and
    the groups the bands cannot measure (an open band such as '75+' across the group's edge)."""
    rows = []
    bands = [(sex, band) for sex, band in bands if sex in ("male", "female")]
    unmeasurable = {g for g, (lo, hi) in AGE_GROUPS.items() if not all(_measurable(b, lo, hi) for _, b in bands)}
    for sex, band in bands:
        for group, (lo, hi) in AGE_GROUPS.items():
            w = band_weight(band, lo, hi) if group not in unmeasurable else 0.0
            if w > 0:
                rows.append({"group": group, "sex": sex, "age_band": band, "weight": w})
    return pa.Table.from_pylist(rows, schema=_WEIGHTS_SCHEMA), unmeasurable


def practice_population(list_sizes: ibis.Table, weights: ibis.Table, month: date) -> ibis.Table:
    """(practice, poptot, banded, pop_0_17, pop_18_39, pop_65_84, pop_85plus) in `month`: poptot
    is the practice's total ('all' row, else the sum of its age bands); banded is the sum of its
    age bands, the denominator of the age shares; the age columns are patient counts."""
    ls = list_sizes.filter(list_sizes.month == month)
    total = ls.filter((ls.sex == "all") & (ls.age_band == "all")).group_by("practice").aggregate(
        all_total=ls.patients.sum())
    bands = ls.filter(ls.sex.isin(["male", "female"]) & (ls.age_band != "all"))
    banded = bands.group_by("practice").aggregate(banded=bands.patients.sum())
    j = bands.join(weights, [bands.sex == weights.sex, bands.age_band == weights.age_band])
    groups = j.group_by("practice").aggregate(**{
        g: (j.patients * j.weight * (j.group == g).cast("float64")).sum() for g in AGE_GROUPS})
    practices = ls.select("practice").distinct()
    out = practices.left_join(total, "practice").select(practices.practice, "all_total")
    out = out.left_join(banded, "practice").select(out.practice, "all_total", "banded")
    out = out.left_join(groups, "practice").select(out.practice, "all_total", "banded", *AGE_GROUPS)
    return out.select("practice", poptot=ibis.coalesce(out.all_total, out.banded.cast("int64")),
                      banded=out.banded, **{g: out[g] for g in AGE_GROUPS})


def practice_areas(relations: ibis.Table, month_table: ibis.Table, level: str) -> ibis.Table | None:
    """(practice, org): the organisation at `level` each practice belongs to in the month of
    `month_table` (a one-row table with column month)."""
    member = memberships(relations, month_table)
    r = rollup(member, "practice", level)
    return None if r is None else r.select(practice=r.base, org=r.org)


def area_population(practices: ibis.Table, areas: ibis.Table) -> ibis.Table:
    """practice_population summed to areas: (org, poptot, banded, practices, <age group counts>)."""
    j = practices.join(areas, "practice")
    return j.group_by("org").aggregate(poptot=j.poptot.sum(), banded=j.banded.sum(), practices=j.practice.count(),
                                       **{g: j[g].sum() for g in AGE_GROUPS})


def qof_prevalence(qof: ibis.Table, year: str, registers: list[str]) -> ibis.Table:
    """(practice, register, prevalence) for `year`: register size / the list size it is of."""
    q = qof.filter((qof.year == year) & qof.register.isin(registers) & (qof.list_size > 0))
    return q.select("practice", "register", prevalence=q.patients.cast("float64") / q.list_size)
