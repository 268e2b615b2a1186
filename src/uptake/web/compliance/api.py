"""/api/v1/compliance: every ICB × TA status as of a day, the ICB table, the decisions
themselves, and (for a signed-in editor of the ICB, by session or HTTP Basic) recording one."""

from __future__ import annotations

from datetime import date
from typing import Literal

from django.contrib.auth import authenticate
from ninja import Query, Router, Schema, Status
from ninja.security import HttpBasicAuth, django_auth
from pydantic import Field

from ...services import compliance as rules
from ..accounts.privacy import public
from ..accounts.roles import can_edit, display_name
from ..api_common import ERRORS, FORMAT, Message, rows_or_csv
from . import queries as cq
from . import store
from .models import Decision

router = Router(tags=["Formulary compliance"])
AS_OF = Field(None, description="YYYY-MM-DD (default: today)", examples=["2022-09-30"],
              pattern=r"^\d{4}-\d{2}-\d{2}$")
StatusName = Literal[rules.STATUSES]  # type: ignore[valid-type]
DecisionKind = Literal[rules.DECISIONS]  # type: ignore[valid-type]


class BasicAuth(HttpBasicAuth):
    def authenticate(self, request, username, password):
        user = authenticate(request, username=username.strip().lower(), password=password)
        if user is not None:
            request.user = user
        return user


AUTH = [django_auth, BasicAuth()]


class StatusFilters(Schema):
    as_of: str | None = AS_OF
    icb: str | None = Field(None, max_length=12, description="One ICB's ODS code")
    ta: str | None = Field(None, max_length=10, description="One TA, e.g. TA275")
    status: StatusName | None = Field(None, description="Only this status")
    format: Literal["json", "csv"] = FORMAT


class AsOfFormat(Schema):
    as_of: str | None = AS_OF
    format: Literal["json", "csv"] = FORMAT


class StatusOut(Schema):
    icb: str
    icb_name: str | None
    formulary: str | None
    ta: str
    ta_title: str
    published: str
    deadline: str
    deadline_days: int
    status: str
    label: str
    decision: str | None
    decision_date: str | None
    included_on: str | None
    days_to_inclusion: int | None
    days_late: int | None
    days_overdue: int | None
    days_left: int | None
    restrictions: str
    reason: str
    evidence: str


class IcbOut(Schema):
    icb: str
    name: str | None
    formulary: str | None
    rank: int | None
    on_time_pct: float | None
    median_days: float | None
    judged: int
    on_time: int
    late: int
    overdue: int
    rejected: int
    due_soon: int
    not_yet_due: int
    not_applicable: int


class DecisionIn(Schema):
    icb: str = Field(..., max_length=12, description="The ICB whose formulary decided")
    ta: str = Field(..., max_length=10)
    decision: DecisionKind
    decision_date: date
    restrictions: str = ""
    reason: str = ""
    evidence: str = ""


class DecisionChangeIn(DecisionIn):
    version: int = Field(..., description="The version you read: a newer one is refused with 409")


class DecisionOut(Schema):
    id: int
    formulary: str
    ta: str
    decision: str
    decision_date: date
    restrictions: str
    reason: str
    evidence: str
    recorded_by: str
    version: int


class ChangeOut(Schema):
    at: str
    who: str
    via: str
    action: str
    detail: str
    before: dict | None
    after: dict | None


WRITE_ERRORS = {400: Message, 401: Message, 403: Message, 404: Message, 409: Message, 422: Message, 503: Message}


@router.get("", response={200: list[StatusOut], **ERRORS}, summary="Every ICB × TA formulary status as of a day")
def statuses(request, f: Query[StatusFilters]):
    day = cq.as_of(f.as_of)
    c = cq.current(day, [f.ta.upper()] if f.ta else None)
    rows = [s.to_dict() for s in c.statuses if (not f.icb or s.icb == f.icb.upper())
            and (not f.status or s.status == f.status)]
    return rows_or_csv(request, rows, f.format, f"compliance-{day}.csv")


