"""Compliance pages: the national table, an ICB's overdue and due-soon lists, a formulary ×
TA decision history with the editors' form, and the section of a TA page."""

from __future__ import annotations


from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render

from ...services import compliance as rules
from ..accounts.roles import can_edit, display_name
from ..pages import guard as _guard
from . import queries as cq
from . import store
from .sections import TAGS
from .forms import DecisionForm
from .models import Decision

def _common(request) -> dict:
    day = cq.as_of(request.GET.get("as_of"))
    return {"as_of": day, "status_labels": rules.STATUS_LABELS, "decision_labels": rules.DECISION_LABELS, "tags": TAGS}


@_guard
def national(request):
    ctx = _common(request)
    c = cq.current(ctx["as_of"])
    by_ta = []
    for req in rules.requirements(cq.published().catalogue, ctx["as_of"]):
        s = c.ta_summary(req.ta)
        if s["icbs"]:
            by_ta.append({"req": req, **s})
    by_ta.sort(key=lambda s: (-s["not_included"], s["req"].ta))
    ctx.update(summaries=c.summaries(), national=c.national(), by_ta=by_ta[:15], statuses=rules.STATUSES)
    return render(request, "compliance/national.html", ctx)


@_guard
def icb_page(request, code: str):
    code = code.upper()
    ctx = _common(request)
    c = cq.current(ctx["as_of"])
    rows = c.for_icb(code)
    known = {i.code: i for i in c.icbs}
    if code not in known:
        raise Http404
    summary = next(s for s in c.summaries() if s.icb == code)
    ctx.update(icb=known[code], rows=rows, summary=summary,
               overdue=[s for s in rows if s.status in ("overdue", "rejected")],
               due_soon=[s for s in rows if s.status == "due_soon"],
               formulary=store.formulary_of(code), can_edit=can_edit(request.user, code),
               statuses=rules.STATUSES)
    return render(request, "compliance/icb.html", ctx)


@_guard
def decision_page(request, code: str, ta: str):
    """One ICB's formulary decisions on one TA: the dated sequence, the change log, and (for the
    ICB's editors) a form to record a decision or change one."""
    code, ta = code.upper(), ta.upper()
    pub = cq.published()
    try:
        t = pub.catalogue.ta(ta)
    except LookupError:
        raise Http404 from None
    icb = next((i for i in cq.icbs() if i.code == code), None)
    if icb is None:
        raise Http404
    formulary = store.formulary_of(code)
    editor = can_edit(request.user, code)
    edit = None
    if request.GET.get("edit", "").isdigit() and formulary is not None:
        edit = Decision.objects.filter(pk=int(request.GET["edit"]), formulary=formulary, ta=ta).first()
    form = DecisionForm(instance=edit)
    if request.method == "POST":
        if not editor:
            return render(request, "uptake/error.html", {"title": "Not allowed", "message":
                          f"Only {icb.name or code}'s formulary editors can record its decisions. Sign in first."},
                          status=403)
        if request.POST.get("delete") and edit is not None:
            store.delete(edit, who=display_name(request.user), user=request.user, via="web")
            messages.success(request, "Decision deleted; the change is in the history below.")
            return redirect("compliance_decision", code, ta)
        form = DecisionForm(request.POST, instance=edit)
        if form.is_valid():
            target = formulary or store.ensure_formulary(code, f"{icb.name or code} formulary")
            try:
                store.record(formulary=target, ta=ta, who=display_name(request.user), user=request.user, via="web",
                             instance=edit, version=form.cleaned_data.get("version"),
                             **{k: form.cleaned_data[k] for k in ("decision", "decision_date", "restrictions",
                                                                  "reason", "evidence")})
            except store.Conflict as exc:
                form.add_error(None, str(exc))
            except store.Invalid as exc:
                for field, message in exc.problems.items():
                    form.add_error(field if field in form.fields else None, message)
            else:
                messages.success(request, f"Decision on {ta} recorded.")
                return redirect("compliance_decision", code, ta)
    day = cq.as_of(request.GET.get("as_of"))
    decisions = list(Decision.objects.filter(formulary=formulary, ta=ta).order_by("decision_date")) \
        if formulary else []
    req = next((r for r in rules.requirements(pub.catalogue, day) if r.ta == ta), None)
    status = rules.status_of(req, store.decisions(formulary.code, [ta]) if formulary else [], day, icb=code,
                             icb_name=icb.name, formulary=formulary.code if formulary else None) if req else None
    ctx = {"icb": icb, "ta": t, "formulary": formulary, "decisions": decisions, "edit": edit, "form": form,
           "can_edit": editor, "status": status, "as_of": day, "tags": TAGS,
           "changes": store.history(formulary.code, ta)[:100] if formulary else []}
    return render(request, "compliance/decision.html", ctx)  # form errors re-render the page, as 200
