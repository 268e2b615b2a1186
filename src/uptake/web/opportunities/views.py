"""Opportunity pages: every opportunity with the ICBs' choices and movement, one opportunity
across ICBs, and an ICB's "choose your five"."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render

from ...errors import UptakeError
from ...services import opportunities as so
from ..accounts.roles import can_edit, display_name
from ..pages import guard as _guard
from . import queries as oq
from . import store
from .models import MINIMUM, YEAR


def _month(request) -> str | None:
    return request.GET.get("month") or None


@_guard
def national(request):
    month = _month(request)
    views = oq.views(month)
    who = store.choosers()
    rows = [{"view": v, "chosen": len(who.get(v.opportunity.id, ())),
             "movement": so.movement(v, who.get(v.opportunity.id, set())) if v.measured else None} for v in views]
    latest = next((v.month for v in views if v.month), None)
    return render(request, "opportunities/national.html",
                  {"rows": rows, "year": YEAR, "month": latest, "icbs_choosing": len({i for s in who.values() for i in s}),
                   "months": [f"{m:%Y-%m}" for m in oq.published().months()]})


@_guard
def opportunity_page(request, key: str):
    v = oq.one(key, _month(request))
    if key != v.opportunity.id:
        return redirect("opportunity", v.opportunity.id)
    who = store.choosers().get(v.opportunity.id, set())
    return render(request, "opportunities/opportunity.html",
                  {"v": v, "o": v.opportunity, "chosen": who, "year": YEAR,
                   "movement": so.movement(v, who) if v.measured else None,
                   "months": [f"{m:%Y-%m}" for m in oq.published().months()],
                   "month": f"{v.month:%Y-%m}" if v.month else None})


@_guard
def icb_page(request, code: str):
    code = code.upper()
    pub = oq.published()
    try:
        org = pub.organisation(code)
    except UptakeError:
        raise Http404 from None
    if org["level"] != "icb":
        raise Http404
    ranked = so.rank_for_icb(oq.views(_month(request)), code)
    editor = can_edit(request.user, code)
    current = store.chosen(code)
    error = None
    if request.method == "POST":
        if not editor:
            return render(request, "uptake/error.html", {"title": "Not allowed", "message":
                          f"Only {org['name'] or code}'s editors can record its choices. Sign in first."}, status=403)
        picked = request.POST.getlist("choose")
        rationales = {k: request.POST.get(f"why-{k}", "") for k in picked}
        try:
            store.choose(code, rationales, who=display_name(request.user), user=request.user)
        except store.Invalid as exc:
            error = str(exc)
            current = {k: type("Draft", (), {"rationale": v})() for k, v in rationales.items()}
        else:
            messages.success(request, f"{len(rationales)} opportunities recorded for {YEAR}.")
            return redirect("opportunities_icb", code)
    return render(request, "opportunities/icb.html",
                  {"org": org, "ranked": ranked, "can_edit": editor, "current": current, "error": error,
                   "year": YEAR, "minimum": MINIMUM})
