"""The portal's pages. Each reads the publication through `queries` (memoised) and hands the
templates plain values and Vega-Lite specs (`uptake.charts`); no SQL here."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from .. import charts, formats
from ..catalogue.measures import Measure
from ..engine.hierarchy import ENGLAND
from ..errors import UptakeError
from ..services import expected as expected_words
from ..services.analysis import ALL_LEVELS
from ..services.scorecard import HEADLINE_LABEL
from ..services.search import LEVEL_NAMES
from . import queries as q
from .pages import being_prepared
from .pages import guard as _guard
from .pages import map_levels as _map_levels
from .pages import my_org, remember
from .store import NotPublished, published

LEVEL_CHOICES = [lv for lv in ALL_LEVELS if lv != ENGLAND]
PAGE_SIZE = 50
SORT_DESC = ("value", "percentile", "denominator", "gap_patients")
SORTS = {"name": lambda d: (d["name"] or d["org"]).lower(),
         **{k: (lambda k: lambda d: (d[k] is not None, d[k] or 0.0))(k) for k in SORT_DESC}}
DOCS = Path(__file__).resolve().parents[3] / "docs"


def site_context(request: HttpRequest) -> dict:
    try:
        pub = published()
        return {"published_at": pub.published_at, "latest_month": f"{pub.months()[-1]:%Y-%m}",
                "level_names": LEVEL_NAMES}
    except NotPublished:
        return {"published_at": None, "level_names": LEVEL_NAMES}


def _value_unit(headline: str) -> str:
    return formats.HEADLINE_UNIT.get(headline, "")


# --- home and search ----------------------------------------------------------------------------


@_guard
def home(request):
    return render(request, "uptake/home.html", {"home": q.home(None), "headline_label": HEADLINE_LABEL})


@_guard
def search(request):
    """Organisations and TAs by name or code, and the knowledge portal's content by full text
    with facets (knowledge.search)."""
    from .knowledge import search as ks

    text = request.GET.get("q", "").strip()[:200]
    filters = {name: request.GET.getlist(name) for name in ks.FACETS if request.GET.getlist(name)}
    hits = q.directory().search(text, limit=30) if text and not filters else []
    if hits and hits[0].score >= 110 and (len(hits) == 1 or hits[1].score < 110) and "all" not in request.GET:
        h = hits[0]
        return redirect("org" if h.kind == "organisation" else "ta", h.code)
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    answer = ks.search(text, filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE) \
        if (text or filters) else None
    return render(request, "uptake/search.html", {
        "q": text, "hits": hits, "answer": answer, "facets": _facet_links(request, answer) if answer else [],
        "page": page, "pages": -(-answer.total // PAGE_SIZE) if answer else 0})


def _facet_links(request, answer) -> list[dict]:
    """Each facet's values with their counts and the address that adds (or removes) the value."""
    from .knowledge import search as ks

    names = _facet_value_names()
    out = []
    for name in ks.FACETS:
        values = []
        for value, count, selected in answer.facets.get(name, []):
            params = request.GET.copy()
            params.pop("page", None)
            chosen = params.getlist(name)
            params.setlist(name, [v for v in chosen if v != value] if selected else [*chosen, value])
            values.append({"value": value, "label": names.get(name, {}).get(value, value), "count": count,
                           "selected": selected, "href": "?" + params.urlencode()})
        if values:
            out.append({"name": name, "label": ks.FACET_LABELS[name], "values": values})
    return out


def _facet_value_names() -> dict[str, dict[str, str]]:
    from .knowledge import search as ks
    from .knowledge.models import SECTORS

    names: dict[str, dict[str, str]] = {"type": ks.KIND_LABELS, "sector": dict(SECTORS),
                                        "industry": {"yes": "Industry-sponsored", "no": "Not industry-sponsored"}}
    try:
        pub = published()
        names["area"] = {a.id: a.name for a in pub.catalogue.areas}
        names["region"] = {o["code"]: o["name"] or o["code"] for o in pub.organisations() if o["level"] == "region"}
    except NotPublished:
        pass
    return names


@_guard
def ta_list(request):
    pub = published()
    now = pub.months()[-1]
    rows = {r["ta"]: r for r in pub.ta_table([t.id for t in pub.catalogue.technology_appraisals], [now],
                                             (ENGLAND,)).to_pylist()}
    areas = []
    for area in pub.catalogue.areas:
        tas = [t for t in pub.catalogue.technology_appraisals if t.clinical_area == area.id]
        if tas:
            areas.append({"area": area, "tas": [{"ta": t, "england": rows.get(t.id)} for t in tas]})
    return render(request, "uptake/ta_list.html", {"areas": areas, "measures": pub.measures,
                                                   "month": f"{now:%Y-%m}"})


