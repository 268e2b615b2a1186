"""The report downloads: an ICB's monthly report (and England's) as PDF or HTML.

A request never makes a report (reports.cache, reports.builder): it hands over a report the
builder has made, or queues it and answers "being prepared". Anyone gets a published month's
report counted to today (made ahead for the latest month); while today's is being made, the
newest made one of the organisation is handed over. A report counted to another day (`as_of`)
is made only for people signed in, through the bounded queue."""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse, Http404
from django.shortcuts import render

from .. import config
from ..engine.hierarchy import ENGLAND_CODE
from ..reports import cache
from ..services.downloads import stamp
from . import queries as q
from .compliance.queries import as_of
from .store import published
from .pages import being_prepared
from .pages import guard as _guard

CONTENT_TYPES = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}


@_guard
def report(request, code: str, fmt: str):
    if fmt not in CONTENT_TYPES:
        raise Http404("reports are .pdf or .html")
    code = code.upper()
    pub = published()
    if code != ENGLAND_CODE and q.organisation(code)["level"] != "icb":
        raise Http404("reports are made for ICBs and for England")
    month = q.month(request.GET.get("month") or None)
    asked = request.GET.get("as_of")
    day = as_of(asked) if asked else config.today()
    if asked and not request.user.is_authenticated:
        return render(request, "uptake/error.html", status=403, context={
            "title": "Sign in to choose the day",
            "message": "A report with deadlines counted to another day is prepared for people signed in. "
                       "Without a day, the report counts them to today."})
    key = cache.Key(stamp(pub.published_at), code, f"{month:%Y-%m}", day.isoformat(), fmt)
    found = _open(cache.path(settings.PUBLISHED, key))
    if found is None:
        queued = cache.enqueue(settings.PUBLISHED, key)
        if not asked:  # the newest made one while today's is made
            found = _open(cache.newest_like(settings.PUBLISHED, key, latest_month=month == pub.months()[-1]))
        if found is None:
            what = f"The report of {code} for {month:%B %Y}"
            if queued:
                return being_prepared(request, what, status=202)
            return being_prepared(request, what, status=503, retry=60,
                                  message="Many reports are being prepared just now; try again in a minute.")
    name = f"uptake_{code}_{month:%Y-%m}.{fmt}"
    resp = FileResponse(found, as_attachment=fmt == "pdf", filename=name, content_type=CONTENT_TYPES[fmt])
    resp["X-Content-Type-Options"] = "nosniff"
    return resp


def _open(path):
    """The file open for reading, or None (not made, or removed since it was found)."""
    if path is None:
        return None
    try:
        return open(path, "rb")
    except FileNotFoundError:
        return None
