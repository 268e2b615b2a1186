"""What to fetch: the publisher's listing set against what the warehouse holds.

The warehouse's state and load ledger say what is loaded (per dataset, the current partitions;
per load, the file, its SHA-256 and the partitions it wrote). `fetched.json`, beside the
downloads, remembers for each item fetched what the publisher said about it then (URL, size,
checksum, last-modified, ETag) and the SHA-256 of every file loaded from it. An item is
**up to date** when the publisher still describes it as it did, and every file loaded from it
is still current in the warehouse (its load is in the ledger and no later load replaced its
partitions).

`uptake update` fetches, per source:

- monthly and yearly series: every period after the latest one loaded (or, for a dataset with
  nothing loaded yet, the latest period published, or every period from ``--since``); and any
  period fetched before whose CKAN description has since changed (a revised file; SCMD's final
  replacing its provisional month);
- ODS: the current file, by a conditional request (``If-None-Match``/``If-Modified-Since``
  with the validators of the copy loaded), which costs nothing when it has not changed.

Periods that were loaded from elsewhere (``uptake ingest``, the demo) are left alone unless asked
for by ``uptake fetch SOURCE --months``/``--year``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ...errors import UptakeError
from .errors import NotPublished
from .publishers import Item, Source


# --- the fetch record ------------------------------------------------------------------------


class Record:
    """fetched.json: item key ('epd/2024-01') → what was fetched and loaded."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {}
        except ValueError:
            raise UptakeError(f"{path}: not JSON; it records what uptake fetched — remove it to start afresh "
                              "(what is loaded is kept in the warehouse's ledger)") from None
        self.items: dict[str, dict] = data.get("items", {}) if isinstance(data, dict) else {}

    def get(self, key: str) -> dict | None:
        return self.items.get(key)

    def put(self, key: str, entry: dict) -> None:
        self.items[key] = entry
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"version": 1, "items": self.items}, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


# --- what the warehouse holds --------------------------------------------------------------------


class Loaded:
    """The warehouse's state: current partitions per dataset, and which loads are still current."""

    def __init__(self, state: dict, is_current: Callable[[dict, dict], bool]) -> None:
        """`is_current(state, load)`: whether everything a load wrote is still current (the
        warehouse's rule, `warehouse.coverage.load_is_current`)."""
        self.state = state
        self._is_current_in = is_current
        self.partitions: dict[str, set[str]] = {name: set(parts) for name, parts in state.get("datasets", {}).items()}
        self._current: dict[str, dict] = {}
        for load in state.get("loads", []):
            if load.get("sha256") and self._is_current(load):
                self._current[load["sha256"]] = load

    def _is_current(self, load: dict) -> bool:
        return self._is_current_in(self.state, load)

    def current(self, sha256: str | None) -> dict | None:
        """The current load of the file with this SHA-256, if any."""
        return self._current.get(sha256 or "")

    def last(self, dataset: str) -> str | None:
        parts = self.partitions.get(dataset)
        return max(parts) if parts else None

    def has(self, dataset: str, period: str) -> bool:
        return period in self.partitions.get(dataset, set())


# --- the plan ---------------------------------------------------------------------------------


@dataclass
class Step:
    item: Item
    action: str  # "fetch" | "skip"
    reason: str
    conditional: bool = False  # ask with the validators of the loaded copy (not modified → nothing)

    def to_dict(self) -> dict:
        return {"source": self.item.source, "period": self.item.period, "name": self.item.name,
                "action": self.action, "reason": self.reason, "url": self.item.url or self.item.page}


def same_remote(item: Item, entry: dict) -> bool:
    """The publisher describes `item` as it did when `entry` was fetched."""
    if item.url and entry.get("url") and item.url != entry["url"]:
        return False
    for key in ("size", "hash", "modified"):
        new = getattr(item, key)
        if new is not None and entry.get(key) is not None and new != entry[key]:
            return False
    return True


def files_current(entry: dict | None, loaded: Loaded) -> bool:
    files = (entry or {}).get("files") or []
    return bool(files) and all(loaded.current(f.get("sha256")) for f in files)


def up_to_date(item: Item, entry: dict | None, loaded: Loaded) -> bool:
    return entry is not None and same_remote(item, entry) and files_current(entry, loaded)


