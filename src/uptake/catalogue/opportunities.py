"""NHS England's national medicines optimisation opportunities (16, 2023/24 and 2024/25).

Reviewed data files, one per opportunity (``data/opportunities/<id>.yaml``), validated when
loaded: its number and title in NHS England's alphabetical list, its group, whether NHS England
asked ICBs to focus on it in 2024/25, what it is about, the catalogue measures that show it in
primary-care prescribing (and the one that ranks an ICB), the benchmark an ICB is held to (NHS
England's target where one exists, otherwise the best quartile of ICBs), the 2024/25 "80%
rules", and what data the warehouse lacks where nothing can be measured. docs/catalogue.md
describes every field::

    from uptake.catalogue import load_opportunities, opportunity
    for o in load_opportunities():
        o.number, o.title, o.headline_measure, o.benchmark.kind, o.coverage
    opportunity("af-best-value-doacs"), opportunity(9)
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .loader import DATA_DIR, CatalogueError, UnknownEntry, _read_yaml
from .measures import MEASURE_DIR, Measure, load_measures

OPPORTUNITY_DIR = DATA_DIR / "opportunities"
COUNT = 16
GROUPS = ("appropriate use, access and uptake", "specific clinical areas")
YEARS = ("2023/24", "2024/25")
SETTINGS = ("primary_care", "secondary_care", "both")
BENCHMARKS = ("target", "best_quartile", "none")
_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_TARGET_ID = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")
_REQUIRED = ("id", "number", "title", "title_verified", "group", "years", "focus_2024_25", "setting",
             "description", "why_it_matters", "measures", "headline_measure", "benchmark", "data_needed",
             "sources", "reviewed", "verified", "notes")
_OPTIONAL = ("targets",)


@dataclass(frozen=True)
class Benchmark:
    """What an ICB's headline value is compared with.

    kind 'target': NHS England's figure, `value` on the headline measure's scale (a ceiling when
    lower is better, a floor when higher is better); 'best_quartile': no national target, so the
    best quarter of ICBs: `centile` 25 when lower is better, 75 when higher is (value null:
    computed from the data); 'none': nothing to compare with."""

    kind: str
    value: float | None
    centile: int | None
    source: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Target:
    """A national target attached to an opportunity, e.g. the 2024/25 "80% rules"."""

    id: str
    text: str
    value: float  # a share, 0..1, as NHS England states it
    source: str
    verified: bool

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Opportunity:
    id: str
    number: int  # 1..16, NHS England's alphabetical order
    title: str
    title_verified: bool  # False: the wording was not read in NHS England's list (see notes)
    group: str  # 'appropriate use, access and uptake' or 'specific clinical areas'
    years: tuple[str, ...]  # ('2023/24', '2024/25')
    focus_2024_25: bool  # one of the four (4, 6, 8, 9) NHS England asked ICBs to focus on for efficiency
    setting: str | None  # primary_care, secondary_care or both; None when the opportunity itself is unknown
    description: str
    why_it_matters: str
    measures: tuple[str, ...]  # catalogue measure ids (may be empty)
    headline_measure: str | None  # the measure that ranks an ICB; None when none does
    benchmark: Benchmark
    targets: tuple[Target, ...]
    data_needed: str | None  # what the warehouse lacks to measure it (None when the measures suffice)
    sources: tuple[str, ...]
    reviewed: dt.date
    verified: bool  # number, title and group read in NHS England's list (or a source quoting it)
    notes: str

    @property
    def coverage(self) -> str:
        """'measured' (a headline measure ranks ICBs), 'context' (measures but none ranks ICBs) or
        'not_measured'."""
        if self.headline_measure:
            return "measured"
        return "context" if self.measures else "not_measured"

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        for k in ("years", "measures", "sources"):
            d[k] = list(d[k])
        d["benchmark"] = self.benchmark.to_dict()
        d["targets"] = [t.to_dict() for t in self.targets]
        d["reviewed"] = self.reviewed.isoformat()
        d["coverage"] = self.coverage
        return d


# --------------------------------------------------------------------------- validation


def _text(doc: dict, key: str, path: Path, *, allow_none: bool = False) -> str | None:
    value = doc.get(key)
    if value is None and allow_none:
        return None
    if not isinstance(value, str) or not value.strip():
        raise CatalogueError(path, f"expected text{' or null' if allow_none else ''}, got {value!r}", field=key)
    return " ".join(value.split())


def _bool(doc: dict, key: str, path: Path) -> bool:
    value = doc.get(key)
    if not isinstance(value, bool):
        raise CatalogueError(path, f"expected true or false, got {value!r}", field=key)
    return value


def _share(value: Any, path: Path, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise CatalogueError(path, f"expected a share between 0 and 1, got {value!r}", field=field)
    return float(value)


def _benchmark(doc: dict, headline: Measure | None, path: Path) -> Benchmark:
    block = doc["benchmark"]
    if not isinstance(block, dict):
        raise CatalogueError(path, "expected a mapping with kind, value and source", field="benchmark")
    unknown = set(block) - {"kind", "value", "source"}
    if unknown:
        raise CatalogueError(path, f"unexpected {sorted(unknown)[0]!r}; expected kind, value and source",
                             field=f"benchmark.{sorted(unknown)[0]}")
    kind = block.get("kind")
    if kind not in BENCHMARKS:
        raise CatalogueError(path, f"{kind!r}; expected one of {', '.join(BENCHMARKS)}", field="benchmark.kind")
    source = block.get("source")
    if not isinstance(source, str) or not source.strip():
        raise CatalogueError(path, "expected text saying where the benchmark comes from", field="benchmark.source")
    value, centile = block.get("value"), None
    if kind == "target":
        value = _share(value, path, "benchmark.value")
    elif value is not None:
        raise CatalogueError(path, f"{value!r}; a {kind} benchmark has no value (null)"
                             + (": the best quartile is computed from the data" if kind == "best_quartile" else ""),
                             field="benchmark.value")
    if kind == "best_quartile":
        if headline is None or headline.direction not in ("higher", "lower"):
            raise CatalogueError(path, "a best-quartile benchmark needs a headline measure whose direction is "
                                 "higher or lower", field="benchmark.kind")
        centile = 25 if headline.direction == "lower" else 75
    return Benchmark(kind=kind, value=value, centile=centile, source=" ".join(source.split()))


def _targets(doc: dict, path: Path) -> tuple[Target, ...]:
    raw = doc.get("targets") or []
    if not isinstance(raw, list):
        raise CatalogueError(path, "expected a list of targets", field="targets")
    out = []
    for i, t in enumerate(raw):
        where = f"targets[{i}]"
        if not isinstance(t, dict):
            raise CatalogueError(path, "expected a mapping with id, text, value, source and verified", field=where)
        for key in ("id", "text", "value", "source", "verified"):
            if key not in t:
                raise CatalogueError(path, "missing; every target needs it", field=f"{where}.{key}")
        if not isinstance(t["id"], str) or not _TARGET_ID.match(t["id"]):
            raise CatalogueError(path, f"{t['id']!r}; expected lower-case words joined by _", field=f"{where}.id")
        if not isinstance(t["verified"], bool):
            raise CatalogueError(path, f"expected true or false, got {t['verified']!r}", field=f"{where}.verified")
        for key in ("text", "source"):
            if not isinstance(t[key], str) or not t[key].strip():
                raise CatalogueError(path, f"expected text, got {t[key]!r}", field=f"{where}.{key}")
        out.append(Target(id=t["id"], text=" ".join(t["text"].split()), value=_share(t["value"], path, f"{where}.value"),
                          source=" ".join(t["source"].split()), verified=t["verified"]))
    return tuple(out)


def _load(path: Path, measures: dict[str, Measure]) -> Opportunity:
    doc = _read_yaml(path)
    if not isinstance(doc, dict):
        raise CatalogueError(path, "expected a YAML mapping")
    for key in _REQUIRED:
        if key not in doc:
            raise CatalogueError(path, "missing; every opportunity needs it (null where it has no value)", field=key)
    unknown = set(doc) - set(_REQUIRED) - set(_OPTIONAL)
    if unknown:
        raise CatalogueError(path, f"unexpected field; expected only {', '.join(_REQUIRED + _OPTIONAL)}",
                             field=sorted(unknown)[0])
    oid = doc["id"]
    if not isinstance(oid, str) or not _ID.match(oid):
        raise CatalogueError(path, f"{oid!r}; expected a slug: lower-case words joined by -", field="id")
    if oid != path.stem:
        raise CatalogueError(path, f"id {oid!r} differs from the file name; expected {path.stem!r}", field="id")
    number = doc["number"]
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= COUNT:
        raise CatalogueError(path, f"{number!r}; expected a whole number from 1 to {COUNT}", field="number")
    group = doc["group"]
    if group not in GROUPS:
        raise CatalogueError(path, f"{group!r}; expected one of: {'; '.join(GROUPS)}", field="group")
    want = GROUPS[0] if number <= 6 else GROUPS[1]
    if group != want:
        raise CatalogueError(path, f"{group!r}; opportunity {number} is in {want!r} (1-6 and 7-16)", field="group")
    years = doc["years"]
    if not isinstance(years, list) or not years or any(y not in YEARS for y in years) or len(set(years)) != len(years):
        raise CatalogueError(path, f"{years!r}; expected a list of years from {', '.join(YEARS)}", field="years")
    setting = doc["setting"]
    if setting is not None and setting not in SETTINGS:
        raise CatalogueError(path, f"{setting!r}; expected one of {', '.join(SETTINGS)} or null", field="setting")
    ids = doc["measures"]
    if not isinstance(ids, list):
        raise CatalogueError(path, f"{ids!r}; expected a list of measure ids (may be empty)", field="measures")
    for i, mid in enumerate(ids):
        if mid not in measures:
            close = difflib.get_close_matches(str(mid), list(measures), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; the measures are in {MEASURE_DIR}"
            raise CatalogueError(path, f"no measure {mid!r} in the catalogue{hint}", field=f"measures[{i}]")
        if mid in ids[:i]:
            raise CatalogueError(path, f"{mid!r} is listed twice", field=f"measures[{i}]")
    headline = doc["headline_measure"]
    if headline is not None and headline not in ids:
        raise CatalogueError(path, f"{headline!r} is not one of this opportunity's measures", field="headline_measure")
    if headline is not None and measures[headline].direction == "none":
        raise CatalogueError(path, f"{headline!r} has no direction (none): it cannot rank ICBs; use null",
                             field="headline_measure")
    benchmark = _benchmark(doc, measures.get(headline) if headline else None, path)
    data_needed = _text(doc, "data_needed", path, allow_none=True)
    if headline is None and data_needed is None:
        raise CatalogueError(path, "null, but no measure ranks ICBs on this opportunity; say what data it needs",
                             field="data_needed")
    sources = doc["sources"]
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) and s.strip() for s in sources):
        raise CatalogueError(path, "expected a non-empty list of the sources read", field="sources")
    try:
        reviewed = dt.date.fromisoformat(str(doc["reviewed"]))
    except ValueError:
        raise CatalogueError(path, f"{doc['reviewed']!r}; expected a date YYYY-MM-DD", field="reviewed") from None
    title_verified = _bool(doc, "title_verified", path)
    notes = _text(doc, "notes", path, allow_none=True) or ""
    if not title_verified and "title" not in notes.lower():
        raise CatalogueError(path, "the title is not verified: the notes must say what is known of it and where it "
                             "was searched for", field="notes")
    verified = _bool(doc, "verified", path)
    if verified and not title_verified:
        raise CatalogueError(path, "true, but title_verified is false", field="verified")
    return Opportunity(
        id=oid, number=number, title=_text(doc, "title", path), title_verified=title_verified, group=group,
        years=tuple(years), focus_2024_25=_bool(doc, "focus_2024_25", path), setting=setting,
        description=_text(doc, "description", path), why_it_matters=_text(doc, "why_it_matters", path),
        measures=tuple(ids), headline_measure=headline, benchmark=benchmark, targets=_targets(doc, path),
        data_needed=data_needed, sources=tuple(" ".join(s.split()) for s in sources), reviewed=reviewed,
        verified=verified, notes=notes)


@functools.lru_cache(maxsize=4)
def load_opportunities(folder: str | Path | None = None, measure_folder: str | Path | None = None
                       ) -> tuple[Opportunity, ...]:
    """Every opportunity in `folder` (default: the package's own), by number; each measure id is
    checked against the measures of `measure_folder` (default: the package's own). The package's
    own catalogue must hold exactly the 16, numbered 1 to 16."""
    root = Path(folder) if folder is not None else OPPORTUNITY_DIR
    known = {m.id: m for m in load_measures(measure_folder)}
    out: list[Opportunity] = []
    seen: dict[int, Path] = {}
    for path in sorted(root.glob("*.yaml")):
        o = _load(path, known)
        if o.number in seen:
            raise CatalogueError(path, f"{o.number} is also the number of {seen[o.number].name}", field="number")
        seen[o.number] = path
        out.append(o)
    if folder is None and sorted(seen) != list(range(1, COUNT + 1)):
        missing = sorted(set(range(1, COUNT + 1)) - set(seen))
        raise CatalogueError(root, f"expected the {COUNT} opportunities numbered 1 to {COUNT}; missing {missing}")
    return tuple(sorted(out, key=lambda o: o.number))


def opportunity(key: str | int, folder: str | Path | None = None) -> Opportunity:
    """One opportunity by id ('af-best-value-doacs') or number (9, '9')."""
    all_ = load_opportunities(folder)
    text = str(key).strip().lower()
    for o in all_:
        if o.id == text or str(o.number) == text:
            return o
    close = difflib.get_close_matches(text, [o.id for o in all_], n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; expected an id or a number from 1 to {COUNT}"
    raise UnknownEntry(Path(folder) if folder is not None else OPPORTUNITY_DIR,
                       f"no opportunity {key!r}{hint}", key=key)