# --- a TA (or a measure) ------------------------------------------------------------------------


@_guard
def ta_page(request, key: str):
    item = q.subject(key)
    if item.id != key:
        return redirect("ta", item.id)
    level = request.GET.get("level", "icb")
    if level not in LEVEL_CHOICES:
        raise UptakeError(f"level {level!r}: expected one of {', '.join(LEVEL_CHOICES)}")
    month = request.GET.get("month") or None
    card = q.scorecard(item.id, level, month)
    var = q.variation(item.id, level, month)
    is_ta = not isinstance(item, Measure)
    unit = _value_unit(card.headline)
    mine, keep = my_org(request)
    ctx = {"item": item, "is_ta": is_ta, "card": card, "var": var, "level": level, "levels": LEVEL_CHOICES,
           "months": [f"{m:%Y-%m}" for m in published().months()], "unit": unit, "month": card.month,
           "mine": mine, "keep": keep}
    if is_ta and card.england:
        eng = asdict(card.england)
        ctx.update(england_range=expected_words.range_text(eng),
                   england_gap=expected_words.not_reached_sentence("England", item.id, eng))
    # ranking table: sorted and paged on the server (works without JavaScript); `parent` keeps
    # only the organisations inside one (the practices of an ICB)
    sort = request.GET.get("sort", "value")
    sort = sort if sort in SORTS else "value"
    desc = request.GET.get("dir", "desc" if sort in SORT_DESC else "asc") == "desc"
    parent = request.GET.get("parent", "").strip().upper() or None
    ranked = q.ranking(item.id, level, month, parent)
    ctx["ranking"] = ranked
    rows = [_table_row(r) for r in ranked.rows]
    rows.sort(key=SORTS[sort], reverse=desc)
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(max(1, _int(request.GET.get("page"), 1)), pages)
    ctx.update(rows=rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE], sort=sort, desc=desc, page=page, pages=pages,
               total=len(rows), page_range=range(1, pages + 1))
    ctx["not_measured"] = _not_measured(item.id, card, level)
    if ctx["not_measured"]:  # one line saying why, instead of a grey map and empty charts
        ctx.update(specs={}, diffusion=None, diffusion_rows=[], map_levels=_map_levels(), deciles=[],
                   summary=var.summary, opportunity=None)
        return _ta_extras(request, item, is_ta, ctx)
    # charts, with my organisation (or the one it belongs to at this level) highlighted on each
    mine = ctx["mine"]
    at = q.org_at(mine["code"], level) if mine else None
    label = (q.organisation(at)["name"] or at) if at else "This organisation"
    ctx["highlighted"] = {"code": at, "name": label} if at else None
    deciles = q.decile_series(item.id, level)
    from .impact.peers_view import funnel_peers

    specs = {"funnel": charts.funnel(var.to_dict(), value_label=_label(card),
                                     title=f"{item.id}: funnel plot, {card.month}", **funnel_peers(at, level))}
    specs["deciles"] = charts.deciles(deciles, value_label=_label(card),
                                      highlight=q.org_values(item.id, level, at) if at else None,
                                      highlight_label=label, title=f"{item.id}: deciles across {LEVEL_NAMES[level]}s")
    diffusion = None
    if is_ta and card.headline != "none":
        try:
            diffusion = q.diffusion(item.id, "icb")
        except UptakeError:
            diffusion = None
        if diffusion and any(v is not None for v in diffusion["england"]):
            specs["diffusion"] = charts.diffusion(
                diffusion, value_label=_label(card), title=f"{item.id}: England since NICE published it",
                highlight=q.org_values(item.id, mine["level"], mine["code"]) if mine and mine["level"] != ENGLAND
                else None, highlight_label=mine["name"] or mine["code"] if mine else "This organisation")
    map_levels = _map_levels()
    if level in map_levels:
        specs["map"] = charts.choropleth(
            reverse("map_file", args=[level]),
            [{"org": r.org, "name": r.name, "value": r.value, "flag_998_od": r.flag_998_od} for r in card.rows],
            level_label=LEVEL_NAMES[level], value_label=_label(card), title=f"{item.id} by {LEVEL_NAMES[level]}",
            highlight=at, highlight_label=label)
    rows_of_diffusion = list(zip(diffusion["months"], diffusion["months_since_publication"], diffusion["england"])) \
        if diffusion else []
    forecasts = [o for o in diffusion.get("organisations", []) if o.get("forecast")] if diffusion else []
    ctx["forecasts"] = forecasts
    ctx.update(specs=specs, diffusion=diffusion, diffusion_rows=rows_of_diffusion, map_levels=map_levels, deciles=deciles,
               summary=var.summary, opportunity=var.opportunity)
    return _ta_extras(request, item, is_ta, ctx)