def plan_periods(src: Source, items: list[Item], periods: list[str] | None, loaded: Loaded, record: Record,
                 force: bool = False) -> list[Step]:
    """`uptake fetch SOURCE`: the periods asked for (default: the latest published)."""
    if not items:
        raise NotPublished(f"the publisher lists no {src.title} files")
    by_period = {i.period: i for i in items}
    if src.period == "current":
        wanted = [items[-1].period]
    elif not periods:
        wanted = [items[-1].period]
    else:
        missing = [p for p in periods if p not in by_period]
        if missing:
            shown = ", ".join(missing[:6]) + (" ..." if len(missing) > 6 else "")
            raise NotPublished(f"{src.title}: {shown} not published (the publisher lists {len(items)} "
                               f"{'months' if src.period == 'month' else 'years'}, {items[0].period} to "
                               f"{items[-1].period})")
        wanted = periods
    steps = []
    for period in wanted:
        item = by_period[period]
        entry = record.get(item.key)
        if not force and up_to_date(item, entry, loaded):
            if src.period == "current":
                steps.append(Step(item, "fetch", "checking for a newer file", conditional=True))
            else:
                steps.append(Step(item, "skip", "already loaded, unchanged at the publisher"))
        else:
            steps.append(Step(item, "fetch", "asked for" if entry is None else "asked for; not loaded or changed"))
    return steps


def plan_update(src: Source, items: list[Item], loaded: Loaded, record: Record, since: str | None = None) -> list[Step]:
    """`uptake update`: what is new since the last load (see the module's docstring)."""
    if src.period == "current":
        if not items:
            return []
        item = items[-1]
        entry = record.get(item.key)
        current = files_current(entry, loaded)
        return [Step(item, "fetch", "checking for a newer file" if current else "not loaded yet", conditional=current)]
    last = loaded.last(src.dataset)
    start = _period_of(since, src.period) if since else None
    steps = []
    for item in items:
        entry = record.get(item.key)
        if up_to_date(item, entry, loaded):
            continue
        if start is not None and item.period >= start and not loaded.has(src.dataset, item.period):
            steps.append(Step(item, "fetch", f"not loaded (from --since {since})"))
        elif last is not None and item.period > last:
            steps.append(Step(item, "fetch", f"published after the latest loaded ({last})"))
        elif entry is not None and not same_remote(item, entry):
            steps.append(Step(item, "fetch", "revised by the publisher since it was fetched"))
    if last is None and start is None and items:
        steps = [Step(items[-1], "fetch", "nothing loaded yet: the latest published (--since for more)")]
    return steps


# --- periods as written on the command line --------------------------------------------------------

_MONTH = re.compile(r"(\d{4})[-_/]?(\d{2})")
_YEAR = re.compile(r"(\d{4})-(\d{2}|\d{4})")


def _period_of(text: str, kind: str) -> str:
    """A --since month (YYYY-MM) as a period of `kind`: for a yearly series, the financial year
    (April to March) holding that month."""
    month = parse_month(text)
    if kind != "year":
        return month
    y, m = int(month[:4]), int(month[5:])
    first = y if m >= 4 else y - 1
    return f"{first}-{(first + 1) % 100:02d}"


def parse_month(text: str) -> str:
    m = _MONTH.fullmatch(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise UptakeError(f"{text!r} is not a month; expected YYYY-MM (e.g. 2024-01)")
    return f"{m.group(1)}-{m.group(2)}"


def parse_year(text: str) -> str:
    m = _YEAR.fullmatch(text.strip())
    if m:
        second = int(m.group(2)) % 100
        if (int(m.group(1)) + 1) % 100 == second:
            return f"{m.group(1)}-{second:02d}"
    raise UptakeError(f"{text!r} is not a financial year; expected YYYY-YY (e.g. 2023-24)")


def parse_periods(text: str, kind: str) -> list[str]:
    """'2024-01..2024-12', '2024-01,2024-03', '2023-24' → the periods, in order, without repeats."""
    parse = parse_month if kind == "month" else parse_year
    out: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if ".." in part:
            first, _, last = part.partition("..")
            a, b = parse(first), parse(last)
            if b < a:
                raise UptakeError(f"{part!r}: the range runs backwards; expected FIRST..LAST")
            out.extend(_span(a, b, kind))
        else:
            out.append(parse(part))
    if not out:
        raise UptakeError(f"{text!r}: no {'months' if kind == 'month' else 'years'}; expected e.g. "
                          + ("2024-01..2024-12" if kind == "month" else "2023-24"))
    return list(dict.fromkeys(out))


def _span(a: str, b: str, kind: str) -> list[str]:
    out = []
    if kind == "month":
        y, m = int(a[:4]), int(a[5:])
        while f"{y:04d}-{m:02d}" <= b:
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    else:
        for y in range(int(a[:4]), int(b[:4]) + 1):
            out.append(f"{y}-{(y + 1) % 100:02d}")
    if len(out) > 1200:
        raise UptakeError(f"{a}..{b}: {len(out)} periods; expected a range of at most 100 years")
    return out
