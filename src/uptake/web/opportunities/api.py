"""/api/v1/opportunities: every opportunity, one across ICBs, an ICB's ranking and its choices
(recorded by a signed-in editor of the ICB, by session or HTTP Basic)."""

from __future__ import annotations


from ninja import Query, Router, Schema, Status
from pydantic import Field

from ...services import opportunities as so
from ..accounts.privacy import public
from ..accounts.roles import can_edit, display_name
from ..api_common import ERRORS, Message, MonthFormat, rows_or_csv
from ..compliance.api import AUTH
from . import queries as oq
from . import store
from .models import YEAR

router = Router(tags=["Medicines optimisation opportunities"])
class OpportunityOut(Schema):
    id: str
    number: int
    title: str
    title_verified: bool
    group: str
    focus_2024_25: bool
    coverage: str
    measure: str | None
    month: str | None
    england: float | None
    benchmark: float | None
    benchmark_kind: str
    data_needed: str | None
    chosen_by: int


class StandingOut(Schema):
    icb: str
    name: str | None
    value: float | None
    benchmark: float | None
    gap: float | None
    units: float | None
    spend: float | None
    spend_a_year: float | None
    denominator: float | None
    percentile: float | None
    value_before: float | None
    change: float | None
    improved: bool | None


class RankedOut(Schema):
    rank: int | None
    opportunity: str
    number: int
    title: str
    measured: bool
    measure: str | None
    benchmark: float | None
    england: float | None
    data_needed: str | None
    value: float | None = None
    gap: float | None = None
    spend_a_year: float | None = None
    change: float | None = None


class ChoiceOut(Schema):
    opportunity: str
    rationale: str
    chosen_by: str
    chosen_at: str


class ChoicesIn(Schema):
    choices: dict[str, str] = Field(..., description="opportunity id → why the ICB chose it (at least five)")


@router.get("", response={200: list[OpportunityOut], **ERRORS}, summary="The 16 national opportunities")
def opportunities(request, f: Query[MonthFormat]):
    who = store.choosers()
    rows = [{**{k: v.opportunity.to_dict()[k] for k in ("id", "number", "title", "title_verified", "group",
                                                      "focus_2024_25", "coverage", "data_needed")},
             "measure": v.measure.id if v.measure else None, "month": v.month.isoformat() if v.month else None,
             "england": v.england, "benchmark": v.benchmark, "benchmark_kind": v.opportunity.benchmark.kind,
             "chosen_by": len(who.get(v.opportunity.id, ()))} for v in oq.views(f.month)]
    return rows_or_csv(request, rows, f.format, "opportunities.csv")


@router.get("/icb/{code}", response={200: list[RankedOut], **ERRORS},
            summary="The opportunities ranked for one ICB by the spend that closing its gaps would change")
def icb_ranking(request, code: str, f: Query[MonthFormat]):
    code = code.strip().upper()
    if code not in {o["code"] for o in oq.published().organisations() if o["level"] == "icb"}:
        return Status(404, {"detail": f"no ICB {code!r} in the publication"})
    rows = [r.to_dict() for r in so.rank_for_icb(oq.views(f.month), code)]
    return rows_or_csv(request, rows, f.format, f"opportunities-{code}.csv")


@router.get("/icb/{code}/choices", response={200: list[ChoiceOut], **ERRORS},
            summary=f"The opportunities an ICB chose for {YEAR}, with why")
def icb_choices(request, code: str):
    return [{"opportunity": c.opportunity, "rationale": c.rationale, "chosen_by": public(c.chosen_by, request.user),
             "chosen_at": c.chosen_at.isoformat()} for c in store.chosen(code).values()]


@router.put("/icb/{code}/choices", auth=AUTH,
            response={200: list[ChoiceOut], 400: Message, 401: Message, 403: Message, 422: Message},
            summary=f"Record an ICB's {YEAR} choices (an editor of the ICB): replaces the set")
def set_choices(request, code: str, body: ChoicesIn):
    code = code.strip().upper()
    if not can_edit(request.user, code):
        return Status(403, {"detail": f"you are not an editor of {code}"})
    try:
        store.choose(code, body.choices, who=display_name(request.user), user=request.user)
    except store.Invalid as exc:
        return Status(400, {"detail": str(exc)})
    return icb_choices(request, code)


@router.get("/{key}", response={200: list[StandingOut], **ERRORS},
            summary="One opportunity across every ICB: value, gap to the benchmark, spend that would change")
def one(request, key: str, f: Query[MonthFormat]):
    v = oq.one(key, f.month)
    rows = [r.to_dict() for r in v.rows]
    return rows_or_csv(request, rows, f.format, f"opportunity-{v.opportunity.id}.csv")
