"""The portal's one view of the data: the published scorecard, reopened when a new one is
published, and a small cache of service results keyed by the publication, so a warm page is a
dictionary lookup."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import wraps

from django.conf import settings

from ..errors import UptakeError
from ..services.published import Published

_lock = threading.Lock()
_state: dict = {"key": None, "pub": None}
_cache: OrderedDict = OrderedDict()
CACHE_SIZE = 2048


class NotPublished(UptakeError):
    pass


def published() -> Published:
    """The current publication (reopened when the file is replaced by `uptake publish`)."""
    path = settings.PUBLISHED
    try:
        st = path.stat()
    except FileNotFoundError:
        raise NotPublished(f"{path}: nothing published yet; run `uptake publish` (or `uptake demo`)") from None
    key = (st.st_ino, st.st_mtime_ns)
    if _state["key"] != key:
        with _lock:
            if _state["key"] != key:
                _state["pub"] = Published(path, threads=1)
                _state["key"] = key
                _cache.clear()
    return _state["pub"]


def stamp() -> str | None:
    """When the current publication was made (ISO 8601), or None."""
    try:
        return published().published_at
    except NotPublished:
        return None


def cached(fn: Callable) -> Callable:
    """Memoise `fn(*args)` for the current publication (arguments must be hashable)."""
    @wraps(fn)
    def wrapper(*args):
        pub = published()
        key = (id(pub), fn.__qualname__, args)
        try:
            value = _cache[key]
            _cache.move_to_end(key)
            return value
        except KeyError:
            pass
        value = fn(*args)
        with _lock:
            _cache[key] = value
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
        return value

    return wrapper