@router.get("/icbs", response={200: list[IcbOut], **ERRORS},
            summary="ICBs ranked by % of formulary deadlines met on time, then median days to inclusion")
def icbs(request, f: Query[AsOfFormat]):
    day = cq.as_of(f.as_of)
    rows = [s.to_dict() for s in cq.current(day).summaries()]
    return rows_or_csv(request, rows, f.format, f"compliance-icbs-{day}.csv")


def _out(d: Decision, viewer) -> dict:
    return {"id": d.pk, "formulary": d.formulary_id, "ta": d.ta, "decision": d.decision,
            "decision_date": d.decision_date, "restrictions": d.restrictions, "reason": d.reason,
            "evidence": d.evidence, "recorded_by": public(d.recorded_by, viewer), "version": d.version}


@router.get("/decisions", response={200: list[DecisionOut], **ERRORS}, summary="Formulary decisions as recorded")
def decisions(request, icb: str | None = Query(None, max_length=12), ta: str | None = Query(None, max_length=10)):
    qs = Decision.objects.all()
    if icb:
        form = store.formulary_of(icb)
        if form is None:
            return []
        qs = qs.filter(formulary=form)
    if ta:
        qs = qs.filter(ta=ta.upper())
    return [_out(d, request.user) for d in qs.order_by("formulary_id", "ta", "decision_date")[:5000]]


def _write(request, body: DecisionIn, instance: Decision | None):
    code = body.icb.strip().upper()
    if not can_edit(request.user, code):
        return Status(403, {"detail": f"you are not a formulary editor of {code}"})
    icb = next((i for i in cq.icbs() if i.code == code), None)
    if icb is None:
        return Status(404, {"detail": f"no ICB {code!r} in the publication"})
    formulary = store.formulary_of(code) or store.ensure_formulary(code, f"{icb.name or code} formulary")
    if instance is not None and instance.formulary_id != formulary.code:
        return Status(403, {"detail": f"decision {instance.pk} belongs to formulary {instance.formulary_id}, "
                                      f"not to {code}'s"})
    try:
        d = store.record(formulary=formulary, ta=body.ta, decision=body.decision, decision_date=body.decision_date,
                         restrictions=body.restrictions, reason=body.reason, evidence=body.evidence,
                         who=display_name(request.user), user=request.user, via="api", instance=instance,
                         version=getattr(body, "version", None))
    except store.Conflict as exc:
        return Status(409, {"detail": str(exc)})
    except store.Invalid as exc:
        return Status(400, {"detail": str(exc)})
    return Status(201 if instance is None else 200, _out(d, request.user))


@router.post("/decisions", auth=AUTH, response={201: DecisionOut, **WRITE_ERRORS},
             summary="Record a formulary decision (an editor of the ICB)")
def create_decision(request, body: DecisionIn):
    return _write(request, body, None)


@router.put("/decisions/{decision_id}", auth=AUTH, response={200: DecisionOut, **WRITE_ERRORS},
            summary="Change a decision (an editor of its ICB), giving the version you read")
def change_decision(request, decision_id: int, body: DecisionChangeIn):
    d = Decision.objects.filter(pk=decision_id).first()
    if d is None:
        return Status(404, {"detail": f"no decision {decision_id}"})
    return _write(request, body, d)


@router.get("/decisions/{decision_id}/history", response={200: list[ChangeOut], **ERRORS},
            summary="Every change to a formulary × TA's decisions")
def decision_history(request, decision_id: int):
    d = Decision.objects.filter(pk=decision_id).first()
    if d is None:
        return Status(404, {"detail": f"no decision {decision_id}"})
    return public([{"at": c.at.isoformat(), "who": c.who, "via": c.via, "action": c.action, "detail": c.detail,
                    "before": c.before, "after": c.after} for c in store.history(d.formulary_id, d.ta)], request.user)
