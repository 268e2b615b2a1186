"""Registered patients by practice, month, sex and 5-year age band; QOF disease registers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import rng as streams
from .organisations import Organisations
from .reference import AGE_BANDS, BAND_HIGH, BAND_LOW, SEXES, Reference

MID = (BAND_LOW + BAND_HIGH) / 2
OLD = BAND_LOW >= 65  # bands of patients aged 65 and over


def age_fraction(age_min: float | None, age_max: float | None) -> np.ndarray:
    """The share of each 5-year band inside ages [age_min, age_max] (inclusive, whole years)."""
    lo = 0.0 if age_min is None else float(age_min)
    hi = 105.0 if age_max is None else float(age_max) + 1.0
    overlap = np.clip(np.minimum(BAND_HIGH, hi) - np.maximum(BAND_LOW, lo), 0, None)
    return overlap / (BAND_HIGH - BAND_LOW)


def sex_mask(sex: str | None) -> np.ndarray:
    if sex is None:
        return np.ones(2)
    return np.array([1.0 if s == sex.upper() else 0.0 for s in SEXES])


@dataclass
class Population:
    counts: np.ndarray  # [M, P, 2, 20] int32 registered patients; zero where the practice is closed
    total: np.ndarray  # [M, P] int64
    pct65: np.ndarray  # [P] percentage aged 65+ (at the start)

    def in_band(self, m: int, age_min: int | None, age_max: int | None, sex: str | None) -> np.ndarray:
        """Patients of each practice in an age/sex band in month m (float, fractional bands)."""
        w = sex_mask(sex)[:, None] * age_fraction(age_min, age_max)[None, :]
        return np.einsum("psb,sb->p", self.counts[m], w)


def build(orgs: Organisations, ref: Reference, seed: int) -> Population:
    rng = streams.stream(seed, streams.POPULATION)
    a = ref.assumptions["list_sizes"]
    P, M = orgs.n_practices, len(orgs.months)
    median = np.array([orgs.icbs[k].median_list_size for k in orgs.icb], dtype=np.float64)
    base = np.clip(median * np.exp(rng.normal(0.0, a["sd_log"], P)), a["min"], a["max"])
    growth = rng.normal(a["growth_mean"], a["growth_sd"], P)  # per year
    # Age structure: England's shape, tilted older or younger by the ICB's real tilt and the
    # practice's own, with a young-adult bulge for city and student practices.
    older = np.log(np.array([orgs.icbs[k].older_index for k in orgs.icb]))
    tilt = 0.8 * older + rng.normal(0.0, a["age_tilt_sd"], P)
    bulge = rng.normal(0.0, a["young_adult_sd"], P)
    # Older practices have more patients over 40 and fewer young adults; children vary less.
    z = np.where(MID < 20, -0.25, (MID - 40.0) / 30.0)
    young = np.exp(-(((MID - 27.0) / 7.0) ** 2))
    logw = np.log(ref.age_share)[None, :, :] + (tilt[:, None] * z[None, :] + bulge[:, None] * young[None, :])[:, None, :]
    w = np.exp(logw)
    w /= w.sum(axis=(1, 2), keepdims=True)
    pct65 = 100.0 * w[:, :, OLD].sum(axis=(1, 2))

    # Monthly list sizes: steady growth with a little month-to-month noise.
    t = (np.array([mo.serial for mo in orgs.months]) - orgs.months[0].serial) / 12.0
    walk = np.cumsum(rng.normal(0.0, 0.002, (M, P)), axis=0)
    size = base[None, :] * np.exp(growth[None, :] * t[:, None] + walk)
    # A practice that opens starts at a third of its eventual size and fills over a year.
    for j, m0 in orgs.opening.items():
        ramp = np.clip((np.arange(M) - m0 + 1) / 12.0, 0, 1)
        size[:, j] *= 0.33 + 0.67 * ramp
    counts = np.rint(size[:, :, None, None] * w[None, :, :, :]).astype(np.int32)
    # A closing practice's patients move to the practice that takes it over.
    for j, k in orgs.absorbed_by.items():
        after = ~orgs.open_at[:, j]
        counts[after, k] += counts[after, j]
    counts[~orgs.open_at] = 0
    total = counts.sum(axis=(2, 3), dtype=np.int64)
    return Population(counts, total, pct65)


@dataclass
class Registers:
    codes: tuple[str, ...]
    list_types: tuple[str, ...]
    min_ages: np.ndarray
    prevalence: np.ndarray  # [P, R] at 2018-19
    change: np.ndarray  # [R] relative change per year

    def denominators(self, pop: Population, m: int) -> np.ndarray:
        """[P, R] patients of the register's list type (e.g. 17OV = aged 17 and over)."""
        return np.stack([pop.in_band(m, int(a) or None, None, None) for a in self.min_ages], axis=1)

    def counts(self, pop: Population, m: int, year: float) -> np.ndarray:
        """[P, R] expected register sizes in month m (float)."""
        trend = (1.0 + self.change[None, :]) ** (year - 2018.75)
        return self.prevalence * trend * self.denominators(pop, m)

    def index(self, code: str) -> int | None:
        return self.codes.index(code) if code in self.codes else None


def registers(pop: Population, ref: Reference, seed: int) -> Registers:
    rng = streams.stream(seed, streams.REGISTERS)
    regs = ref.registers
    P = pop.counts.shape[1]
    # England's share aged 65+ in this synthetic population, weighting practices by list size.
    size = pop.total.max(axis=0).astype(np.float64)
    national65 = float((pop.pct65 * size).sum() / size.sum())
    prev = np.empty((P, len(regs)))
    for r, reg in enumerate(regs):
        noise = rng.normal(-reg.sd**2 / 2, reg.sd, P)
        prev[:, r] = reg.prevalence * np.exp(reg.log_slope * (pop.pct65 - national65) + noise)
    # No practice has more than 4 times England's prevalence (the most extreme real ones have ~3-4).
    prev = np.minimum(prev, 4.0 * np.array([r.prevalence for r in regs])[None, :])
    out = Registers(tuple(r.group for r in regs), tuple(r.list_type for r in regs),
                    np.array([r.min_age for r in regs]), prev, np.array([r.annual_change for r in regs]))
    # Calibrate: England's prevalence in this population (first month) is the real 2018-19 figure.
    d = out.denominators(pop, 0)
    achieved = (prev * d).sum(axis=0) / np.maximum(d.sum(axis=0), 1.0)
    out.prevalence = prev * (np.array([r.prevalence for r in regs]) / np.maximum(achieved, 1e-12))[None, :]
    return out


__all__ = ["AGE_BANDS", "SEXES", "Population", "Registers", "age_fraction", "build", "registers", "sex_mask"]
