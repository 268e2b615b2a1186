"""An ICB's chosen opportunities: read, and replaced as a set (at least five, each with a
rationale), keeping what was withdrawn."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ...catalogue.opportunities import load_opportunities
from ...errors import UptakeError
from .. import limits
from .models import MINIMUM, YEAR, Choice


class Invalid(UptakeError):
    pass


def chosen(icb: str, year: str = YEAR) -> dict[str, Choice]:
    return {c.opportunity: c for c in Choice.objects.filter(icb=icb.upper(), year=year, withdrawn_at=None)}


def choosers(year: str = YEAR) -> dict[str, set[str]]:
    """Opportunity id → the ICBs that chose it."""
    out: dict[str, set[str]] = {}
    for icb, opp in Choice.objects.filter(year=year, withdrawn_at=None).values_list("icb", "opportunity"):
        out.setdefault(opp, set()).add(icb)
    return out


def choose(icb: str, rationales: dict[str, str], *, who: str, user=None, year: str = YEAR) -> list[Choice]:
    """Make `rationales` (opportunity id → why) the ICB's choices for the year."""
    known = {o.id for o in load_opportunities()}
    unknown = sorted(set(rationales) - known)
    if unknown:
        raise Invalid(f"no opportunity {unknown[0]!r}")
    if len(rationales) < MINIMUM:
        raise Invalid(f"choose at least {MINIMUM} opportunities (NHS England asks each ICB for at least five); "
                      f"{len(rationales)} chosen")
    missing = [k for k, v in rationales.items() if not v.strip()]
    if missing:
        raise Invalid(f"say why for every choice: no rationale for {', '.join(sorted(missing))}")
    for k, v in rationales.items():
        if (long := limits.text_problem(f"the rationale for {k}", v, limits.SHORT_TEXT)) is not None:
            raise Invalid(long)
    icb = icb.upper()
    now = timezone.now()
    with transaction.atomic():
        current = chosen(icb, year)
        for opp, c in current.items():
            if opp not in rationales or c.rationale != rationales[opp].strip():
                c.withdrawn_at = now
                c.save(update_fields=["withdrawn_at"])
        for opp, why in rationales.items():
            c = current.get(opp)
            if c is None or c.rationale != why.strip():
                Choice.objects.create(icb=icb, year=year, opportunity=opp, rationale=why.strip(), chosen_by=who,
                                      user=user if user is not None and user.is_authenticated else None)
    return list(chosen(icb, year).values())
