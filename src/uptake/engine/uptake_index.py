"""Uptake of each TA against its eligible population, by practice and ICB, for one month.

observed patients  = Σ total_quantity ÷ units per day of treatment ÷ days in the month
eligible           = QOF register of the TA's condition × the eligible fraction
expected patients  = eligible × NICE's expected uptake share
uptake index       = observed ÷ expected

Practices are placed in ICBs through the memberships valid in that month (practice → sub-ICB
location → ICB), so an organisation change re-maps activity from the month it took effect.
"""

from __future__ import annotations

import calendar
from datetime import date

import ibis
from ibis import _


def financial_year(month: date) -> str:
    start = month.year if month.month >= 4 else month.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def days_in_month(month: date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


def practice_observed(prescribing: ibis.Table, presentations: ibis.Table, month: date) -> ibis.Table:
    """Patients on treatment per practice and TA: treatment-days dispensed ÷ days in the month."""
    rx = prescribing.filter(prescribing.month == month)
    joined = rx.join(presentations, rx.bnf_code == presentations.bnf_code)
    return joined.group_by(["practice", "ta"]).aggregate(
        patients=(joined.total_quantity / joined.units_per_day).sum() / days_in_month(month),
        items=joined.items.sum(),
        cost=joined.actual_cost.sum(),
    )


def practice_eligible(registers: ibis.Table, eligibility: ibis.Table, year: str) -> ibis.Table:
    """Eligible and expected patients per practice and TA from the QOF register of that year."""
    reg = registers.filter(registers.year == year)
    joined = reg.join(eligibility, reg.register == eligibility.register)
    return joined.select(
        "practice", "ta",
        eligible=joined.patients * joined.fraction,
        expected=joined.patients * joined.fraction * joined.share,
    )


def practice_icb(relations: ibis.Table, month: date) -> ibis.Table:
    """practice → ICB through the practice's sub-ICB location valid in `month`."""
    def valid(t: ibis.Table) -> ibis.Table:
        return t.filter((t.valid_from.isnull() | (t.valid_from <= month)) & (t.valid_to.isnull() | (t.valid_to > month)))

    p2s = valid(relations.filter((_.child_type == "practice") & (_.parent_type == "sub_icb")))
    s2i = valid(relations.filter((_.child_type == "sub_icb") & (_.parent_type == "icb")))
    p2s = p2s.select(practice=p2s.child, sub_icb=p2s.parent).distinct(on="practice", keep="first")
    s2i = s2i.select(sub_icb=s2i.child, icb=s2i.parent).distinct(on="sub_icb", keep="first")
    return p2s.join(s2i, "sub_icb").select("practice", "icb")


def icb_uptake(observed: ibis.Table, eligible: ibis.Table, membership: ibis.Table) -> ibis.Table:
    """Observed and expected patients and the uptake index per ICB and TA."""
    obs = observed.join(membership, "practice").group_by(["icb", "ta"]).aggregate(patients=_.patients.sum())
    exp = eligible.join(membership, "practice").group_by(["icb", "ta"]).aggregate(
        eligible=_.eligible.sum(), expected=_.expected.sum())
    both = exp.join(obs, ["icb", "ta"], how="left")
    return both.select("icb", "ta", "eligible", "expected",
                       patients=both.patients.fill_null(0.0),
                       index=both.patients.fill_null(0.0) / both.expected.nullif(0))
