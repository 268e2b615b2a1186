"""The API, /api/v1/: JSON by default, CSV with ?format=csv (or Accept: text/csv). OpenAPI at
/api/v1/openapi.json, interactive docs at /api/v1/docs. A bad code or month is a 4xx with a
message saying what was expected, never a 500."""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

from ninja import NinjaAPI, Query, Schema, Swagger
from ninja.errors import ValidationError
from pydantic import Field

from ..catalogue import figures
from ..errors import UptakeError
from ..services.expected import summary as expected_summary
from ..services.expected import why_no_expected
from ..services.scorecard import Profile, Scorecard
from ..vocabulary import PUBLISHED_LEVELS
from . import queries as q
from .api_common import ERRORS, FORMAT, MONTH, MonthFormat, csv_response, wants_csv
from .store import NotPublished

# Swagger UI from django-ninja's own static copy (pinned with django-ninja by requirements.lock),
# served by the portal under its Content-Security-Policy: no CDN, no inline script, no call to
# swagger.io's validator (validatorUrl None). `ninja` is in INSTALLED_APPS for its template and files.
api = NinjaAPI(title="uptake API", version="1", urls_namespace="api", docs=Swagger(settings={"validatorUrl": None}),
               description="The innovation scorecard: uptake of NICE technology appraisals in every NHS "
                           "organisation in England, from the published scorecard. Every figure is defined at "
                           "/definitions/.")

Level = Literal[PUBLISHED_LEVELS]  # type: ignore[valid-type]


class Filters(Schema):
    level: Level = Field("icb", description="Organisation level")
    month: str | None = MONTH
    format: Literal["json", "csv"] = FORMAT


class LevelFormat(Schema):
    level: Level = Field("icb", description="Organisation level")
    format: Literal["json", "csv"] = FORMAT


class TASummary(Schema):
    id: str
    title: str
    clinical_area: str
    published: str
    funding_deadline: str
    recommendation: str
    url: str
    verified: bool
    eligible: str = Field(description="the eligible population and its source type, or — (docs/metrics.md §3.2)")
    expected: str = Field(description="the expected uptake as a range and its source type, or —")
    why_no_expected: str | None = Field(None, description="why the TA has no expected use, where it has none")


class Organisation(Schema):
    code: str
    name: str | None
    level: str
    parent_level: str | None = None
    parent: str | None = None


class OrganisationDetail(Organisation):
    children: list[Organisation] = []


class Hit(Schema):
    kind: str
    code: str
    name: str
    detail: str
    score: float


class Months(Schema):
    months: list[str]
    latest: str
    published_at: str
    membership: str


# --- errors: always a message, never a 500 for a bad request ----------------------------------


@api.exception_handler(q.NotFound)
def not_found(request, exc):
    return api.create_response(request, {"detail": str(exc)}, status=404)


@api.exception_handler(NotPublished)
def not_published(request, exc):
    return api.create_response(request, {"detail": str(exc)}, status=503)


@api.exception_handler(UptakeError)
def bad_request(request, exc):
    return api.create_response(request, {"detail": str(exc)}, status=400)


@api.exception_handler(ValidationError)
def invalid(request, exc: ValidationError):
    parts = []
    for e in exc.errors:
        where = ".".join(str(x) for x in e.get("loc", ()) if x not in ("query", "path"))
        parts.append(f"{where}: {e.get('msg')}")
    return api.create_response(request, {"detail": "; ".join(parts) or "invalid request"}, status=422)




# --- catalogue ----------------------------------------------------------------------------------


@api.get("/tas", response={200: list[TASummary], **ERRORS}, tags=["TAs"], summary="Every NICE TA in the catalogue")
def tas(request):
    pub = q.published()
    return [_ta_summary(t) for t in pub.catalogue.technology_appraisals]


