"""The register of NHS–industry joint working projects (/learning/joint-working/), moderated like
case studies, each page with the measured effect on uptake; and a case study's implementation
date, set by its author or a moderator."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from ..accounts.roles import is_member, is_moderator
from ..knowledge.models import CaseStudy
from ..knowledge.access import may_change, member_required, moderator_required
from . import store
from .forms import ImplementationForm, ModerationForm, ProjectForm
from .measure import measure
from .models import CHECKLIST, JointWorkingProject


def _visible(request, slug: str) -> JointWorkingProject:
    p = get_object_or_404(JointWorkingProject, slug=slug)
    if p.status != JointWorkingProject.PUBLISHED and not may_change(request.user, p):
        raise Http404
    return p


def project_list(request):
    rows = JointWorkingProject.objects.filter(status=JointWorkingProject.PUBLISHED)
    mine = (JointWorkingProject.objects.filter(author=request.user).exclude(status=JointWorkingProject.PUBLISHED)
            if is_member(request.user) else [])
    return render(request, "impact/project_list.html", {"rows": rows, "mine": mine})


def project(request, slug: str):
    p = _visible(request, slug)
    ctx = {"p": p, "checklist": [(label, p.checklist.get(key)) for key, label in CHECKLIST],
           "can_edit": may_change(request.user, p), "measured": measure(store.project_interventions(p))}
    if is_moderator(request.user) and p.status == JointWorkingProject.SUBMITTED:
        ctx["moderation_form"] = ModerationForm(initial={f"check_{k}": v for k, v in p.checklist.items()})
    return render(request, "impact/project.html", ctx)


@member_required
def project_edit(request, slug: str | None = None):
    p = _visible(request, slug) if slug else None
    if p is not None and not may_change(request.user, p):
        raise Http404
    form = ProjectForm(request.POST or None, instance=p)
    if request.method == "POST" and form.is_valid():
        try:
            saved = store.save_project(request.user, form.cleaned_data, project=p, submit="submit" in request.POST)
        except store.Invalid as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Submitted for moderation." if saved.status == saved.SUBMITTED else "Saved as a draft.")
            return redirect("impact:project", saved.slug)
    return render(request, "impact/project_form.html", {"form": form, "p": p})


@require_POST
@moderator_required
def project_moderate(request, slug: str):
    p = get_object_or_404(JointWorkingProject, slug=slug)
    form = ModerationForm(request.POST)
    if form.is_valid():
        try:
            store.moderate_project(p, request.user, action=form.cleaned_data["action"], checklist=form.checklist(),
                                   note=form.cleaned_data["note"])
            messages.success(request, "Published." if p.status == p.PUBLISHED else "Returned to the author.")
        except store.Invalid as exc:
            messages.error(request, str(exc))
    return redirect("impact:project", p.slug)


@require_POST
@member_required
def case_study_implemented(request, slug: str):
    cs = get_object_or_404(CaseStudy, slug=slug)
    if not may_change(request.user, cs):
        raise Http404
    form = ImplementationForm(request.POST)
    if form.is_valid():
        store.set_implementation(cs, form.cleaned_data["implemented_on"])
        messages.success(request, "Implementation date saved.")
    else:
        messages.error(request, "Give the date as YYYY-MM-DD.")
    return redirect("knowledge:case_study", cs.slug)