def _not_measured(key: str, card, level: str) -> str | None:
    """Why a TA (or measure) has nothing to chart at this level and month, in one line; None
    when some organisation has a figure."""
    if card.headline == "none":
        return f"{key} is not measured: {card.headline_label.removeprefix('nothing: ')}."
    if not any(r.value is not None for r in card.rows):
        return (f"No {LEVEL_NAMES[level]} has a figure for {key} in {card.month}"
                + (f": {card.notes[0]}" if card.notes else ".") )
    return None


def _official(ta: str, level: str, highlighted: dict | None) -> dict:
    """The Innovation Scorecard's figure for the page: England's last four complete quarters and,
    when an organisation is highlighted, its own; or why there is none."""
    try:
        fig = q.official(ta, level)
    except UptakeError as exc:
        return {"why": str(exc).split(":")[0]}
    mine = {r.quarter: r.rate for r in fig.rows if highlighted and r.org == highlighted["code"]}
    rows = [{"quarter": r.quarter, "england": r.rate, "mine": mine.get(r.quarter)} for r in fig.england][-4:]
    return {"fig": fig, "rows": rows, "mine": highlighted if mine else None}


def _ta_extras(request, item, is_ta: bool, ctx: dict):
    """The TA page's formulary section and related knowledge, then the page."""
    specs = ctx["specs"]
    if is_ta:
        from .compliance.queries import as_of
        from .compliance.sections import TAGS, ta_section

        ctx["compliance"] = ta_section(item.id, as_of(None))
        ctx["tags"] = TAGS
        if ctx["compliance"] and "map" in ctx["compliance"]:
            specs["formulary_map"] = ctx["compliance"]["map"]
        ctx["related"] = _related(ta=item.id, area=item.clinical_area)
        if not ctx["not_measured"]:
            ctx["official"] = _official(item.id, ctx["level"], ctx.get("highlighted"))
    return remember(render(request, "uptake/ta.html", ctx), ctx["keep"])


def _table_row(r) -> dict:
    """A ranked row as the ranking table reads it (the score row's flags and suppression too)."""
    return {**{k: getattr(r, k) for k in ("org", "name", "rank", "value", "percentile", "numerator", "denominator",
                                           "gap_patients", "gap_cost")}, "row": r.row}


def _related(*, ta: str | None = None, organisation: str | None = None, area: str | None = None) -> dict:
    """What the knowledge portal holds about a TA or an organisation, for its page."""
    from .knowledge import queries as kq
    from .knowledge.models import BARRIER_TYPES

    return {"ta": ta, "case_studies": kq.case_studies_for(ta=ta, organisation=organisation),
            "barriers": kq.barriers_for(ta=ta, organisation=organisation),
            "guides": kq.guides_for(ta=ta, area=area) if ta else [], "type_labels": dict(BARRIER_TYPES)}


def _label(card) -> str:
    return HEADLINE_LABEL.get(card.headline, card.headline)


def _int(text, default: int) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return default


def map_file(request, level: str):
    if level not in _map_levels():
        raise Http404(f"no map of {level}")
    resp = FileResponse(open(settings.GEO_DIR / f"{level}.geojson", "rb"), content_type="application/geo+json")
    resp["Cache-Control"] = "public, max-age=3600"
    return resp


# --- an organisation ----------------------------------------------------------------------------


