"""The public view, `/my-area/`: find a GP practice (by name, with typos, or by postcode) or the
practices near a home postcode; then, for a practice, its group of practices (PCN) or its local
NHS area (ICB), each NICE medicine in plain words, and the trials in the UK a person could join.
The words come from services.plain, the places from services.places, the trials from
services.trials; the figures from the same publication, suppressed the same way, as the analyst
pages (docs/public.md)."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from django.shortcuts import render

from ...catalogue.trial_conditions import load_trial_conditions
from ...config import today
from ...errors import UptakeError
from ...services.places import NotAPostcode, NotInLookup, Places, places_for
from ...services.plain import LEVEL_WORDS, formulary_words, plain_ta
from ...services.trials import trials_for
from ...warehouse import Warehouse
from .. import queries as q
from ..store import NotPublished, published

MAX_QUERY = 100
PUBLIC_LEVELS = ("practice", "pcn", "sub_icb", "icb")
PHASE_WORDS = {"1": "an early test in a small group of people", "2": "a test in a bigger group of people",
               "3": "a test in a large group, against the usual care", "4": "a study of a medicine already in use"}


def _warehouse() -> Warehouse:
    return Warehouse(settings.WAREHOUSE)


def _places() -> Places:
    pub = published()
    codes = {o["code"] for o in pub.organisations() if o["level"] == "practice"}
    return places_for(_warehouse(), codes)


def _unavailable(request, exc: Exception):
    return render(request, "public/message.html", {"title": "This page is not ready yet",
                                                   "message": "There are no figures to show yet. "
                                                   "Please try again later."}, status=503)


def my_area(request):
    """The search page: a practice by name or postcode, or practices near a home postcode."""
    try:
        places = _places()
    except NotPublished as exc:
        return _unavailable(request, exc)
    text = request.GET.get("q", "").strip()[:MAX_QUERY]
    home = request.GET.get("postcode", "").strip()[:MAX_QUERY]
    context: dict = {"q": text, "postcode": home, "areas": places.areas}
    if text:
        context["hits"] = places.find(text)
    if home:
        try:
            place = places.place(home)
            context["place"] = place
            context["near"] = places.nearest(place.lat, place.lon)
        except NotAPostcode:
            context["postcode_error"] = "Enter a full postcode, like HG1 1AA."
        except NotInLookup as exc:
            context["postcode_error"] = (f"We cannot find {exc.args[0].split(' is not')[0]} in our list of postcodes. "
                                         "Check it is right, or search for your GP practice by name.")
    return render(request, "public/my_area.html", context)


def _org(code: str) -> dict:
    try:
        org = q.organisation(code)
    except q.NotFound:
        raise Http404("no such organisation") from None
    if org["level"] not in PUBLIC_LEVELS:
        raise Http404("no public page for this level")
    return org


def _origin(request, places: Places, org: dict) -> tuple[tuple[float, float] | None, str | None, str | None]:
    """Where distances are measured from: the home postcode given (?from=), else the practice."""
    home = request.GET.get("from", "").strip()[:MAX_QUERY]
    if home:
        try:
            place = places.place(home)
            return (place.lat, place.lon), place.postcode, None
        except (NotAPostcode, NotInLookup):
            return None, None, "We could not find that postcode, so we cannot say how far away each place is."
    practice = places.practice(org["code"]) if org["level"] == "practice" else None
    if practice is not None and practice.lat is not None:
        return (practice.lat, practice.lon), None, None
    return None, None, None


def _context(code: str):
    org = _org(code)
    pub = published()
    profile = q.profile(org["code"], None)
    parents, cur = [], org
    while cur.get("parent") and cur.get("parent_level") in PUBLIC_LEVELS:
        cur = q.organisation(cur["parent"])
        if cur["level"] in ("pcn", "icb"):
            parents.append(cur)
    return org, pub, profile, parents


def _eligible(pub, org: dict, month: str) -> dict[str, float]:
    """The eligible population per TA for the organisation in the month (the scorecard's column)."""
    rows = pub.query("SELECT ta, eligible FROM ta_scorecard WHERE level = ? AND org = ? AND month = ?",
                     [org["level"], org["code"], month + "-01"]).to_pylist()
    return {r["ta"]: r["eligible"] for r in rows if r["eligible"] is not None}


def _formulary(org: dict, parents: list[dict], tas: list[str]) -> dict[str, str]:
    """TA → where the ICB's formulary stands, in words (for an ICB, or a practice or PCN in one)."""
    from django.db import DatabaseError

    from ..compliance import queries as cq

    icb = org["code"] if org["level"] == "icb" else next((p["code"] for p in parents if p["level"] == "icb"), None)
    if icb is None:
        return {}
    try:
        statuses = cq.current(today(), tas).for_icb(icb)
    except (DatabaseError, UptakeError):
        return {}
    said = {s.ta: formulary_words(s.status, s.deadline) for s in statuses}
    return {ta: words for ta, words in said.items() if words}


def area_page(request, code: str):
    try:
        org, pub, profile, parents = _context(code)
    except NotPublished as exc:
        return _unavailable(request, exc)
    except UptakeError:
        raise Http404("no figures for this organisation") from None
    conditions = load_trial_conditions()
    rows = {r.ta: r for r in profile.rows}
    eligible = _eligible(pub, org, profile.month)
    areas = []
    formulary = _formulary(org, parents, [t.id for t in pub.catalogue.technology_appraisals])
    for area in pub.catalogue.areas:
        tas = [t for t in pub.catalogue.technology_appraisals if t.clinical_area == area.id]
        items = [plain_ta(t, conditions.for_ta(t.id), rows.get(t.id), org["level"], eligible.get(t.id)) for t in tas]
        for item in items:
            item.formulary = formulary.get(item.ta)
        if items:
            areas.append({"area": area, "items": items})
    practice = None
    if org["level"] == "practice":
        try:
            practice = _places().practice(org["code"])
        except NotPublished:
            practice = None
    return render(request, "public/area.html", {
        "org": org, "kind": LEVEL_WORDS[org["level"]][0], "parents": parents, "areas": areas, "practice": practice,
        "month": profile.month, "from": request.GET.get("from", "")[:MAX_QUERY]})


def area_ta_page(request, code: str, ta: str):
    try:
        org, pub, profile, parents = _context(code)
        places = _places()
    except NotPublished as exc:
        return _unavailable(request, exc)
    except UptakeError:
        raise Http404("no figures for this organisation") from None
    try:
        appraisal = pub.catalogue.ta(ta)
    except (LookupError, UptakeError):
        raise Http404("no such NICE guidance") from None
    group = load_trial_conditions().for_ta(appraisal.id)
    row = next((r for r in profile.rows if r.ta == appraisal.id), None)
    origin, home, origin_note = _origin(request, places, org)
    plain = plain_ta(appraisal, group, row, org["level"], _eligible(pub, org, profile.month).get(appraisal.id))
    plain.formulary = _formulary(org, parents, [appraisal.id]).get(appraisal.id)
    trials = trials_for(_warehouse()).for_condition(group, today(), places, origin) if group else []
    for t in trials:
        t.sites = t.sites[:5]
    return render(request, "public/area_ta.html", {
        "org": org, "kind": LEVEL_WORDS[org["level"]][0], "ta": appraisal,
        "plain": plain, "month": profile.month,
        "open_trials": [t for t in trials if t.is_open], "other_trials": [t for t in trials if not t.is_open],
        "home": home, "origin_note": origin_note, "measured_from_practice": origin is not None and home is None,
        "phase_words": PHASE_WORDS, "from": request.GET.get("from", "")[:MAX_QUERY]})
