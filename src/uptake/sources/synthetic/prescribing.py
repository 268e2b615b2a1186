"""Primary-care prescribing rows per month: the catalogue's products (from `diffusion`) and the
background of everything else a practice prescribes, drawn as Poisson item counts.

Rows come out in blocks of practices, each sorted by practice code, BNF code and quantity, so a
month can be written in one pass without holding all of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from . import rng as streams
from .diffusion import Diffusion, Plan
from .organisations import Organisations
from .population import Population
from .reference import Reference
from .scales import Scale

BLOCK = 512  # practices per block


MEASURE_CODES_EACH = 3  # background codes kept for each part of each measure at the smaller scales


@dataclass
class Block:
    practice: np.ndarray  # int64 practice index
    code: np.ndarray  # int64 index into Prescribing.codes
    quantity: np.ndarray  # float64 quantity per item
    items: np.ndarray  # int64

    def __len__(self) -> int:
        return len(self.items)


class Prescribing:
    def __init__(self, orgs: Organisations, pop: Population, diffusion: Diffusion, plan: Plan, ref: Reference,
                 scale: Scale, catalogue_chemicals: set[str], seed: int,
                 measure_parts: tuple[tuple[str, ...], ...] = ()):
        self.orgs, self.pop, self.diffusion, self.plan, self.seed = orgs, pop, diffusion, plan, seed
        a = ref.assumptions["prescribing"]
        self.a = a
        bg = ref.background
        line_codes = {ln.code for ln in plan.lines}
        keep = np.array([c[:9] not in catalogue_chemicals and c not in line_codes for c in bg.codes])
        chosen = np.flatnonzero(keep)
        if scale.background_codes is not None:
            # The file is ordered most-prescribed first: the top codes, and the top few of every
            # catalogue measure's numerator and denominator, so that every measure has figures.
            top = list(chosen[: scale.background_codes])
            for prefixes in measure_parts:
                top += [i for i in chosen if bg.codes[i].startswith(prefixes)][:MEASURE_CODES_EACH]
            chosen = np.array(sorted(set(top)), dtype=chosen.dtype)
        self.background = chosen
        # One table of every code that may appear, sorted: its position is the sort key.
        entries: dict[str, tuple[str, str, str, str, float, float]] = {}
        for i in chosen:
            entries[bg.codes[i]] = (bg.descriptions[i], bg.chemicals[i], bg.chemical_names[i], bg.chapters[i],
                                    float(bg.nic_per_unit[i]), float(bg.adq_per_unit[i]))
        chapters = {c[:2]: c for c in bg.chapters}
        for ln in plan.lines:
            chapter = chapters.get(ln.code[:2], f"{ln.code[:2]}: BNF chapter {ln.code[:2]}")
            entries[ln.code] = (ln.description, ln.chemical, ln.chemical_name, chapter, ln.nic_per_unit,
                                1.0 / ln.units_per_day)
        self.codes = np.array(sorted(entries))
        rank = {c: i for i, c in enumerate(self.codes)}
        self.description = np.array([entries[c][0] for c in self.codes])
        self.chemical = np.array([entries[c][1] for c in self.codes])
        self.chemical_name = np.array([entries[c][2] for c in self.codes])
        self.chapter = np.array([entries[c][3] for c in self.codes])
        self.nic_per_unit = np.array([entries[c][4] for c in self.codes])
        self.adq_per_unit = np.array([entries[c][5] for c in self.codes])
        self.line_rank = np.array([rank[ln.code] for ln in plan.lines], dtype=np.int64)

        # Background variants: one per (presentation, pack quantity).
        var_code, var_qty, var_rate, var_vaccine = [], [], [], []
        for i in chosen:
            for q, s in bg.quantities[i]:
                var_code.append(rank[bg.codes[i]])
                var_qty.append(q)
                var_rate.append(bg.item_share[i] * s)
                var_vaccine.append(bg.chapters[i].startswith("14"))
        self.var_code = np.array(var_code, dtype=np.int64)
        self.var_qty = np.array(var_qty, dtype=np.float64)
        self.var_rate = np.array(var_rate, dtype=np.float64)
        self.var_vaccine = np.array(var_vaccine, dtype=bool)
        # Which background presentation each variant is (for the practice x presentation factor).
        _, self.var_pres = np.unique(self.var_code, return_inverse=True)
        self.n_pres = int(self.var_pres.max()) + 1 if len(self.var_pres) else 0

        P = orgs.n_practices
        r = streams.stream(seed, streams.BACKGROUND, 0)
        self.practice_factor = np.exp(r.normal(-a["practice_sd"] ** 2 / 2, a["practice_sd"], P))

    def _preference(self, block: int, size: int) -> np.ndarray:
        """[size, presentations] a practice's persistent liking for each background presentation."""
        sd = self.a["practice_code_sd"]
        r = streams.stream(self.seed, streams.BACKGROUND, 1, block)
        return np.exp(r.normal(-sd**2 / 2, sd, (size, self.n_pres))).astype(np.float32)

    def _season(self, m: int) -> np.ndarray:
        month = self.orgs.months[m]
        a = self.a
        general = 1.0 + a["winter_amplitude"] * np.cos(2 * np.pi * (month.month - 1) / 12)
        general *= float(a["month_effects"].get(month.iso, 1.0))
        vaccine = float(a["vaccine_season"][month.month]) * float(a["month_effects"].get(month.iso, 1.0))
        return np.where(self.var_vaccine, vaccine, general)

    def catalogue_rows(self, m: int) -> Block:
        """All practices' rows for the catalogue's products in month m."""
        patients = self.diffusion.primary(m)  # [P, lines]
        patients[~self.orgs.open_at[m]] = 0.0
        r = streams.stream(self.seed, streams.PRESCRIBING, self.orgs.months[m].serial)
        parts = []
        for i, ln in enumerate(self.plan.lines):
            for q, share, ipm in ln.options:
                items = r.poisson(patients[:, i] * share * ipm)
                j = np.flatnonzero(items)
                parts.append((j, np.full(len(j), self.line_rank[i]), np.full(len(j), q), items[j]))
        if not parts:
            return Block(*(np.empty(0, dtype=t) for t in (np.int64, np.int64, np.float64, np.int64)))
        j, c, q, n = (np.concatenate(x) for x in zip(*parts))
        return Block(j.astype(np.int64), c.astype(np.int64), q.astype(np.float64), n.astype(np.int64))

    def blocks(self, m: int) -> Iterator[Block]:
        P = self.orgs.n_practices
        cat = self.catalogue_rows(m)
        season = self._season(m)
        base = (self.pop.total[m].astype(np.float64) * self.a["items_per_patient_month"] * self.practice_factor)
        serial = self.orgs.months[m].serial
        for b, start in enumerate(range(0, P, BLOCK)):
            stop = min(P, start + BLOCK)
            parts_j = [cat.practice[(cat.practice >= start) & (cat.practice < stop)]]
            sel = (cat.practice >= start) & (cat.practice < stop)
            parts_c, parts_q, parts_n = [cat.code[sel]], [cat.quantity[sel]], [cat.items[sel]]
            if len(self.var_code):
                pref = self._preference(b, stop - start)
                lam = (base[start:stop, None] * (self.var_rate * season)[None, :]) * pref[:, self.var_pres]
                r = streams.stream(self.seed, streams.BACKGROUND, 2, serial, b)
                items = r.poisson(lam)
                jj, vv = np.nonzero(items)
                parts_j.append(jj + start)
                parts_c.append(self.var_code[vv])
                parts_q.append(self.var_qty[vv])
                parts_n.append(items[jj, vv])
            j = np.concatenate(parts_j).astype(np.int64)
            c = np.concatenate(parts_c).astype(np.int64)
            q = np.concatenate(parts_q).astype(np.float64)
            n = np.concatenate(parts_n).astype(np.int64)
            order = np.lexsort((q, c, j))
            yield Block(j[order], c[order], q[order], n[order])