@_guard
def org_page(request, code: str):
    org = q.organisation(code)
    if org["code"] != code:
        return redirect("org", org["code"])
    month = request.GET.get("month") or None
    prof = q.profile(org["code"], month)
    pub = published()
    gaps = q.org_gaps(org["code"], prof.month)
    by_area: dict[str, list] = {}
    place = org.get("name") or org["code"]
    for r in prof.rows:
        by_area.setdefault(r.area, []).append({
            "row": r, "unit": _value_unit(r.headline), "gap": gaps.get(r.ta), "forecast": _org_forecast(r, org),
            "spark": charts.sparkline_svg(r.trend, label=f"{r.ta}, last {len(r.trend)} months")})
    not_reached = expected_words.gaps([asdict(r) for r in prof.rows], place, pub.catalogue)
    order = request.GET.get("sort", "")
    if order in WORST_FIRST:  # one table, worst first, instead of one per clinical area
        rows = sorted((d for a in by_area.values() for d in a), key=WORST_FIRST[order][1])
        areas = [{"area": {"id": "worst", "name": f"Every TA, worst first by {WORST_FIRST[order][0]}"},
                  "rows": rows}]
    else:
        order = ""
        areas = [{"area": a, "rows": by_area[a.id]} for a in pub.catalogue.areas if a.id in by_area]
    kids = q.children(org["code"], org["level"])
    ctx = {"org": org, "profile": prof, "areas": areas, "children": kids[:500], "children_total": len(kids),
           "not_reached": not_reached[:5],
           "months": [f"{m:%Y-%m}" for m in pub.months()], "month": prof.month,
           "related": _related(organisation=org["code"]), "gaps": gaps, "sort": order,
           "sorts": [(k, v[0]) for k, v in WORST_FIRST.items() if k != "gap" or gaps],
           "shortfall": _shortfall(gaps.values())}
    return render(request, "uptake/org.html", ctx)


# An organisation's TAs worst first: (what the sort is called, its key over the page's rows);
# rows without the figure (hidden, not measured) last.
_FLAG_ORDER = {"low": 0, "not significant": 1, "high": 2}
WORST_FIRST = {
    "percentile": ("percentile", lambda d: (d["row"].percentile is None, d["row"].percentile or 0.0)),
    "gap": ("gap in patients", lambda d: (not (d["gap"] and d["gap"].gap_patients is not None),
                                          -((d["gap"] and d["gap"].gap_patients) or 0.0))),
    "flag": ("funnel flag", lambda d: (_FLAG_ORDER.get(d["row"].flag_998_od, 3),
                                       d["row"].percentile is None, d["row"].percentile or 0.0)),
}


def _shortfall(rows) -> dict:
    """The organisation's total gap: patients (and their cost a month) over the TAs it is behind on."""
    behind = [r for r in rows if r.gap_patients]
    costs = [r.gap_cost for r in behind if r.gap_cost is not None]
    return {"tas": len(behind), "patients": sum(r.gap_patients for r in behind),
            "cost": sum(costs) if costs else None}


def _org_forecast(row, org: dict) -> str | None:
    """The month the organisation reaches the TA's expected use, from the stored diffusion fits
    (ICBs and regions), in words; None where there is none."""
    if row.headline != "index" or org["level"] not in ("icb", "region"):
        return None
    try:
        d = q.diffusion(row.ta, org["level"])
    except UptakeError:
        return None
    mine = next((o for o in d.get("organisations", []) if o["org"] == org["code"]), None)
    return mine["forecast"]["text"] if mine and mine.get("forecast") else None


@_guard
def compare(request):
    codes = [c.strip().upper() for c in request.GET.getlist("orgs") for c in c.split(",") if c.strip()]
    codes = list(dict.fromkeys(codes))
    if len(codes) > 5:
        raise UptakeError("compare: at most five organisations at once")
    orgs = [q.organisation(c) for c in codes]
    month = request.GET.get("month") or None
    profiles = [q.profile(o["code"], month) for o in orgs]
    pub = published()
    table = []
    for t in pub.catalogue.technology_appraisals:
        cells = []
        for p in profiles:
            cells.append(next((r for r in p.rows if r.ta == t.id), None))
        if any(c is not None for c in cells):
            first = next(c for c in cells if c is not None)
            table.append({"ta": t, "cells": cells, "england": first.england_value, "headline": first.headline,
                          "unit": _value_unit(first.headline)})
    return render(request, "uptake/compare.html", {"orgs": orgs, "profiles": profiles, "table": table,
                                                   "codes": ",".join(codes),
                                                   "month": profiles[0].month if profiles else None})


# --- definitions, sources, downloads ------------------------------------------------------------


def definitions(request):
    from markdown_it import MarkdownIt

    path = DOCS / "metrics.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Definitions\n\ndocs/metrics.md is not installed."
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(text)
    toc = []
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            title = tokens[i + 1].content
            slug = _slug(title)
            tok.attrSet("id", slug)
            if tok.tag in ("h2", "h3"):
                toc.append({"level": tok.tag, "title": title, "slug": slug})
    html = md.renderer.render(tokens, md.options, {})
    return render(request, "uptake/definitions.html", {"html": html, "toc": toc})


