"""Synthetic formulary decisions: when each local formulary added each NICE TA.

One formulary per ICB, except one or two pairs of ICBs in the same region that share a joint
formulary (chosen by the seed). Codes and names cannot be mistaken for real ones: `SYN-QHM`,
"North East and North Cumbria formulary (synthetic)", `SYN-QNQ-QXU`, "Frimley and Surrey
Heartlands joint formulary (synthetic)".

For every catalogue TA with a positive recommendation and every formulary, the first decision
is dated publication + a delay (`_pace`):

- most within the TA's funding deadline: a right-skewed spread over ~5-85 days for a 90-day TA
  (scaled to the deadline, so ~2-28 days for a 30-day one), later in the window for laggards;
- a tail of ~13% late, 1-160 days past the deadline (91-250 days for a 90-day TA); formularies
  serving the diffusion's laggard ICBs are late far more often, and every formulary's chance is
  tilted by its ICBs' diffusion lag for that TA (so formulary and uptake delays agree);
- ~2% added before publication (auto-added at final draft guidance);
- ~1.5% of pairs have no decision at all (overdue), more for laggards;
- ~1.5% are first `rejected` with a reason; most of those are followed by a later `included`
  row (a changed decision);
- TAs commissioned by NHS England, or whose products are all hospital-only, are mostly
  `included_with_restrictions` (red: hospital only) or `not_applicable` with a reason, each
  formulary following its own habit.

Only decisions dated on or before the synthetic world's "today" (the last day of the last month
generated, `as_of`) are written. Each TA has its own random stream, so a TA's decisions do not
depend on the other TAs, nor on the months generated (the as-of date only cuts them off).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..formulary import DecisionRow, write_formulary_decisions
from . import rng as streams
from .organisations import Organisations

# This stage's random streams: a number of its own (a checksum of its name), so that it never
# shares a stream with the stages numbered in rng.py.
STAGE = streams.key("formulary")
FILE = "formulary/formulary_decisions.csv"
POSITIVE = ("recommended", "optimised", "cancer_drugs_fund")

P_LATE = 0.115  # first decision after the deadline
P_LATE_LAGGARD = 0.45
LAG_TILT = 0.35  # late chance x exp(LAG_TILT x z), z = the formulary's ICBs' diffusion lag in sd
P_MISSING = 0.012  # no decision at all
P_MISSING_LAGGARD = 0.06
P_REJECTED = 0.015
P_REJECTION_REVERSED = 0.6  # a rejection later replaced by an inclusion
P_EARLY = 0.02  # added at final draft guidance, before publication
LATE_DAYS = 160  # late decisions fall 1..LATE_DAYS days after the deadline

NHSE_RESTRICTION = "Red: hospital only (NHS England commissioned)"
NHSE_REASON = "Hospital only; commissioned by NHS England"
HOSPITAL_RESTRICTION = "Red: hospital only (specialist initiation and supply)"
HOSPITAL_REASON = "Hospital only; supplied by the trust, not prescribed in primary care"
SHARED_CARE_RESTRICTION = "Amber: specialist initiation, GP continuation"
PRIMARY_RESTRICTION = "Green: within the NICE TA criteria only"
REJECTION_REASONS = (
    "Deferred: local pathway not yet agreed",
    "Not added: APC requested a budget impact assessment",
    "Not added: awaiting the ICB's funding decision",
)
RECORDERS = ("Formulary pharmacist (synthetic)", "APC secretary (synthetic)", "Medicines optimisation team (synthetic)")


@dataclass(frozen=True)
class Formulary:
    code: str
    name: str
    members: tuple[int, ...]  # ICB indices into Organisations.icbs

    def icbs(self, orgs: Organisations) -> tuple[str, ...]:
        return tuple(sorted(orgs.icbs[k].code for k in self.members))


def formularies(orgs: Organisations, seed: int) -> list[Formulary]:
    """One formulary per ICB, except 1-2 pairs of ICBs in one region sharing one; by code."""
    r = streams.stream(seed, STAGE, 0)
    region = orgs.region_of_icb()
    n_pairs = int(r.integers(1, 3))
    regions = sorted({int(x) for x in region if (region == x).sum() >= 2})
    chosen = sorted(int(x) for x in r.choice(regions, size=n_pairs, replace=False))
    paired: list[tuple[int, ...]] = []
    for g in chosen:
        members = np.flatnonzero(region == g)
        paired.append(tuple(sorted(int(k) for k in r.choice(members, size=2, replace=False))))
    in_pair = {k for p in paired for k in p}
    out = [Formulary(f"SYN-{orgs.icbs[k].code}", f"{orgs.icbs[k].place} formulary (synthetic)", (k,))
           for k in range(len(orgs.icbs)) if k not in in_pair]
    for a, b in paired:
        ia, ib = sorted((orgs.icbs[a], orgs.icbs[b]), key=lambda i: i.code)
        out.append(Formulary(f"SYN-{ia.code}-{ib.code}", f"{ia.place} and {ib.place} joint formulary (synthetic)",
                             (a, b)))
    return sorted(out, key=lambda f: f.code)


def _kind(ta) -> str:
    """How formularies treat a TA: 'nhse', 'hospital', 'shared_care' or 'primary'."""
    settings = {p.setting for p in ta.products}
    if ta.commissioner == "nhs_england":
        return "nhse"
    if settings == {"secondary"}:
        return "hospital"
    if not settings or "both" in settings or "secondary" in settings:
        return "shared_care"
    return "primary"


def _evidence(code: str, ta_id: str, date: dt.date, u: float, item: int) -> str:
    if u < 0.3:
        return f"https://formulary.example.org/{code.lower()}/{ta_id.lower()}"
    return f"APC minutes {date.year}-{date.month:02d} item {item}"


@dataclass
class Decisions:
    rows: list[DecisionRow]
    stats: dict


def decisions(catalogue, orgs: Organisations, laggards: list[int], icb_lag: dict[str, np.ndarray],
              seed: int, as_of: dt.date) -> Decisions:
    """Every formulary's decisions on every positive TA published on or before `as_of`, dated on
    or before it, sorted by formulary, TA number and date; with counts for the summary."""
    forms = formularies(orgs, seed)
    F, K = len(forms), len(orgs.icbs)
    lag_share = np.array([np.mean([k in laggards for k in f.members]) for f in forms])
    r0 = streams.stream(seed, STAGE, 1)
    na_habit = r0.uniform(0.05, 0.6, F)  # how often each formulary marks NHS England TAs not applicable
    icbs = [f.icbs(orgs) for f in forms]
    rows: list[tuple] = []
    status: Counter = Counter()
    early = 0
    tas = sorted((t for t in catalogue.technology_appraisals if t.recommendation in POSITIVE),
                 key=lambda t: t.number)
    for ta in tas:
        if ta.published > as_of:
            continue
        D = int(ta.funding_deadline_days)
        deadline = ta.published + dt.timedelta(days=D)
        kind = _kind(ta)
        r = streams.stream(seed, STAGE, 2, streams.key(ta.id))
        u = r.uniform(size=(F, 10))
        on_time = r.beta(1.5, 3.5, F)  # right-skewed within the window
        on_time_slow = r.beta(2.5, 2.0, F)  # laggards: later in the window
        late = r.beta(1.2, 2.5, F)
        early_days = r.integers(1, 41, F)
        reversal = r.integers(30, 200, F)
        item = r.integers(1, 13, (F, 2))
        lag = icb_lag.get(ta.id, np.zeros(K))
        z = np.array([lag[list(f.members)].mean() for f in forms]) / max(float(np.std(lag)), 1e-9) \
            if np.any(lag) else np.zeros(F)
        p_late = (P_LATE + lag_share * (P_LATE_LAGGARD - P_LATE)) * np.exp(LAG_TILT * z - LAG_TILT ** 2 / 2)
        p_missing = P_MISSING + lag_share * (P_MISSING_LAGGARD - P_MISSING)
        lo = max(1, round(D * 5 / 90))
        hi = D - lo
        for i, f in enumerate(forms):
            v = u[i]
            if v[0] < p_missing[i]:
                status["missing" if deadline <= as_of else "pending"] += 1
                continue
            if v[1] < p_late[i]:
                delay = D + 1 + int(late[i] * (LATE_DAYS - 1))
            elif v[2] < P_EARLY and lag_share[i] == 0:
                delay = -int(early_days[i])
            else:
                spread = on_time_slow[i] if lag_share[i] > 0 else on_time[i]
                delay = lo + round(float(spread) * (hi - lo))
            first = ta.published + dt.timedelta(days=delay)
            # The decision itself.
            if kind == "nhse":
                decision = ("not_applicable" if v[3] < na_habit[i] else
                            "included" if v[4] < 0.08 else "included_with_restrictions")
            elif kind == "hospital":
                decision = "not_applicable" if v[3] < 0.1 else "included" if v[4] < 0.15 else \
                    "included_with_restrictions"
            elif kind == "shared_care":
                decision = "included_with_restrictions" if v[3] < 0.45 else "included"
            else:
                decision = "included_with_restrictions" if v[3] < 0.08 else "included"
            restriction = {"nhse": NHSE_RESTRICTION, "hospital": HOSPITAL_RESTRICTION,
                           "shared_care": SHARED_CARE_RESTRICTION}.get(kind, PRIMARY_RESTRICTION)
            reason = NHSE_REASON if kind == "nhse" else HOSPITAL_REASON
            recorder = RECORDERS[0] if v[5] < 0.7 else RECORDERS[1] if v[5] < 0.9 else ""
            history: list[tuple[dt.date, str, str, str]] = []
            if v[6] < P_REJECTED:
                history.append((first, "rejected", "", REJECTION_REASONS[int(v[7] * len(REJECTION_REASONS))]))
                if v[8] < P_REJECTION_REVERSED:
                    history.append((first + dt.timedelta(days=int(reversal[i])), "included", "", ""))
            else:
                history.append((first, decision, restriction if decision == "included_with_restrictions" else "",
                                reason if decision == "not_applicable" else ""))
            written = [h for h in history if h[0] <= as_of]
            for n, (date, dec, restr, why) in enumerate(written):
                evidence = (f"Added at final draft guidance; APC minutes {date.year}-{date.month:02d} item {item[i, n]}"
                            if date < ta.published else _evidence(f.code, ta.id, date, v[9], int(item[i, n])))
                rows.append((f.code, ta.number, date, f.name, icbs[i], ta.id, dec, restr, why, evidence, recorder))
            early += sum(1 for h in written if h[0] < ta.published)
            # The pair's state as of `as_of`, as the compliance rules judge it: the decision in
            # force is the latest; an inclusion counts from its date (histories here are one
            # decision, or a rejection followed by an inclusion).
            if not written:
                status["missing" if deadline <= as_of else "pending"] += 1
            elif written[-1][1] in ("rejected", "not_applicable"):
                status[written[-1][1]] += 1
            else:
                status["on_time" if written[-1][0] <= deadline else "late"] += 1
            if len(written) > 1:
                status["changed"] += 1
    rows.sort(key=lambda x: (x[0], x[1], x[2]))
    out = [DecisionRow(n + 2, code, name, icb, ta_id, dec, date, restr, why, ev, rec)
           for n, (code, _, date, name, icb, ta_id, dec, restr, why, ev, rec) in enumerate(rows)]
    by_decision = Counter(r.decision for r in out)
    stats = {
        "formulary_as_of": as_of.isoformat(),
        "rows": len(out),
        "formularies": F,
        "shared": {f.code: list(f.icbs(orgs)) for f in forms if len(f.members) > 1},
        "tas": sum(1 for t in tas if t.published <= as_of),
        "pairs": sum(status[k] for k in ("on_time", "late", "not_applicable", "rejected", "missing", "pending")),
        "decisions": {d: by_decision.get(d, 0) for d in ("included", "included_with_restrictions",
                                                         "not_applicable", "rejected")},
        # Formulary x TA pairs as of the as-of date, by the decision in force:
        "on_time": status["on_time"],  # included within the funding deadline
        "late": status["late"],  # included after it
        "not_applicable": status["not_applicable"],
        "rejected": status["rejected"],  # non-compliant
        "missing": status["missing"],  # no decision, deadline passed: overdue
        "pending": status["pending"],  # no decision yet, deadline not yet passed
        "changed": status["changed"],  # rejected, then included
        "before_publication": early,
    }
    return Decisions(out, stats)


def write(out_dir: Path, catalogue, orgs: Organisations, laggards: list[int], icb_lag: dict[str, np.ndarray],
          seed: int) -> tuple[Path | None, dict]:
    """Write `formulary/formulary_decisions.csv` under `out_dir` (unless there is no decision to
    write) and return its path (or None) and the summary."""
    as_of = orgs.months[-1].last
    d = decisions(catalogue, orgs, laggards, icb_lag, seed, as_of)
    path = out_dir / FILE
    if not d.rows:
        path.unlink(missing_ok=True)
        return None, d.stats
    path.parent.mkdir(parents=True, exist_ok=True)
    write_formulary_decisions(path, d.rows)
    return path, d.stats
