"""What the compliance pages and API ask: every ICB × TA status as of a day, from the
formulary decisions in the portal's database and the ICBs of the publication."""

from __future__ import annotations

from datetime import date

from ... import config
from ...errors import UptakeError
from ...services import compliance as rules
from ..store import published
from . import store


def as_of(text: str | None) -> date:
    """The day asked for (YYYY-MM-DD), or today (see uptake.config.today)."""
    if not text:
        return config.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UptakeError(f"as_of {text!r}: expected a date YYYY-MM-DD, e.g. 2022-09-30") from None


def icbs() -> list[rules.Icb]:
    return rules.icbs_of(published(), store.icb_formularies())


def current(day: date, tas: list[str] | None = None) -> rules.Compliance:
    return rules.compliance(published().catalogue, icbs(), store.decisions(tas=tas), day, tas=tas)


def uptake_by_icb(ta: str) -> dict[str, dict]:
    """ICB code → {value, percentile, flag} of the TA in the latest published month."""
    from .. import queries as q

    try:
        card = q.scorecard(ta, "icb", None)
    except UptakeError:
        return {}
    return {r.org: {"value": r.value, "percentile": r.percentile, "flag": r.flag_998_od} for r in card.rows}