def _ta_summary(t) -> dict:
    return {"id": t.id, "title": t.title, "clinical_area": t.clinical_area, "published": t.published.isoformat(),
            "funding_deadline": t.funding_deadline.isoformat(), "recommendation": t.recommendation, "url": t.url,
            "verified": t.verified, "eligible": figures.eligible_label(t), "expected": figures.expected_label(t),
            "why_no_expected": why_no_expected(t)}


@api.get("/tas/{ta_id}", response={200: dict, **ERRORS}, tags=["TAs"],
         summary="One TA: recommendation, products, eligible population, expected uptake, sources")
def ta(request, ta_id: str):
    item = q.subject(ta_id)
    if not hasattr(item, "products"):
        raise q.NotFound(f"{ta_id!r} is a measure, not a TA")
    return {**item.to_dict(), "expected_use": expected_summary(item)}


@api.get("/months", response={200: Months, **ERRORS}, tags=["Scorecard"], summary="Months published")
def months(request):
    pub = q.published()
    ms = [f"{m:%Y-%m}" for m in pub.months()]
    return {"months": ms, "latest": ms[-1], "published_at": pub.published_at, "membership": pub.membership}


# --- organisations ------------------------------------------------------------------------------


@api.get("/organisations", response={200: list[Organisation], **ERRORS}, tags=["Organisations"],
         summary="Organisations of a level, or found by name or code (typos tolerated)")
def organisations(request, q_: str | None = Query(None, alias="q", max_length=200), level: Level | None = None,
                  limit: int = Query(50, ge=1, le=10000)):
    if q_:
        hits = q.directory().search(q_, limit=limit, kinds=("organisation",))
        found = [q.organisation(h.code) for h in hits]
        return [o for o in found if level is None or o["level"] == level][:limit]
    orgs = q.published().organisations()
    return [o for o in orgs if level is None or o["level"] == level][:limit]


@api.get("/organisations/{code}", response={200: OrganisationDetail, **ERRORS}, tags=["Organisations"],
         summary="One organisation with its parent and children")
def organisation(request, code: str):
    org = dict(q.organisation(code))
    org["children"] = [{"code": c["org"], "name": c["name"], "level": c["level"], "parent_level": org["level"],
                        "parent": org["code"]} for c in q.children(org["code"], org["level"])]
    return org


@api.get("/organisations/{code}/profile", response={200: Profile, **ERRORS}, tags=["Organisations"],
         summary="One organisation against England and its peers for every TA")
def profile(request, code: str, f: Query[MonthFormat]):
    q.organisation(code)
    p = q.profile(code.upper(), f.month)
    if wants_csv(request, f.format):
        rows = [{k: v for k, v in asdict(r).items() if k != "trend"} for r in p.rows]
        return csv_response(rows, f"profile_{p.org}_{p.month}.csv")
    return p


# --- scorecard ----------------------------------------------------------------------------------


@api.get("/scorecard/{subject}", response={200: Scorecard, **ERRORS}, tags=["Scorecard"],
         summary="A TA or measure across every organisation of a level in a month")
def scorecard(request, subject: str, f: Query[Filters]):
    item = q.subject(subject)
    card = q.scorecard(item.id, f.level, f.month)
    if wants_csv(request, f.format):
        rows = [asdict(r) for r in ([card.england] if card.england else []) + card.rows]
        return csv_response(rows, f"scorecard_{card.subject}_{card.level}_{card.month}.csv")
    return card


class RankingFilters(Filters):
    parent: str | None = Field(None, max_length=20,
                               description="Only the organisations inside this one (an ODS code: an ICB's practices)")


@api.get("/ranking/{subject}", response={200: dict, **ERRORS}, tags=["Scorecard"],
         summary="A level's ranking, optionally only inside one organisation, with each one's gap in patients and "
                 "cost to the national benchmark (the 80th centile)")
def ranking(request, subject: str, f: Query[RankingFilters]):
    item = q.subject(subject)
    r = q.ranking(item.id, f.level, f.month, f.parent.strip().upper() if f.parent else None)
    if wants_csv(request, f.format):
        inside = f"_in_{r.parent['org']}" if r.parent else ""
        return csv_response([row.to_dict() for row in r.rows], f"ranking_{r.subject}_{r.level}{inside}_{r.month}.csv")
    return r.to_dict()


