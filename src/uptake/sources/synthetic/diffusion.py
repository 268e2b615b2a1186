"""How each NICE TA's products diffuse through the synthetic NHS.

For a TA *t* with product *p*, practice *j* (in ICB *k*) and month *m*, patients on treatment:

    eligible(t, j, m) x share(t) x cap(group) / n_products(t)
      x F(months since t's publication - lag(k) - lag(j))      # Bass S-curve, 0 before
      x icb_effect(t, k) x propensity(k) x practice_effect(t, j)  # lognormal: overdispersed
      x preference(p, k)                                       # market shares among competitors
      x laggard_factor(k)                                      # persistent laggard ICBs

`eligible` is the practice's QOF register (or age/sex band) x the catalogue's eligible fraction.
TAs on the same register and clinical area compete: their shares together are capped, and each
ICB prefers some products (normalised so that the group total is kept). Patients are split
among a product's presentations (generics more than brands) and among 28- and 56-day supplies;
items are drawn as Poisson counts from them in `prescribing`. Secondary-care products are
treated the same way at ICB level and issued by the ICB's trusts (`secondary`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import numpy as np

from . import rng as streams
from .calendar import Month, months_since
from .organisations import Organisations
from ...catalogue.figures import england_register
from .population import Population, Registers, age_fraction, sex_mask
from .reference import Reference

INCLUDED = ("recommended", "optimised", "cancer_drugs_fund")


def bass(t: np.ndarray, p: float, q: np.ndarray | float) -> np.ndarray:
    """Cumulative Bass adoption at t months (0 at t <= 0, rising to 1)."""
    t = np.maximum(np.asarray(t, dtype=np.float64), 0.0)
    e = np.exp(-(p + q) * t)
    return (1.0 - e) / (1.0 + (q / p) * e)


def _is_generic(code: str) -> bool:
    return code[9:11] == "AA"


def _is_injection(name: str) -> bool:
    return bool(re.search(r"Inj|Inf|Pen|Pfs|Vl\b|Dev\b|Cart", name))


@dataclass
class Line:
    """One BNF presentation prescribed in primary care."""

    code: str
    description: str
    chemical: str
    chemical_name: str
    units_per_day: float
    nic_per_unit: float
    options: list[tuple[float, float, float]]  # (quantity per item, share of patients, items per patient-month)


@dataclass
class Vmp:
    """One dm+d VMP issued by hospitals."""

    code: str
    name: str
    unit_id: str
    unit_name: str
    units_per_day: float
    cost_per_unit: float


@dataclass
class Component:
    """One product of one TA, with everything needed to compute its patients."""

    ta_id: str
    product: str
    start: dt.date  # first day of the month after publication
    register: int | None
    age_min: int | None
    age_max: int | None
    sex: str | None
    fraction: float
    share: float  # share x group cap / products in the TA
    primary: float  # share of patients supplied in primary care
    secondary: float
    lines: list[tuple[int, float]]  # (index into Plan.lines, share of the product's patients)
    vmps: list[tuple[int, float]]  # (index into Plan.vmps, share)
    innovation: float  # Bass p, per month
    imitation: float  # Bass q, per month
    icb_effect: np.ndarray  # [K]
    icb_lag: np.ndarray  # [K]
    practice_effect: np.ndarray  # [P]
    practice_lag: np.ndarray  # [P]
    preference: np.ndarray = field(default_factory=lambda: np.ones(0))  # [K]


@dataclass
class Plan:
    components: list[Component]
    lines: list[Line]
    vmps: list[Vmp]
    laggards: list[int]  # ICB indices
    propensity: np.ndarray  # [K]
    skipped: list[str]  # products that cannot be generated, with the reason
    first_month: dict[str, dt.date]  # BNF code → first month it may appear


def _resolve(ta, defaults: dict) -> tuple[float, float]:
    ep = ta.eligible_population
    hospital_only = bool(ta.products) and all(p.setting == "secondary" for p in ta.products)
    if ep.fraction is not None:
        fraction = float(ep.fraction)
    elif ep.register and hospital_only:
        fraction = defaults["fraction_hospital_only"]
    elif ep.register:
        fraction = defaults["fraction_with_register"]
    else:
        fraction = defaults["fraction_without_register"]
    share = ta.expected_uptake.share
    total = england_register(ep.register) if ep.register else None
    if ep.fraction is None and ta.expected_uptake.count and total:
        # people expected to be treated nationally (TA733's 300,000): that share of the register
        return ta.expected_uptake.count / total, 1.0
    return fraction, float(defaults["share"] if share is None else share)


def _vmp_name(product, index: int) -> tuple[str, str]:
    """A readable VMP name and the BNF presentation name it was made from (for its unit)."""
    generic = [p for p in product.presentations if _is_generic(p.bnf_code)] or list(product.presentations)
    if index < len(generic):
        source = generic[index].name
        m = re.fullmatch(r"([^_]+)_(Tab|Cap) (.+)", source)
        if m:
            form = "tablets" if m.group(2) == "Tab" else "capsules"
            return f"{m.group(1)} {m.group(3)} {form}", source
        return source.replace("_", " "), source
    source = generic[0].name if generic else ""
    return product.name[:1].upper() + product.name[1:], source


def _unit(name: str, ref: Reference) -> tuple[str, str]:
    """The dm+d unit of a BNF presentation name, from its form ('Apixaban_Tab 5mg' → tablet)."""
    form = name.split("_", 1)[1] if "_" in name else name
    for words, code, label in ref.assumptions["secondary"]["units"]:
        if any(w in form for w in words):
            return code, label
    code, label = ref.assumptions["secondary"]["default_unit"]
    return code, label


def plan(catalogue, orgs: Organisations, regs: Registers, ref: Reference, seed: int) -> Plan:
    a = ref.assumptions
    d = a["diffusion"]
    defaults = a["defaults"]
    K, P = len(orgs.icbs), orgs.n_practices
    # Laggard ICBs and every ICB's general propensity to adopt, fixed by the seed.
    r0 = streams.stream(seed, streams.DIFFUSION, 0)
    lo, hi = d["laggards"]
    n_lag = int(r0.integers(lo, hi + 1))
    laggards = sorted(int(x) for x in r0.choice(K, size=n_lag, replace=False))
    propensity = np.exp(r0.normal(-d["icb_propensity_sd"] ** 2 / 2, d["icb_propensity_sd"], K))

    bg = ref.background
    bg_index = {c: i for i, c in enumerate(bg.codes)}
    chem_names = dict(zip(bg.chemicals, bg.chemical_names))
    lines: list[Line] = []
    line_index: dict[str, int] = {}
    vmps: list[Vmp] = []
    vmp_index: dict[str, int] = {}
    skipped: list[str] = []
    first_month: dict[str, dt.date] = {}
    supply = {int(k): float(v) for k, v in d["supply_days"].items()}

    tas = sorted((t for t in catalogue.technology_appraisals if t.recommendation in INCLUDED),
                 key=lambda t: (t.published, int(t.id[2:])))
    # Competing groups: TAs on the same register in the same clinical area.
    groups: dict[tuple[str, str], list] = {}
    for t in tas:
        if t.eligible_population.register and t.products:
            groups.setdefault((t.eligible_population.register, t.clinical_area), []).append(t)
    cap: dict[str, float] = {}
    for members in groups.values():
        total = sum(_resolve(t, defaults)[1] for t in members)
        factor = min(1.0, defaults["competing_cap"] / total) if len(members) > 1 and total > 0 else 1.0
        for t in members:
            cap[t.id] = factor

    components: list[Component] = []
    group_of: dict[int, tuple[str, str]] = {}
    for t in tas:
        fraction, share = _resolve(t, defaults)
        ep = t.eligible_population
        reg = regs.index(ep.register) if ep.register else None
        if ep.register and reg is None:
            skipped.append(f"{t.id}: register {ep.register} is not generated; using its age band instead")
        nxt = dt.date(t.published.year + (t.published.month == 12), t.published.month % 12 + 1, 1)
        rt = streams.stream(seed, streams.DIFFUSION, 1, streams.key(t.id))
        innovation = float(d["innovation_median"] * np.exp(rt.normal(0, d["innovation_sd_log"])))
        imitation = float(rt.uniform(*d["imitation"]))
        icb_effect = np.exp(rt.normal(-d["icb_level_sd"] ** 2 / 2, d["icb_level_sd"], K))
        icb_lag = rt.normal(0, d["icb_lag_sd_months"], K)
        prac_effect = np.exp(rt.normal(-d["practice_level_sd"] ** 2 / 2, d["practice_level_sd"], P))
        prac_lag = rt.normal(0, d["practice_lag_sd_months"], P)
        products = [p for p in t.products]
        if not products:
            continue
        for p in products:
            has_lines = p.setting in ("primary", "both") and len(p.presentations) > 0
            has_vmps = p.setting in ("secondary", "both") and len(p.dmd_vmps) > 0
            if p.setting in ("primary", "both") and not p.presentations:
                skipped.append(f"{t.id} {p.name}: no BNF presentation codes, so no primary-care prescribing")
            if p.setting == "secondary" and not p.dmd_vmps:
                skipped.append(f"{t.id} {p.name}: no dm+d VMP codes, so no secondary-care data")
            if not has_lines and not has_vmps:
                continue
            if has_lines and has_vmps:
                secondary = float(a["settings"]["both_secondary_share"])
            else:
                secondary = 1.0 if has_vmps else 0.0
            primary = 1.0 - secondary
            # Presentations: generic codes carry most patients, brands a little.
            plines: list[tuple[int, float]] = []
            seen: set[str] = set()
            for pres in p.presentations if has_lines else ():
                code = pres.bnf_code
                if code in seen:
                    continue
                seen.add(code)
                if code not in line_index:
                    upd = float(pres.units_per_day)
                    rp = streams.stream(seed, streams.DIFFUSION, 2, streams.key(code))
                    if code in bg_index and bg.nic_per_unit[bg_index[code]] > 0:
                        price = float(bg.nic_per_unit[bg_index[code]])
                    elif _is_injection(pres.name):
                        price = float(np.exp(rp.normal(np.log(60.0), 0.8)))
                    else:
                        price = float(np.exp(rp.normal(np.log(0.8), 0.6)))
                    price = round(price * (1.0 if _is_generic(code) else 1.05), 4)
                    opts: dict[float, list[float]] = {}
                    for days, frac in supply.items():
                        q = float(max(1, round(days * upd)))
                        opts.setdefault(q, [0.0, 30.4375 * upd / q])[0] += frac
                    line_index[code] = len(lines)
                    lines.append(Line(code, pres.name, code[:9], chem_names.get(code[:9], p.name[:1].upper() + p.name[1:]),
                                      upd, price, [(q, s, ipm) for q, (s, ipm) in sorted(opts.items())]))
                rw = streams.stream(seed, streams.DIFFUSION, 3, streams.key(code))
                weight = (1.0 if _is_generic(code) else 0.12) * float(np.exp(rw.normal(0, 0.6)))
                plines.append((line_index[code], weight))
                first = first_month.get(code)
                first_month[code] = nxt if first is None else min(first, nxt)
            total_w = sum(w for _, w in plines)
            plines = [(i, w / total_w) for i, w in plines]
            # VMPs issued by hospitals.
            pvmps: list[tuple[int, float]] = []
            for i, vcode in enumerate(dict.fromkeys(p.dmd_vmps) if has_vmps else ()):
                if vcode not in vmp_index:
                    name, source = _vmp_name(p, i)
                    unit_id, unit_name = _unit(source, ref)
                    upds = [x.units_per_day for x in p.presentations]
                    upd = (float(p.vmp_units_per_day) if p.vmp_units_per_day else
                           float(np.median(upds)) if upds else float(defaults["units_per_day"]))
                    rv = streams.stream(seed, streams.DIFFUSION, 4, streams.key(vcode))
                    base = {"tablet": 40.0, "capsule": 40.0, "vial": 400.0}.get(unit_name, 150.0)
                    cost = round(float(base * np.exp(rv.normal(0, 0.5))), 4)
                    vmp_index[vcode] = len(vmps)
                    vmps.append(Vmp(vcode, name, unit_id, unit_name, upd, cost))
                rw = streams.stream(seed, streams.DIFFUSION, 5, streams.key(vcode))
                pvmps.append((vmp_index[vcode], float(np.exp(rw.normal(0, 0.4)))))
            total_v = sum(w for _, w in pvmps)
            pvmps = [(i, w / total_v) for i, w in pvmps]
            n_products = len(products)
            components.append(Component(
                t.id, p.name, nxt, reg, ep.age_min, ep.age_max, ep.sex, fraction,
                share * cap.get(t.id, 1.0) / n_products, primary, secondary, plines, pvmps,
                innovation, imitation, icb_effect, icb_lag, prac_effect, prac_lag))
            if ep.register:
                group_of[len(components) - 1] = (ep.register, t.clinical_area)

    # ICB preferences among competing products, normalised so each ICB's group total is kept.
    for c in components:
        c.preference = np.ones(K)
    for g in set(group_of.values()):
        members = [i for i, gg in group_of.items() if gg == g]
        pref = {}
        for i in members:
            name = components[i].product
            if name not in pref:
                rg = streams.stream(seed, streams.DIFFUSION, 6, streams.key(name))
                pref[name] = np.exp(rg.normal(0, d["preference_sd"], K))
        w = np.array([components[i].share for i in members])
        gmat = np.stack([pref[components[i].product] for i in members])  # [n, K]
        norm = w.sum() / (w[:, None] * gmat).sum(axis=0)
        for row, i in enumerate(members):
            components[i].preference = gmat[row] * norm
    return Plan(components, lines, vmps, laggards, propensity, skipped, first_month)


class Diffusion:
    """Patients on treatment per month, from a Plan."""

    def __init__(self, plan: Plan, orgs: Organisations, pop: Population, regs: Registers, ref: Reference):
        self.plan, self.orgs, self.pop, self.regs = plan, orgs, pop, regs
        d = ref.assumptions["diffusion"]
        K = len(orgs.icbs)
        lag = np.zeros(K)
        imitation = np.ones(K)
        plateau = np.ones(K)
        lag[plan.laggards] = d["laggard_lag_months"]
        imitation[plan.laggards] = d["laggard_imitation_factor"]
        plateau[plan.laggards] = d["laggard_plateau_factor"]
        self.lag, self.imitation, self.plateau = lag, imitation, plateau
        codes = [i.code for i in orgs.icbs]
        # (ICB index, TAs, first month YYYY-MM, factor): effects planted to test the impact estimates
        self.planted = [(codes.index(e["icb"]), set(e["tas"]), str(e["from"]), float(e["factor"]))
                        for e in ref.assumptions.get("planted_effects", []) if e["icb"] in codes]

    def _planted(self, c: Component, month: Month) -> np.ndarray | None:
        """[K] factor on each ICB's patients of `c` in `month`, or None when nothing is planted."""
        factor = None
        for k, tas, first, f in self.planted:
            if c.ta_id in tas and month.iso >= first:
                factor = np.ones(len(self.orgs.icbs)) if factor is None else factor
                factor[k] *= f
        return factor

    def _eligible(self, c: Component, m: int, month: Month, cache: dict) -> np.ndarray:
        key = (c.register, c.age_min, c.age_max, c.sex)
        if key not in cache:
            pop = self.pop
            if c.register is not None:
                if "reg" not in cache:
                    cache["reg"] = self.regs.counts(pop, m, month.year + (month.month - 0.5) / 12)
                reg = cache["reg"][:, c.register]
                min_age = int(self.regs.min_ages[c.register])
                # Disease registers are of adults in all but name: an adult-only TA (age_min <= 18)
                # is not narrowed; an older band or one sex is, by its share of the register's ages.
                age_min = c.age_min if c.age_min is not None and c.age_min > 18 else None
                if age_min is None and c.age_max is None and c.sex is None:
                    cache[key] = reg
                else:
                    w_all = np.ones(2)[:, None] * age_fraction(min_age or None, None)[None, :]
                    w_sub = sex_mask(c.sex)[:, None] * age_fraction(max(age_min or 0, min_age) or None, c.age_max)[None, :]
                    num = np.einsum("psb,sb->p", pop.counts[m], w_sub)
                    den = np.einsum("psb,sb->p", pop.counts[m], w_all)
                    cache[key] = reg * np.divide(num, den, out=np.zeros_like(num), where=den > 0)
            else:
                cache[key] = pop.in_band(m, c.age_min, c.age_max, c.sex)
        return cache[key]

    def _curve(self, c: Component, month: Month, lag: np.ndarray, imitation_factor: np.ndarray) -> np.ndarray:
        since = months_since(c.start, month)
        if since < 0:
            return np.zeros_like(lag)
        return bass(since - lag, c.innovation, c.imitation * imitation_factor)

    def primary(self, m: int) -> np.ndarray:
        """[P, lines] expected patients on each presentation in month m."""
        month = self.orgs.months[m]
        k = self.orgs.icb
        out = np.zeros((self.orgs.n_practices, len(self.plan.lines)))
        cache: dict = {}
        for c in self.plan.components:
            if not c.lines or c.primary <= 0 or months_since(c.start, month) < 0:
                continue
            lag = c.icb_lag[k] + self.lag[k] + c.practice_lag
            f = self._curve(c, month, lag, self.imitation[k])
            icb_level = c.icb_effect * self.plan.propensity * c.preference * self.plateau
            planted = self._planted(c, month)
            if planted is not None:
                icb_level = icb_level * planted
            level = icb_level[k] * c.practice_effect
            patients = self._eligible(c, m, month, cache) * c.fraction * c.share * c.primary * f * level
            for i, w in c.lines:
                out[:, i] += patients * w
        return out

    def secondary(self, m: int) -> np.ndarray:
        """[K, vmps] expected patients treated by each ICB's hospitals in month m."""
        month = self.orgs.months[m]
        K = len(self.orgs.icbs)
        out = np.zeros((K, len(self.plan.vmps)))
        cache: dict = {}
        for c in self.plan.components:
            if not c.vmps or c.secondary <= 0 or months_since(c.start, month) < 0:
                continue
            eligible = np.bincount(self.orgs.icb, weights=self._eligible(c, m, month, cache), minlength=K)
            f = self._curve(c, month, c.icb_lag + self.lag, self.imitation)
            level = c.icb_effect * self.plan.propensity * c.preference * self.plateau
            planted = self._planted(c, month)
            if planted is not None:
                level = level * planted
            patients = eligible * c.fraction * c.share * c.secondary * f * level
            for i, w in c.vmps:
                out[:, i] += patients * w
        return out
