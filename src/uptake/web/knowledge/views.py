"""The knowledge portal's pages: case studies with moderation, guides, the wiki, discussions and
the barriers register. Reading is open to everyone; writing needs a member (a signed-in user with a
confirmed address); publishing and hiding need a moderator (accounts.roles)."""

from __future__ import annotations


from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from ..accounts.roles import is_member, is_moderator
from ..store import published
from ..pages import guard as _guard
from . import queries as kq
from . import store, uploads
from .access import may_change, member_required, moderator_required
from .forms import (
    BarrierForm, CaseStudyForm, ModerationForm, ReasonForm, ReplyForm, SupportForm, ThreadForm, WikiForm, codes,
)
from .models import (
    BARRIER_STATUSES, BARRIER_TYPES, CHECKLIST, Attachment, Barrier, CaseStudy, Guide, Post, Thread, WikiPage,
)

BARRIER_TYPE_LABELS = dict(BARRIER_TYPES)
BARRIER_STATUS_LABELS = dict(BARRIER_STATUSES)


# --- the hub -----------------------------------------------------------------------------------------


@_guard
def hub(request):
    return render(request, "knowledge/hub.html", {
        "case_studies": CaseStudy.objects.filter(status=CaseStudy.PUBLISHED).prefetch_related("links")[:6],
        "guides": Guide.objects.all()[:6],
        "barriers": Barrier.objects.filter(hidden=False).annotate(n_support=Count("supports"))
        .prefetch_related("links")[:6],
        "wiki": WikiPage.objects.order_by("-updated_at")[:6],
        "threads": Thread.objects.annotate(n_posts=Count("posts"))[:6],
        "type_labels": BARRIER_TYPE_LABELS,
    })


# --- case studies -------------------------------------------------------------------------------------


def _visible_case_study(request, slug) -> CaseStudy:
    cs = get_object_or_404(CaseStudy.objects.prefetch_related("links", "attachments"), slug=slug)
    if cs.status != CaseStudy.PUBLISHED and not may_change(request.user, cs):
        raise Http404
    return cs


def case_study_list(request):
    rows = CaseStudy.objects.filter(status=CaseStudy.PUBLISHED).prefetch_related("links")
    mine = (CaseStudy.objects.filter(author=request.user).exclude(status=CaseStudy.PUBLISHED)
            if is_member(request.user) else [])
    return render(request, "knowledge/case_study_list.html", {"rows": rows, "mine": mine})


def case_study(request, slug: str):
    cs = _visible_case_study(request, slug)
    moderator = is_moderator(request.user)
    ctx = {"cs": cs, "checklist": CHECKLIST, "threads": kq.threads_on("case_study", cs.slug),
           "can_edit": moderator or (is_member(request.user) and cs.author_id == request.user.id),
           "is_moderator": moderator, "today": store.today(),
           "addressed": cs.addressed_barriers.filter(hidden=False)}
    if ctx["is_moderator"] and cs.status == CaseStudy.SUBMITTED:
        ctx["moderation_form"] = ModerationForm(initial={f"check_{k}": v for k, v in cs.checklist.items()})
    return render(request, "knowledge/case_study.html", ctx)


def _case_study_fields(form) -> dict:
    return {k: v for k, v in form.cleaned_data.items() if k not in ("tas", "organisations", "attachment")}


@member_required
def case_study_edit(request, slug: str | None = None):
    cs = _visible_case_study(request, slug) if slug else None
    if cs is not None and not may_change(request.user, cs):
        raise Http404
    if request.method == "POST":
        form = CaseStudyForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                with transaction.atomic():  # a refused attachment leaves nothing saved
                    saved = store.save_case_study(
                        request.user, _case_study_fields(form), tas=codes(form.cleaned_data["tas"]),
                        organisations=codes(form.cleaned_data["organisations"]), case_study=cs,
                        submit="submit" in request.POST)
                    if form.cleaned_data.get("attachment"):
                        uploads.save(saved, form.cleaned_data["attachment"], request.user)
            except store.Invalid as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "Sent to the moderators: you will see it here until they publish it."
                                 if saved.status == CaseStudy.SUBMITTED else "Saved as a draft.")
                return redirect("knowledge:case_study", saved.slug)
    else:
        form = CaseStudyForm(initial=CaseStudyForm.initial_from(cs) if cs else None)
    return render(request, "knowledge/case_study_form.html", {"form": form, "cs": cs})


