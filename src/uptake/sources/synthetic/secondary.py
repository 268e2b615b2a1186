"""Hospital issues of the catalogue's secondary-care products by trust (SCMD), per month."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import rng as streams
from .diffusion import Diffusion, Plan
from .organisations import Organisations
from .reference import Reference


@dataclass
class ScmdRows:
    trust: np.ndarray  # index into orgs.trust_code
    vmp: np.ndarray  # index into plan.vmps
    quantity: np.ndarray
    cost: np.ndarray


class Secondary:
    def __init__(self, orgs: Organisations, diffusion: Diffusion, plan: Plan, ref: Reference, seed: int):
        self.orgs, self.diffusion, self.plan, self.seed = orgs, diffusion, plan, seed
        self.shape = float(ref.assumptions["secondary"]["trust_noise_shape"])
        r = streams.stream(seed, streams.SECONDARY, 0)
        # Each trust serves a share of its ICB's patients.
        w = np.exp(r.normal(0, 0.5, len(orgs.trust_code)))
        total = np.bincount(orgs.trust_icb, weights=w, minlength=len(orgs.icbs))
        self.trust_share = w / total[orgs.trust_icb]
        # Trust codes sort in index order (they were generated sorted), so rows sort by (trust, VMP code).
        self.vmp_order = np.argsort(np.array([v.code for v in plan.vmps]), kind="stable")

    def rows(self, m: int) -> ScmdRows:
        if not self.plan.vmps or len(self.orgs.trust_code) == 0:
            e = np.empty(0)
            return ScmdRows(e.astype(np.int64), e.astype(np.int64), e, e)
        month = self.orgs.months[m]
        patients = self.diffusion.secondary(m)  # [K, V]
        per_trust = patients[self.orgs.trust_icb] * self.trust_share[:, None]  # [T, V]
        upd = np.array([v.units_per_day for v in self.plan.vmps])
        r = streams.stream(self.seed, streams.SECONDARY, 1, month.serial)
        # Patients treated are whole; what each used in the month varies (dose changes, wastage);
        # units issued are whole (tablets, vials, pens, doses).
        treated = r.poisson(per_trust)
        used = treated * upd[None, :] * month.days * r.gamma(self.shape, 1.0 / self.shape, per_trust.shape)
        qty = r.poisson(used).astype(np.float64)
        qty = qty[:, self.vmp_order]
        t, v = np.nonzero(qty > 0)
        vmp = self.vmp_order[v]
        q = qty[t, v]
        cost = np.round(q * np.array([self.plan.vmps[i].cost_per_unit for i in vmp]), 2) if len(vmp) else q
        return ScmdRows(t.astype(np.int64), vmp.astype(np.int64), q, cost)
