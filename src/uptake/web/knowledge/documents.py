"""Each kind of item as a search document: its words and its facets (the TAs it relates to and
their clinical areas, the regions of its organisations, sector, industry sponsorship, year).
Only what the public can see is indexed: published case studies, guides, wiki pages, visible
barriers and threads."""

from __future__ import annotations

from django.urls import reverse

from ...errors import UptakeError
from ..store import NotPublished, published
from . import search
from .models import Barrier, CaseStudy, Guide, Thread, WikiPage
from .text import plain


def areas_of(tas: list[str]) -> list[str]:
    try:
        cat = published().catalogue
    except NotPublished:  # no publication yet: index without areas
        return []
    out = []
    for ta in tas:
        try:
            out.append(cat.ta(ta).clinical_area)
        except LookupError:
            continue
    return out


def regions_of(codes: list[str]) -> list[str]:
    """The NHS region (ODS code) above each organisation, through the published hierarchy."""
    try:
        pub = published()
    except NotPublished:
        return []
    out = []
    for code in codes:
        try:
            org = pub.organisation(code)
        except (UptakeError, KeyError):  # a code the publication does not know
            continue
        for _ in range(6):
            if org["level"] == "region":
                out.append(org["code"])
                break
            if not org.get("parent"):
                break
            org = pub.organisation(org["parent"])
    return out


def index_case_study(cs: CaseStudy) -> None:
    if cs.status != CaseStudy.PUBLISHED:
        search.unindex("case_study", cs.slug)
        return
    tas, orgs = cs.tas, cs.organisations
    body = " ".join([cs.summary, cs.organisations_text, *(plain(getattr(cs, f)) for f in
                     ("aims", "reasons", "how", "findings", "learning", "results"))])
    search.index("case_study", cs.slug, title=cs.title, body=body,
                 url=reverse("knowledge:case_study", args=[cs.slug]), day=cs.published_on, example=cs.example,
                 facets={"ta": tas, "area": areas_of(tas), "region": regions_of(orgs), "sector": [cs.sector],
                         "industry": ["yes" if cs.industry_sponsored else "no"]})


def index_guide(g: Guide) -> None:
    tas = [g.ta] if g.ta else []
    body = " ".join([plain(g.summary), *(f"{s.title} {s.owner} {plain(s.body)}" for s in g.steps.all())])
    search.index("guide", g.slug, title=g.title, body=body, url=reverse("knowledge:guide", args=[g.slug]),
                 day=g.updated_at.date(), example=g.example,
                 facets={"ta": tas, "area": [g.area] if g.area else areas_of(tas)})


def index_wiki(page: WikiPage) -> None:
    rev = page.current
    if rev is None:
        return
    search.index("wiki", page.slug, title=rev.title, body=plain(rev.body),
                 url=reverse("knowledge:wiki_page", args=[page.slug]), day=rev.created_at.date(),
                 example=page.example, facets={})


def index_barrier(b: Barrier) -> None:
    if b.hidden:
        search.unindex("barrier", b.pk)
        return
    tas = b.tas
    search.index("barrier", b.pk, title=b.title, body=f"{plain(b.description)} {plain(b.evidence)}",
                 url=reverse("knowledge:barrier", args=[b.pk]), day=b.created_at.date(), example=b.example,
                 facets={"ta": tas, "area": areas_of(tas), "region": regions_of(b.organisations)})


def index_thread(t: Thread) -> None:
    posts = [p for p in t.posts.all() if not p.hidden]
    if not posts:
        search.unindex("thread", t.pk)
        return
    tas = [t.subject_key] if t.subject_kind == "ta" else []
    search.index("thread", t.pk, title=t.title, body=" ".join(plain(p.body) for p in posts),
                 url=reverse("knowledge:thread", args=[t.pk]), day=posts[-1].created_at.date(), example=t.example,
                 facets={"ta": tas, "area": areas_of(tas)})


def reindex_all() -> int:
    """Rebuild every document (after a restore, or a change to what is indexed)."""
    from .models import SearchDocument

    SearchDocument.objects.all().delete()
    n = 0
    for cs in CaseStudy.objects.filter(status=CaseStudy.PUBLISHED).prefetch_related("links"):
        index_case_study(cs)
        n += 1
    for g in Guide.objects.prefetch_related("steps"):
        index_guide(g)
        n += 1
    for p in WikiPage.objects.all():
        index_wiki(p)
        n += 1
    for b in Barrier.objects.filter(hidden=False).prefetch_related("links"):
        index_barrier(b)
        n += 1
    for t in Thread.objects.prefetch_related("posts"):
        index_thread(t)
        n += 1
    return n