@api.get("/official/{ta_id}", response={200: dict, **ERRORS}, tags=["Scorecard"],
         summary="The Innovation Scorecard's own figure: daily doses per 100,000 population per financial quarter, "
                 "England and every organisation of a level")
def official(request, ta_id: str, f: Query[LevelFormat]):
    item = q.subject(ta_id)
    if not hasattr(item, "products"):
        raise q.NotFound(f"{ta_id!r} is a measure: the Innovation Scorecard's figure is for TAs")
    fig = q.official(item.id, f.level)
    if wants_csv(request, f.format):
        rows = [{**asdict(r), "level": lv, "unit": fig.unit} for lv, rs in (("england", fig.england), (fig.level, fig.rows))
                for r in rs]
        return csv_response(rows, f"official_{fig.ta}_{fig.level}.csv")
    return fig.to_dict()


@api.get("/variation/{subject}", response={200: dict, **ERRORS}, tags=["Scorecard"],
         summary="Funnel plot data and limits, the variation summary and the opportunity")
def variation(request, subject: str, f: Query[Filters]):
    item = q.subject(subject)
    v = q.variation(item.id, f.level, f.month)
    if wants_csv(request, f.format):
        return csv_response([asdict(p) for p in v.points], f"funnel_{item.id}_{f.level}_{v.scorecard.month}.csv")
    return v.to_dict()


@api.get("/diffusion/{ta_id}", response={200: dict, **ERRORS}, tags=["Scorecard"],
         summary="England's series since publication, fitted curves, months to 50%/80%, each organisation's lag")
def diffusion(request, ta_id: str, f: Query[LevelFormat]):
    item = q.subject(ta_id)
    if not hasattr(item, "products"):
        raise q.NotFound(f"{ta_id!r} is a measure: diffusion is for TAs")
    if f.level == "england":
        raise UptakeError("level: diffusion lags are per organisation; use region, icb, sub_icb, pcn or practice")
    d = q.diffusion(item.id, f.level)
    if wants_csv(request, f.format):
        return csv_response([{"month": m, "months_since_publication": t, "england": v} for m, t, v in
                             zip(d["months"], d["months_since_publication"], d["england"])],
                            f"diffusion_{item.id}.csv")
    return d


@api.get("/deciles/{subject}", response={200: list[dict], **ERRORS}, tags=["Scorecard"],
         summary="Deciles (10th to 90th centile) of the headline value across a level, every month")
def deciles(request, subject: str, f: Query[LevelFormat]):
    item = q.subject(subject)
    if f.level == "england":
        raise UptakeError("level: deciles are across organisations; use region, icb, sub_icb, pcn or practice")
    rows = q.decile_series(item.id, f.level)
    if wants_csv(request, f.format):
        return csv_response(rows, f"deciles_{item.id}_{f.level}.csv")
    return rows


@api.get("/search", response={200: list[Hit], **ERRORS}, tags=["Organisations"],
         summary="Organisations and TAs by name, code, number or drug (typos tolerated)")
def search(request, q_: str = Query(..., alias="q", min_length=1, max_length=200), limit: int = Query(20, ge=1, le=100)):
    return [h.to_dict() for h in q.directory().search(q_, limit=limit)]




from .compliance.api import router as compliance_router  # noqa: E402 (the router uses the helpers above)

api.add_router("/compliance", compliance_router)

from .opportunities.api import router as opportunities_router  # noqa: E402

api.add_router("/opportunities", opportunities_router)

from .alerts.api import router as alerts_router  # noqa: E402

api.add_router("/alerts", alerts_router)

from .public.api import router as trials_router  # noqa: E402

api.add_router("/trials", trials_router)

from .impact.api import router as impact_router  # noqa: E402

api.add_router("", impact_router)
