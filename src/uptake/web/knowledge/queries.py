"""What the pages read: content related to a TA or an organisation, the moderation queue, and
the TA × barrier-type heatmap."""

from __future__ import annotations

from django.db.models import Count, Q

from .models import BARRIER_TYPES, Barrier, CaseStudy, Guide, Link, Report, Thread

# The NICE Implementation Collaborative's first areas (reference/methods.md §3.4).
HEATMAP_AREAS = ["osteoporosis", "stroke", "diabetes", "heart_disease"]


def _linked(field: str, ta: str | None, organisation: str | None):
    """Ids of the items (field "case_study" or "barrier") linked to a TA, else to an organisation."""
    links = Link.objects.filter(kind="ta", code=ta.upper()) if ta else Link.objects.filter(
        kind="org", code=(organisation or "").upper())
    return links.exclude(**{field: None}).values_list(f"{field}_id", flat=True)


def case_studies_for(*, ta: str | None = None, organisation: str | None = None, limit: int = 20):
    ids = _linked("case_study", ta, organisation)
    return list(CaseStudy.objects.filter(pk__in=ids, status=CaseStudy.PUBLISHED).prefetch_related("links")[:limit])


def barriers_for(*, ta: str | None = None, organisation: str | None = None, limit: int = 20):
    ids = _linked("barrier", ta, organisation)
    return list(Barrier.objects.filter(pk__in=ids, hidden=False).annotate(n_support=Count("supports"))
                .prefetch_related("links")[:limit])


def guides_for(*, ta: str | None = None, area: str | None = None):
    q = Q()
    if ta:
        q |= Q(ta=ta.upper())
    if area:
        q |= Q(area=area)
    return list(Guide.objects.filter(q)) if q else []


def threads_on(kind: str, key: str):
    return list(Thread.objects.filter(subject_kind=kind, subject_key=key).annotate(n_posts=Count("posts")))


def moderation_queue() -> dict:
    from .store import due_for_review

    return {
        "submitted": list(CaseStudy.objects.filter(status=CaseStudy.SUBMITTED).order_by("updated_at")),
        "reports": list(Report.objects.filter(resolved=False).select_related("post", "post__thread", "reporter")),
        "review": list(due_for_review()),
    }


def heatmap(catalogue, areas: list[str] | None = None) -> dict:
    """Open or being-addressed barriers counted by TA (rows, grouped by area) × type (columns).
    Every catalogue TA of the areas has a row, zero or not, so a gap is visible too."""
    areas = areas or HEATMAP_AREAS
    tas = [t for t in catalogue.technology_appraisals if t.clinical_area in areas]
    counts: dict[tuple[str, str], int] = {}
    rows = (Link.objects.filter(kind="ta", code__in=[t.id for t in tas], barrier__hidden=False,
                                barrier__status__in=["open", "being_addressed"])
            .values_list("code", "barrier__type").annotate(n=Count("barrier", distinct=True)))
    for code, kind, n in rows:
        counts[(code, kind)] = n
    out_rows = []
    for area in areas:
        for t in [t for t in tas if t.clinical_area == area]:
            cells = [counts.get((t.id, k), 0) for k, _ in BARRIER_TYPES]
            out_rows.append({"ta": t, "area": area, "cells": cells, "total": sum(cells)})
    totals = [sum(r["cells"][i] for r in out_rows) for i in range(len(BARRIER_TYPES))]
    top = max((c for r in out_rows for c in r["cells"]), default=0)
    return {"types": BARRIER_TYPES, "rows": out_rows, "totals": totals, "max": top or 1}
