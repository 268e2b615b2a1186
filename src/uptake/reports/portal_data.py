"""What a report reads from the portal's own database: formulary decisions, chosen medicines
optimisation opportunities, barriers and case studies. Django must be set up (the CLI does it;
the portal already is). Everything else comes from the publication."""

from __future__ import annotations

from datetime import date

from ..services import compliance as rules


def compliance(pub, as_of: date) -> rules.Compliance:
    """Every ICB × TA formulary status as of a day (the compliance pages' own computation)."""
    from ..web.compliance import store

    return rules.compliance(pub.catalogue, rules.icbs_of(pub, store.icb_formularies()), store.decisions(), as_of)


def opportunity_choices() -> tuple[str, dict[str, set[str]]]:
    """The year the choices are for, and opportunity id → the ICBs that chose it."""
    from ..web.opportunities.models import YEAR
    from ..web.opportunities.store import choosers

    return YEAR, choosers()


def _links(model, codes: set[str], tas: set[str]):
    from django.db.models import Q

    from ..web.knowledge.models import Link

    field = "case_study" if model.__name__ == "CaseStudy" else "barrier"
    q = Q(kind="org", code__in=sorted(codes)) | Q(kind="ta", code__in=sorted(tas))
    return Link.objects.filter(q).exclude(**{field: None}).values_list(f"{field}_id", flat=True)


def barriers(codes: set[str] | None = None, tas: set[str] | None = None, limit: int = 25) -> list[dict]:
    """Open barriers (not addressed, not hidden) linked to any of `codes` or `tas` (every open
    barrier when both are None), most supported first."""
    from django.db.models import Count

    from ..web.knowledge.models import BARRIER_TYPES, Barrier

    items = Barrier.objects.filter(hidden=False).exclude(status="addressed")
    if codes is not None or tas is not None:
        items = items.filter(pk__in=_links(Barrier, codes or set(), tas or set()))
    items = items.annotate(n_support=Count("supports")).prefetch_related("links").order_by("-n_support", "-created_at")
    types = dict(BARRIER_TYPES)
    return [{"id": b.pk, "title": b.title, "type": types.get(b.type, b.type), "status": b.get_status_display(),
             "tas": sorted(link.code for link in b.links.all() if link.kind == "ta"),
             "organisations": sorted(link.code for link in b.links.all() if link.kind == "org"),
             "support": b.n_support, "example": b.example, "created": b.created_at.date()} for b in items[:limit]]


def barrier_counts() -> dict[str, int]:
    """Open barriers by type (every type, zero included)."""
    from django.db.models import Count

    from ..web.knowledge.models import BARRIER_TYPES, Barrier

    got = dict(Barrier.objects.filter(hidden=False).exclude(status="addressed").values_list("type")
               .annotate(n=Count("pk")).values_list("type", "n"))
    return {label: got.get(key, 0) for key, label in BARRIER_TYPES}


def case_studies(codes: set[str] | None = None, tas: set[str] | None = None, limit: int = 12) -> list[dict]:
    """Published case studies linked to any of `codes` or `tas` (every one when both are None),
    newest first."""
    from ..web.knowledge.models import CaseStudy

    items = CaseStudy.objects.filter(status=CaseStudy.PUBLISHED)
    if codes is not None or tas is not None:
        items = items.filter(pk__in=_links(CaseStudy, codes or set(), tas or set()))
    items = items.prefetch_related("links").order_by("-published_on", "-pk")
    return [{"slug": c.slug, "title": c.title, "summary": c.summary, "organisations": c.organisations_text,
             "tas": sorted(link.code for link in c.links.all() if link.kind == "ta"), "published": c.published_on,
             "example": c.example, "industry_sponsored": c.industry_sponsored} for c in items[:limit]]