@moderator_required
@require_POST
def case_study_moderate(request, slug: str):
    cs = get_object_or_404(CaseStudy, slug=slug)
    form = ModerationForm(request.POST)
    if form.is_valid():
        try:
            store.moderate_case_study(cs, request.user, action=form.cleaned_data["action"],
                                      checklist=form.checklist(), note=form.cleaned_data["note"])
            messages.success(request, "Published." if cs.status == CaseStudy.PUBLISHED else "Returned to the author.")
        except store.Invalid as exc:
            messages.error(request, str(exc))
    return redirect("knowledge:case_study", cs.slug)


def attachment(request, pk: int):
    att = get_object_or_404(Attachment.objects.select_related("case_study"), pk=pk)
    _visible_case_study(request, att.case_study.slug)
    return uploads.response(att)


@moderator_required
def moderation(request):
    return render(request, "knowledge/moderation.html", kq.moderation_queue())


# --- guides -------------------------------------------------------------------------------------------


def guide_list(request):
    return render(request, "knowledge/guide_list.html", {"rows": Guide.objects.all()})


def guide(request, slug: str):
    g = get_object_or_404(Guide.objects.prefetch_related("steps", "case_studies", "barriers"), slug=slug)
    return render(request, "knowledge/guide.html", {"guide": g, "type_labels": BARRIER_TYPE_LABELS})


# --- wiki -----------------------------------------------------------------------------------------------


def wiki_index(request):
    return render(request, "knowledge/wiki_index.html", {"pages": WikiPage.objects.all()})


def wiki_page(request, slug: str):
    page = get_object_or_404(WikiPage, slug=slug)
    rev = page.revisions.filter(number=int(request.GET["revision"])).first() \
        if request.GET.get("revision", "").isdigit() else page.current
    if rev is None:
        raise Http404
    return render(request, "knowledge/wiki_page.html", {"page": page, "rev": rev,
                                                        "threads": kq.threads_on("wiki", page.slug)})


@member_required
def wiki_edit(request, slug: str | None = None):
    page = get_object_or_404(WikiPage, slug=slug) if slug else None
    conflict = None
    if request.method == "POST":
        form = WikiForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                saved = store.save_wiki(request.user, title=d["title"], body=d["body"], summary=d["summary"],
                                        page=page, base_version=d["base_version"])
                messages.success(request, f"Saved as revision {saved.version}.")
                return redirect("knowledge:wiki_page", saved.slug)
            except store.Conflict as exc:
                conflict = exc
                # the form now carries the latest version, so saving again is a deliberate choice
                form = WikiForm(initial={"title": d["title"], "body": d["body"], "summary": d["summary"],
                                         "base_version": exc.page.version})
            except store.Invalid as exc:
                form.add_error(None, str(exc))
    else:
        rev = page.current if page else None
        form = WikiForm(initial={"title": rev.title, "body": rev.body, "base_version": page.version} if rev
                        else {"base_version": 0})
    return render(request, "knowledge/wiki_edit.html", {"form": form, "page": page, "conflict": conflict},
                  status=409 if conflict else 200)


def wiki_history(request, slug: str):
    page = get_object_or_404(WikiPage, slug=slug)
    return render(request, "knowledge/wiki_history.html", {"page": page, "revisions": page.revisions.all()})


