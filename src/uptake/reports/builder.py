"""The report builder: one background process (started by `uptake serve`, or `uptake report-builder`)
that makes the portal's reports so that no web request ever does.

It keeps made, for the current publication and today's day, the default reports — England's
and every ICB's (or UPTAKE_REPORT_PREBUILD's list), PDF and HTML, for the latest
UPTAKE_REPORT_MONTHS published months (default 1) — and makes the reports the portal queued
(reports.cache), those first, oldest first. It notices a new publication (and a new day) by
itself, writes every file atomically, sweeps what a killed builder left, keeps the made reports
within their bounds, and makes the full scorecard downloads of a publication that lacks them.
It runs at a low priority (nice 10), so the portal's pages come first. Only one builder works on
a publication folder at a time (a lock); a second one waits.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from .. import config
from ..engine.hierarchy import ENGLAND_CODE
from ..fsutil import sweep_temporary
from ..services import downloads
from . import batch, build, cache

log = logging.getLogger("uptake.reports.builder")


def prebuild_codes(pub, when) -> list[str]:
    """England and every ICB, or the codes UPTAKE_REPORT_PREBUILD lists (`none` for none)."""
    setting = (os.environ.get("UPTAKE_REPORT_PREBUILD") or "all").strip()
    if setting.lower() == "none":
        return []
    if setting.lower() == "all":
        return [ENGLAND_CODE, *batch.icb_codes(pub, when)]
    return [c.strip().upper() for c in setting.split(",") if c.strip()]


def default_keys(pub) -> list[cache.Key]:
    """The reports kept made for the publication: today's, for the latest published months."""
    stamp = downloads.stamp(pub.published_at)
    day = config.today().isoformat()
    n = max(0, int(os.environ.get("UPTAKE_REPORT_MONTHS") or 1))
    keys = []
    for when in reversed(pub.months()[-n:] if n else []):
        keys += [cache.Key(stamp, code, f"{when:%Y-%m}", day, fmt)
                 for code in prebuild_codes(pub, when) for fmt in cache.FORMATS]
    return keys


class Builder:
    """The builder's state: the publication it has open and the report contexts of it."""

    def __init__(self, published: Path):
        self.published = Path(published)
        self.pub = None
        self._seen = None
        self._contexts: dict[tuple[str, str], build.Context] = {}

    def refresh(self) -> bool:
        """Open the publication again when it was replaced; False when there is none."""
        from ..services.published import Published

        try:
            st = self.published.stat()
        except FileNotFoundError:
            return False
        if (st.st_ino, st.st_mtime_ns) != self._seen:
            if self.pub is not None:
                self.pub.close()
            self.pub = Published(self.published, threads=1)
            self._seen = (st.st_ino, st.st_mtime_ns)
            self._contexts.clear()
            self._ensure_downloads()
        return True

    def _ensure_downloads(self) -> None:
        pub = self.pub
        if not all(downloads.scorecard_file(self.published, pub.published_at, f).exists()
                   for f in downloads.FORMATS):
            downloads.write_scorecards(pub._cursor(), self.published, pub.published_at)
            log.info("wrote the scorecard downloads of %s", pub.published_at)
        downloads.prune(self.published)

    def context(self, key: cache.Key) -> build.Context:
        from datetime import date

        ctx = self._contexts.get((key.month, key.day))
        if ctx is None:
            if len(self._contexts) > 8:
                self._contexts.clear()
            ctx = build.Context(self.pub, month=key.month, as_of=date.fromisoformat(key.day),
                                site_url=config.site_url())
            self._contexts[(key.month, key.day)] = ctx
        return ctx

    def next_key(self) -> cache.Key | None:
        """A queued report of the current publication (stale jobs are dropped), else a default
        report not made yet, else None."""
        stamp = downloads.stamp(self.pub.published_at)
        for key in cache.queued(self.published):
            if key.stamp != stamp or cache.path(self.published, key).exists():
                cache.done(self.published, key)
                continue
            return key
        for key in default_keys(self.pub):
            if not cache.path(self.published, key).exists():
                return key
        return None

    def make(self, key: cache.Key) -> Path | None:
        """Make one report atomically; a report that cannot be made (an unknown code, a month not
        published) is dropped from the queue with the reason logged."""
        from ..errors import UptakeError

        target = cache.path(self.published, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        try:
            batch.write_one(self.context(key), key.code, target)  # atomically
        except (UptakeError, LookupError) as exc:
            log.warning("report %s not made: %s", key.name, exc)
            target = None
        finally:
            cache.done(self.published, key)
        if target is not None:
            log.info("made report %s/%s in %.1f s", key.stamp, key.name, time.perf_counter() - started)
        cache.prune(self.published, keep={cache.path(self.published, k) for k in default_keys(self.pub)})
        return target

    def step(self) -> bool:
        """Do one piece of work; False when there was none."""
        if not self.refresh():
            return False
        key = self.next_key()
        if key is None:
            return False
        self.make(key)
        return True


def run(published: Path, *, poll: float = 1.0, stop: Callable[[], bool] = lambda: False) -> None:
    """Build until `stop()`: one builder per publication folder (the others wait for the lock)."""
    try:
        os.nice(10)
    except OSError:
        pass
    folder = cache.root(published)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "builder.lock", "a+") as lock:
        while not stop():
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                time.sleep(poll)
        else:
            return
        sweep_temporary(folder)
        builder = Builder(published)
        while not stop():
            try:
                worked = builder.step()
            except Exception:  # one bad report never stops the builder
                log.exception("the report builder failed; trying again")
                worked = False
            if not worked:
                time.sleep(poll)
