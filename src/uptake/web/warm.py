"""Warming a portal worker: the pages most asked for are rendered once, in the worker, before it
takes its first request and again whenever a new publication (or a new day) appears, so the
publication is open, its cached service results made and the answers kept (web.caching) before
a person asks. A new publication is switched to only once warm (web.store.warmed). gunicorn
calls `start` in each worker (web.gunicorn_conf)."""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings

from . import store

log = logging.getLogger("uptake.web.warm")
PATHS = ("/", "/ta/", "/org/ENG/", "/downloads/", "/sources/", "/compliance/", "/opportunities/")
POLL = 2.0


def _host() -> str:
    return next((h for h in settings.ALLOWED_HOSTS if h and not h.startswith((".", "*"))), "localhost")


def warm(paths=PATHS) -> dict[str, int]:
    """GET each path through the portal's own WSGI application: path → status."""
    from .wsgi import application

    statuses = {}
    for path in paths:
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": _host(),
                   "SERVER_PORT": "80", "HTTP_HOST": _host(), "SERVER_PROTOCOL": "HTTP/1.1",
                   "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(), "wsgi.errors": io.StringIO(),
                   "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": True,
                   "wsgi.run_once": False, "REMOTE_ADDR": "127.0.0.1"}
        if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
            environ["HTTP_X_FORWARDED_PROTO"] = "https"
        got = []
        result = application(environ, lambda status, headers, exc_info=None: got.append(status))
        try:
            for _ in result:
                pass
        finally:
            getattr(result, "close", lambda: None)()
        statuses[path] = int(got[0].split()[0]) if got else 0
    return statuses


def _version():
    from .. import config

    return store.version(), config.today()


def _warm_logged() -> None:
    started = time.perf_counter()
    try:
        statuses = warm()
    except Exception:  # a page that fails here fails for its visitor too, and is logged there
        log.exception("warming the portal failed")
        return
    log.info("warmed %s in %.1f s", statuses, time.perf_counter() - started)


def start(heartbeat: Callable[[], object] = lambda: None) -> None:
    """Warm now (calling `heartbeat` every second meanwhile, so gunicorn does not take the worker
    for stuck), then, in a daemon thread, warm each new publication (or day) before switching
    to it: the worker serves the publication it has open until the new one is warm."""
    store.defer_switching()
    seen = _version()
    if seen[0] is not None:
        first = threading.Thread(target=store.warmed, args=(_warm_logged,), name="uptake-warm-start")
        first.start()
        while first.is_alive():
            heartbeat()
            first.join(timeout=1.0)

    def watch():
        nonlocal seen
        while True:
            time.sleep(POLL)
            now = _version()
            if now[0] is not None and now != seen:
                seen = now
                store.warmed(_warm_logged)

    threading.Thread(target=watch, name="uptake-warm", daemon=True).start()