def wiki_diff(request, slug: str):
    page = get_object_or_404(WikiPage, slug=slug)
    try:
        a, b = int(request.GET.get("a", "")), int(request.GET.get("b", ""))
    except ValueError:
        raise Http404 from None
    ra = get_object_or_404(page.revisions, number=a)
    rb = get_object_or_404(page.revisions, number=b)
    return render(request, "knowledge/wiki_diff.html", {"page": page, "a": ra, "b": rb, "lines": store.diff(ra, rb)})


@member_required
@require_POST
def wiki_revert(request, slug: str, number: int):
    page = get_object_or_404(WikiPage, slug=slug)
    try:
        store.revert_wiki(request.user, page, number, base_version=int(request.POST.get("base_version", -1)))
        messages.success(request, f"Reverted to revision {number}.")
    except store.Conflict:
        messages.error(request, "The page changed while you were looking at its history; nothing was reverted.")
    except store.Invalid as exc:
        messages.error(request, str(exc))
    return redirect("knowledge:wiki_page", page.slug)


# --- discussion -------------------------------------------------------------------------------------------


def _subject_title(kind: str, key: str) -> str:
    if kind == "ta":
        try:
            t = published().catalogue.ta(key)
            return f"{t.id}: {t.title}"
        except LookupError:
            return key
    if kind == "case_study":
        return getattr(CaseStudy.objects.filter(slug=key).first(), "title", key)
    if kind == "barrier":
        return getattr(Barrier.objects.filter(pk=int(key)).first() if key.isdigit() else None, "title", key)
    if kind == "wiki":
        return getattr(WikiPage.objects.filter(slug=key).first(), "title", key)
    return key


@_guard
def discussion(request, kind: str, key: str):
    if kind not in dict(Thread.SUBJECTS) or not store.subject_exists(kind, key):
        raise Http404
    form = ThreadForm()
    if request.method == "POST":
        if not is_member(request.user):
            return redirect_to_login(request.get_full_path())
        form = ThreadForm(request.POST)
        if form.is_valid():
            try:
                t = store.start_thread(request.user, kind=kind, key=key, **form.cleaned_data)
                return redirect("knowledge:thread", t.pk)
            except store.Invalid as exc:
                form.add_error(None, str(exc))
    return render(request, "knowledge/discussion.html", {
        "kind": kind, "key": key, "subject": _subject_title(kind, key), "threads": kq.threads_on(kind, key),
        "form": form, "kind_label": dict(Thread.SUBJECTS)[kind]})


def thread(request, pk: int):
    t = get_object_or_404(Thread, pk=pk)
    form = ReplyForm()
    if request.method == "POST":
        if not is_member(request.user):
            return redirect_to_login(request.get_full_path())
        form = ReplyForm(request.POST)
        if form.is_valid():
            try:
                store.reply(request.user, t, form.cleaned_data["body"])
                return redirect("knowledge:thread", t.pk)
            except store.Invalid as exc:
                form.add_error(None, str(exc))
    return render(request, "knowledge/thread.html", {
        "thread": t, "posts": t.posts.select_related("author"), "form": form,
        "is_moderator": is_moderator(request.user), "subject": _subject_title(t.subject_kind, t.subject_key)})


@member_required
@require_POST
def post_report(request, pk: int):
    post = get_object_or_404(Post, pk=pk, hidden=False)
    form = ReasonForm(request.POST)
    try:
        store.report(request.user, post, form.data.get("reason", ""))
        messages.success(request, "Thank you: the moderators will look at this post.")
    except store.Invalid as exc:
        messages.error(request, str(exc))
    return redirect("knowledge:thread", post.thread_id)


def _set_hidden(request, setter, item, hide: bool) -> None:
    """Hide or restore an item through its store function, telling the moderator how it went."""
    try:
        setter(request.user, item, hidden=hide, reason=request.POST.get("reason", ""))
        messages.success(request, "Hidden." if hide else "Restored.")
    except store.Invalid as exc:
        messages.error(request, str(exc))


