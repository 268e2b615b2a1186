"""ETag and Last-Modified for every page and API answer, from the publication they are read
from, the stamp of the portal's own content (formulary decisions, opportunity choices) and the
calendar day: a client (or a proxy) holding the current version gets 304 Not Modified without
the page being rendered again. And, since a page is a function of those and its address alone
for anyone not signed in, each worker keeps the answers it has rendered (up to RESPONSE_BYTES)
and serves them again until one of them changes."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from datetime import date, datetime

from django.http import HttpResponse, HttpResponseNotModified
from django.utils.http import http_date, parse_http_date_safe

from . import store

SKIP = ("/static/", "/healthz", "/downloads/scorecard.")
FILES = ("/report.pdf", "/report.html")  # handed-over files: their own answer, never a page's ETag
RESPONSE_BYTES = 256 * 1024 * 1024
KEPT_HEADERS = ("Content-Type", "Content-Disposition", "Vary", "Content-Language")


class RenderedAnswers:
    """A size-bounded LRU of rendered answers (body and headers) of one publication."""

    def __init__(self, limit: int = RESPONSE_BYTES):
        self.limit, self.size, self.stamp = limit, 0, None
        self._items: OrderedDict[str, tuple[bytes, dict]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, stamp: str, key: str) -> HttpResponse | None:
        with self._lock:
            if stamp != self.stamp:
                self._items.clear()
                self.size, self.stamp = 0, stamp
                return None
            got = self._items.get(key)
            if got is None:
                return None
            self._items.move_to_end(key)
        body, headers = got
        response = HttpResponse(body)
        for k, v in headers.items():
            response[k] = v
        return response

    def put(self, stamp: str, key: str, response) -> None:
        if response.streaming or response.cookies or len(response.content) > self.limit // 16:
            return
        headers = {k: response[k] for k in KEPT_HEADERS if response.has_header(k)}
        with self._lock:
            if stamp != self.stamp or key in self._items:
                return
            self._items[key] = (response.content, headers)
            self.size += len(response.content)
            while self.size > self.limit:
                _, (body, _) = self._items.popitem(last=False)
                self.size -= len(body)


answers = RenderedAnswers()


def content_stamp():
    """(token, changed_at) of the portal's own content, or None before any (or before migrating)."""
    from django.db import DatabaseError

    from .models import ContentStamp

    try:
        return ContentStamp.current()
    except DatabaseError:
        return None


class PublishedConditionalGet:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in ("GET", "HEAD") or request.path.startswith(SKIP) or request.path.endswith(FILES):
            return self.get_response(request)
        published_at = store.stamp()
        if published_at is None:
            return self.get_response(request)
        modified = int(datetime.fromisoformat(published_at).timestamp())
        content = content_stamp()
        if content is not None:  # pages that show the portal's own content change with it
            published_at = f"{published_at}|{content[0]}"
            modified = max(modified, int(content[1].timestamp()))
        # deadlines are counted to today: an answer kept from yesterday is not today's
        published_at = f"{published_at}|{date.today().isoformat()}"
        user = getattr(request, "user", None)
        who = str(user.pk) if user is not None and user.is_authenticated else "-"
        variant = "|".join([published_at, request.get_full_path(), request.headers.get("Accept", ""), who])
        etag = '"' + hashlib.sha256(variant.encode()).hexdigest()[:32] + '"'
        match = request.headers.get("If-None-Match")
        since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
        if (match and etag in [m.strip() for m in match.split(",")]) or (not match and since and since >= modified):
            response = HttpResponseNotModified()
        else:
            response = answers.get(published_at, etag) if who == "-" else None
            if response is None:
                response = self.get_response(request)
                if response.status_code != 200 or response.has_header("ETag"):
                    return response
                if who == "-":
                    answers.put(published_at, etag, response)
        response["ETag"] = etag
        response["Last-Modified"] = http_date(modified)
        response["Cache-Control"] = "public, max-age=0, must-revalidate" if who == "-" else "private, max-age=0"
        response.setdefault("Vary", "Accept")
        return response
