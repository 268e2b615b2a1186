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
_state: dict = {"key": None, "pub": None, "deferred": False}
_local = threading.local()
_cache: OrderedDict = OrderedDict()
CACHE_SIZE = 2048


class NotPublished(UptakeError):
    pass


def published() -> Published:
    """The current publication (reopened when the file is replaced by `uptake publish`). In a
    worker that warms itself (web.warm), a new publication is switched to only once it is warm:
    until then the one already open is served."""
    staged = getattr(_local, "pub", None)
    if staged is not None:  # this thread is warming a new publication
        return staged
    path = settings.PUBLISHED
    try:
        st = path.stat()
    except FileNotFoundError:
        raise NotPublished(f"{path}: nothing published yet; run `uptake publish` (or `uptake demo`)") from None
    key = (st.st_ino, st.st_mtime_ns)
    if _state["key"] != key and not (_state["deferred"] and _state["pub"] is not None):
        with _lock:
            if _state["key"] != key:
                _state["pub"] = Published(path, threads=1)
                _state["key"] = key
                _cache.clear()
    return _state["pub"]


def defer_switching() -> None:
    """From now on this process switches to a new publication only through `warmed`."""
    _state["deferred"] = True


def version() -> tuple[int, int] | None:
    """The publication file's identity (inode, mtime), or None when there is none."""
    try:
        st = settings.PUBLISHED.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns


def warmed(prepare: Callable[[], object]) -> None:
    """Open the publication now at PUBLISHED, run `prepare()` in this thread against it (the other
    threads go on serving the one open), then make it the current one."""
    key = version()
    if key is None or key == _state["key"]:
        prepare()
        return
    pub = Published(settings.PUBLISHED, threads=1)
    _local.pub = pub
    try:
        prepare()
    finally:
        _local.pub = None
    with _lock:
        _state["pub"], _state["key"] = pub, key
        for k in [k for k in _cache if k[0] != id(pub)]:
            del _cache[k]


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
