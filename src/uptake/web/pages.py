"""What every page of the portal shares: answering errors in the site's design, and the maps
on disk. Views of every app use these; no view imports another view."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render

from ..errors import UptakeError
from . import queries as q
from .store import NotPublished


def guard(view):
    """Pages answer a bad code with 404 and a bad month or level with 400, in the site's design."""
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except q.NotFound as exc:
            return render(request, "uptake/error.html", {"title": "Not found", "message": str(exc)}, status=404)
        except NotPublished as exc:
            return render(request, "uptake/error.html", {"title": "Nothing published yet", "message": str(exc)},
                          status=503)
        except UptakeError as exc:
            return render(request, "uptake/error.html", {"title": "Cannot show that", "message": str(exc)},
                          status=400)
    wrapper.__name__ = view.__name__
    return wrapper


def map_levels() -> list[str]:
    meta = settings.GEO_DIR / "maps.json"
    if not meta.exists():
        return []
    return [lv for lv in json.loads(meta.read_text())["levels"] if (settings.GEO_DIR / f"{lv}.geojson").exists()]


def being_prepared(request, what: str, *, status: int = 503, retry: int = 10, message: str = "") -> HttpResponse:
    """'Being prepared, refresh in a moment' (202 when it is queued, 503 when it cannot be yet),
    refreshing itself (Refresh, Retry-After) and never kept by a client or a cache."""
    resp = render(request, "uptake/being_prepared.html", {"what": what, "retry": retry, "message": message},
                  status=status)
    resp["Retry-After"] = resp["Refresh"] = str(retry)
    resp["Cache-Control"] = "no-store"
    return resp
