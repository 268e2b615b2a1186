"""The report downloads: an ICB's monthly report (and England's) as PDF or HTML, made on the
first request for a publication, month and day and kept beside the publication."""

from __future__ import annotations

import re

from django.conf import settings
from django.http import FileResponse, Http404

from ..engine.hierarchy import ENGLAND_CODE
from ..reports import batch
from ..reports.build import Context
from . import queries as q
from .compliance.queries import as_of
from .store import published
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
    day = as_of(request.GET.get("as_of"))
    folder = settings.PUBLISHED.parent / "reports"
    folder.mkdir(exist_ok=True)
    stamp = re.sub(r"[^0-9A-Za-z]", "", pub.published_at)
    target = folder / f"{code}_{month:%Y-%m}_{day.isoformat()}_{stamp}.{fmt}"
    if not target.exists():
        ctx = Context(pub, month=f"{month:%Y-%m}", as_of=day, site_url=request.build_absolute_uri("/"))
        batch.write_one(ctx, code, target)
        for old in folder.glob(f"{code}_*.{fmt}"):
            if old.name.split("_")[-1] != target.name.split("_")[-1]:  # an earlier publication's
                old.unlink(missing_ok=True)
    name = f"uptake_{code}_{month:%Y-%m}.{fmt}"
    resp = FileResponse(open(target, "rb"), as_attachment=fmt == "pdf", filename=name,
                        content_type=CONTENT_TYPES[fmt])
    resp["X-Content-Type-Options"] = "nosniff"
    return resp
