"""ETag and Last-Modified for every page and API answer, from the publication they are read
from: a client (or a proxy) holding the current version gets 304 Not Modified without the page
being rendered again."""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.http import HttpResponseNotModified
from django.utils.http import http_date, parse_http_date_safe

from . import store

SKIP = ("/static/", "/healthz")


class PublishedConditionalGet:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in ("GET", "HEAD") or request.path.startswith(SKIP):
            return self.get_response(request)
        published_at = store.stamp()
        if published_at is None:
            return self.get_response(request)
        user = getattr(request, "user", None)
        who = str(user.pk) if user is not None and user.is_authenticated else "-"
        variant = "|".join([published_at, request.get_full_path(), request.headers.get("Accept", ""), who])
        etag = '"' + hashlib.sha256(variant.encode()).hexdigest()[:32] + '"'
        modified = int(datetime.fromisoformat(published_at).timestamp())
        match = request.headers.get("If-None-Match")
        since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
        if (match and etag in [m.strip() for m in match.split(",")]) or (not match and since and since >= modified):
            response = HttpResponseNotModified()
        else:
            response = self.get_response(request)
            if response.status_code != 200 or response.has_header("ETag"):
                return response
        response["ETag"] = etag
        response["Last-Modified"] = http_date(modified)
        response["Cache-Control"] = "public, max-age=0, must-revalidate" if who == "-" else "private, max-age=0"
        response.setdefault("Vary", "Accept")
        return response