def _slug(text: str) -> str:
    """A heading's anchor without its section number: '6. Funnel plots' → 'funnel-plots', so
    links survive renumbering."""
    import re

    text = re.sub(r"^\s*\d+(\.\d+)*\.?\s+", "", text)
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@_guard
def sources(request):
    pub = published()
    # files by name only: where they were on the server that loaded them is nobody's business
    rows = [{"name": k, **v, "sources": [Path(str(f)).name for f in v.get("sources") or []]}
            for k, v in pub.meta["sources"].items()]
    return render(request, "uptake/sources.html", {"meta": pub.meta, "rows": rows})


@_guard
def downloads(request):
    pub = published()
    return render(request, "uptake/downloads.html", {"tas": pub.catalogue.technology_appraisals,
                                                     "measures": pub.measures, "levels": LEVEL_CHOICES})


@_guard
def download_scorecard(request, fmt: str):
    """The whole published scorecard (every TA × level × month), written when it was published
    (services.downloads): this only hands over a file, never makes one."""
    from ..services import downloads

    if fmt not in downloads.FORMATS:
        raise Http404("scorecard downloads are .csv or .parquet")
    pub = published()
    target = downloads.current_or_previous(settings.PUBLISHED, pub.published_at, fmt)
    try:
        handle = open(target, "rb") if target else None
    except FileNotFoundError:  # pruned by a publication between the lookup and the open
        target = downloads.current_or_previous(settings.PUBLISHED, published().published_at, fmt)
        handle = open(target, "rb") if target else None
    if handle is None:
        return being_prepared(request, "The full scorecard download")
    return FileResponse(handle, as_attachment=True, filename=f"uptake_scorecard.{fmt}",
                        content_type="text/csv" if fmt == "csv" else "application/vnd.apache.parquet")


def nhsuk_css(request):
    """NHS.UK frontend's stylesheet made to work offline: its icons from our static files, and no
    web fonts from assets.nhs.uk (Frutiger is licensed to nhs.uk; the stack falls back to Arial)."""
    global _CSS
    if _CSS is None:
        import re

        path = settings.FRONTEND / "nhsuk-frontend" / "dist" / "nhsuk" / "nhsuk-frontend.min.css"
        if not path.exists():
            raise Http404("NHS.UK frontend is not installed: run the set-up command (npm ci)")
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"@font-face\s*{[^}]*}", "", text)
        _CSS = text.replace("url(/assets/", f"url({settings.STATIC_URL}nhsuk/assets/")
    resp = HttpResponse(_CSS, content_type="text/css; charset=utf-8")
    resp["Cache-Control"] = "public, max-age=86400"
    return resp


_CSS: str | None = None
_INTERPRETER: str | None = None


def vega_interpreter(request):
    """Vega's expression interpreter (npm vega-interpreter), so charts draw without eval and the
    Content-Security-Policy can forbid it. The package is an ES module importing three names from
    vega-util; here they come from the global `vega` that vega.min.js defines, and the interpreter
    is left on `window.vegaExpressionInterpreter` for portal.js."""
    global _INTERPRETER
    if _INTERPRETER is None:
        import re

        path = settings.FRONTEND / "vega-interpreter" / "build" / "vega-interpreter.js"
        if not path.exists():
            raise Http404("vega-interpreter is not installed: run the set-up command (npm ci)")
        text = path.read_text(encoding="utf-8")
        text, n = re.subn(r"import \{([^}]*)\} from 'vega-util';", r"const {\1} = window.vega;", text)
        text = text.replace("export { expression as expressionInterpreter };",
                            "window.vegaExpressionInterpreter = expression;")
        if n != 1 or "window.vegaExpressionInterpreter" not in text:
            raise Http404("vega-interpreter: an unexpected version (its imports or exports changed)")
        _INTERPRETER = text
    resp = HttpResponse(_INTERPRETER, content_type="text/javascript; charset=utf-8")
    resp["Cache-Control"] = "public, max-age=86400"
    return resp


def not_found(request, exception=None):
    return render(request, "uptake/error.html", {"title": "Page not found",
                                                 "message": "There is no page at this address."}, status=404)


def server_error(request):
    return HttpResponse("<h1>Something went wrong</h1><p>The error has been logged.</p>", status=500)