@moderator_required
@require_POST
def post_hide(request, pk: int, hide: bool):
    post = get_object_or_404(Post, pk=pk)
    _set_hidden(request, store.set_post_hidden, post, hide)
    return redirect("knowledge:thread", post.thread_id)


# --- barriers -----------------------------------------------------------------------------------------------


def barrier_list(request):
    rows = Barrier.objects.filter(hidden=False).annotate(n_support=Count("supports")).prefetch_related("links")
    kind, status, ta = request.GET.get("type"), request.GET.get("status"), request.GET.get("ta", "").upper()
    if kind in BARRIER_TYPE_LABELS:
        rows = rows.filter(type=kind)
    if status in BARRIER_STATUS_LABELS:
        rows = rows.filter(status=status)
    if ta:
        rows = rows.filter(links__kind="ta", links__code=ta)
    return render(request, "knowledge/barrier_list.html", {
        "rows": rows, "types": BARRIER_TYPES, "statuses": BARRIER_STATUSES, "type_labels": BARRIER_TYPE_LABELS,
        "status_labels": BARRIER_STATUS_LABELS, "chosen": {"type": kind, "status": status, "ta": ta}})


def barrier(request, pk: int):
    b = get_object_or_404(Barrier.objects.prefetch_related("links", "supports"), pk=pk)
    moderator = is_moderator(request.user)
    if b.hidden and not moderator:
        raise Http404
    supported = is_member(request.user) and b.supports.filter(user=request.user).exists()
    return render(request, "knowledge/barrier.html", {
        "b": b, "type_labels": BARRIER_TYPE_LABELS, "status_labels": BARRIER_STATUS_LABELS, "supported": supported,
        "can_edit": moderator or (is_member(request.user) and b.author_id == request.user.id),
        "is_moderator": moderator, "threads": kq.threads_on("barrier", str(b.pk)),
        "support_form": SupportForm()})


@member_required
def barrier_edit(request, pk: int | None = None):
    b = get_object_or_404(Barrier, pk=pk) if pk else None
    if b is not None and not may_change(request.user, b):
        raise Http404
    if request.method == "POST":
        form = BarrierForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                saved = store.save_barrier(request.user, {k: v for k, v in d.items() if k not in ("tas", "organisations")},
                                           tas=codes(d["tas"]), organisations=codes(d["organisations"]), barrier=b)
                return redirect("knowledge:barrier", saved.pk)
            except store.Invalid as exc:
                form.add_error(None, str(exc))
    else:
        initial = None
        if b:
            initial = {k: getattr(b, k) for k in ("title", "type", "description", "evidence", "status",
                                                  "addressed_by_case_study", "addressed_by_guide")}
            initial.update(tas=", ".join(b.tas), organisations=", ".join(b.organisations))
        elif request.GET.get("ta"):
            initial = {"tas": request.GET["ta"].upper()}
        form = BarrierForm(initial=initial)
    return render(request, "knowledge/barrier_form.html", {"form": form, "b": b})


@member_required
@require_POST
def barrier_support(request, pk: int):
    b = get_object_or_404(Barrier, pk=pk, hidden=False)
    new = store.support_barrier(request.user, b, request.POST.get("organisation", ""))
    messages.success(request, "Recorded: you face this too." if new else "You had already said you face this.")
    return redirect("knowledge:barrier", b.pk)


@moderator_required
@require_POST
def barrier_hide(request, pk: int, hide: bool):
    b = get_object_or_404(Barrier, pk=pk)
    _set_hidden(request, store.set_barrier_hidden, b, hide)
    return redirect("knowledge:barrier", b.pk)


@_guard
def heatmap(request):
    cat = published().catalogue
    areas = [a.id for a in cat.areas]
    chosen = [a for a in request.GET.getlist("area") if a in areas] or kq.HEATMAP_AREAS
    data = kq.heatmap(cat, chosen)
    return render(request, "knowledge/heatmap.html", {"map": data, "areas": cat.areas, "chosen": chosen,
                                                      "area_names": {a.id: a.name for a in cat.areas}})
