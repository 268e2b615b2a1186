"""Measures: a numerator and a denominator of prescribing, defined by BNF code prefixes.

Kept as reviewed data files (``data/measures/<id>.yaml``), one per measure, like
OpenPrescribing's measure definitions: what is counted above and below the line, which way is
better, why it matters and where the definition comes from. The engine computes every measure
for every organisation and month exactly as it computes a TA's uptake.

Two kinds (docs/metrics.md, "Measures"):

- a **proportion**: numerator and denominator are both prescribing, summed in the same `unit`
  (items, quantity or actual_cost); value = numerator ÷ denominator. The numerator's codes must
  lie inside the denominator's, so the value is a share between 0 and 1;
- a rate **per registered patients**: ``denominator: {population: registered, per: 1000}``;
  value = numerator × per ÷ registered patients (all ages).

A part lists BNF code prefixes of 2 to 15 characters (``bnf_codes``: a chapter, a section, a
chemical, a product or a presentation) and, optionally, prefixes to leave out
(``exclude_bnf_codes``, each inside one of the part's own prefixes). A numerator may count only
prescription items of more than a given quantity each (``item_quantity_above``), which needs
practice-level prescribing (the EPD's QUANTITY per item): such a measure is computed from
practice-level rows only.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .layout import MEASURES_DIR
from .loader import DATA_DIR, CatalogueError, _read_yaml

MEASURE_DIR = DATA_DIR / MEASURES_DIR
UNITS = ("items", "quantity", "actual_cost")
DIRECTIONS = ("higher", "lower", "none")
POPULATIONS = ("registered",)
KINDS = ("proportion", "per_registered")
_CODE = re.compile(r"^[0-9A-Z]{2,15}$")
_ID = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_REQUIRED = ("id", "title", "description", "why_it_matters", "numerator", "denominator", "direction",
             "technology_appraisals", "clinical_area", "sources", "reviewed")
_NUMERATOR_KEYS = {"unit", "bnf_codes", "exclude_bnf_codes", "item_quantity_above"}
_CODES_KEYS = {"unit", "bnf_codes", "exclude_bnf_codes"}
_POPULATION_KEYS = {"population", "per"}


@dataclass(frozen=True)
class Measure:
    id: str
    title: str
    description: str
    why_it_matters: str
    unit: str  # what the numerator sums (and the denominator, for a proportion): items, quantity or actual_cost
    numerator_codes: tuple[str, ...]
    denominator_codes: tuple[str, ...]  # empty for a rate per registered patients
    direction: str  # 'higher' is better, 'lower' is better, or 'none'
    technology_appraisals: tuple[str, ...]
    clinical_area: str
    sources: tuple[str, ...]
    reviewed: dt.date
    verified: bool
    notes: str = ""
    numerator_exclude: tuple[str, ...] = ()
    denominator_exclude: tuple[str, ...] = ()
    item_quantity_above: float | None = None  # numerator: only items of more than this quantity each
    denominator_population: str | None = None  # 'registered': registered patients, all ages
    per: float = 1.0  # value = numerator × per ÷ denominator (1,000 for a rate per 1,000 patients)
    unverified_codes: tuple[str, ...] = ()  # codes not found in the BNF file the entry was checked against

    @property
    def kind(self) -> str:
        """'proportion' (prescribing ÷ prescribing) or 'per_registered' (per registered patients)."""
        return "per_registered" if self.denominator_population else "proportion"

    @property
    def needs_item_quantity(self) -> bool:
        """True when the measure needs the quantity of each item, so practice-level rows only."""
        return self.item_quantity_above is not None

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        for k in ("numerator_codes", "denominator_codes", "technology_appraisals", "sources",
                  "numerator_exclude", "denominator_exclude", "unverified_codes"):
            d[k] = list(d[k])
        d["reviewed"] = self.reviewed.isoformat()
        d["kind"] = self.kind
        return d


def _code_list(value: Any, path: Path, field: str, *, required: bool) -> tuple[str, ...]:
    if value is None and not required:
        return ()
    if not isinstance(value, list) or (required and not value):
        raise CatalogueError(path, "expected a non-empty list of BNF code prefixes" if required
                             else "expected a list of BNF code prefixes", field=field)
    codes = []
    for i, code in enumerate(value):
        if not isinstance(code, str):
            raise CatalogueError(path, f"{code!r} is {type(code).__name__}, not text; quote BNF codes in YAML "
                                 "(an unquoted 040702 or 21010900637 is read as a number)", field=f"{field}[{i}]")
        if not _CODE.match(code):
            raise CatalogueError(path, f"{code!r} is not a BNF code prefix; expected 2 to 15 capital letters "
                                 "and digits", field=f"{field}[{i}]")
        if code in codes:
            raise CatalogueError(path, f"{code!r} is listed twice", field=f"{field}[{i}]")
        codes.append(code)
    return tuple(codes)


def _no_nesting(codes: tuple[str, ...], path: Path, field: str) -> None:
    """No prefix of a part inside another of the same part: a row would be counted twice."""
    for i, code in enumerate(codes):
        for other in codes:
            if other != code and code.startswith(other):
                raise CatalogueError(path, f"{code!r} lies inside {other!r}, also listed: its rows would be "
                                     "counted twice; keep one", field=f"{field}[{i}]")


def _inside(excluded: tuple[str, ...], included: tuple[str, ...], path: Path, field: str) -> None:
    for i, code in enumerate(excluded):
        if not any(code.startswith(c) and code != c for c in included):
            raise CatalogueError(path, f"{code!r} is not inside any of the part's bnf_codes; an exclusion must "
                                 "narrow one of them", field=f"{field}[{i}]")


def _part(doc: dict, part: str, path: Path) -> dict[str, Any]:
    block = doc.get(part)
    if not isinstance(block, dict):
        raise CatalogueError(path, "expected a mapping with 'unit' and 'bnf_codes'"
                             + (", or 'population' and 'per'" if part == "denominator" else ""), field=part)
    if part == "denominator" and "population" in block:
        unknown = set(block) - _POPULATION_KEYS
        if unknown:
            raise CatalogueError(path, f"unexpected {', '.join(sorted(unknown))}; a population denominator has "
                                 "only 'population' and 'per'", field=f"{part}.{sorted(unknown)[0]}")
        if block["population"] not in POPULATIONS:
            raise CatalogueError(path, f"{block['population']!r}; expected one of {', '.join(POPULATIONS)}",
                                 field=f"{part}.population")
        per = block.get("per", 1000)
        if isinstance(per, bool) or not isinstance(per, (int, float)) or per <= 0:
            raise CatalogueError(path, f"{per!r}; expected a positive number of patients (e.g. 1000)",
                                 field=f"{part}.per")
        return {"population": block["population"], "per": float(per)}
    allowed = _NUMERATOR_KEYS if part == "numerator" else _CODES_KEYS
    unknown = set(block) - allowed
    if unknown:
        raise CatalogueError(path, f"unexpected {', '.join(sorted(unknown))}; expected only "
                             f"{', '.join(sorted(allowed))}", field=f"{part}.{sorted(unknown)[0]}")
    unit = block.get("unit")
    if unit not in UNITS:
        raise CatalogueError(path, f"unit {unit!r}; expected one of {', '.join(UNITS)}", field=f"{part}.unit")
    codes = _code_list(block.get("bnf_codes"), path, f"{part}.bnf_codes", required=True)
    _no_nesting(codes, path, f"{part}.bnf_codes")
    exclude = _code_list(block.get("exclude_bnf_codes"), path, f"{part}.exclude_bnf_codes", required=False)
    _no_nesting(exclude, path, f"{part}.exclude_bnf_codes")
    _inside(exclude, codes, path, f"{part}.exclude_bnf_codes")
    above = block.get("item_quantity_above")
    if above is not None and (isinstance(above, bool) or not isinstance(above, (int, float)) or above < 0):
        raise CatalogueError(path, f"{above!r}; expected a quantity per item, a number of 0 or more",
                             field=f"{part}.item_quantity_above")
    return {"unit": unit, "codes": codes, "exclude": exclude,
            "above": float(above) if above is not None else None}


def _excluded(code: str, exclude: tuple[str, ...]) -> bool:
    return any(code.startswith(x) for x in exclude)


def _check_subset(num: dict, den: dict, path: Path) -> None:
    """A proportion's numerator counts only rows its denominator counts (a share of at most 1):
    every numerator prefix lies inside a denominator prefix, and whatever the denominator leaves
    out inside a numerator prefix, the numerator leaves out too."""
    for i, code in enumerate(num["codes"]):
        if not any(code.startswith(d) for d in den["codes"]):
            raise CatalogueError(path, f"{code!r} is not inside any denominator code; a proportion's numerator "
                                 "must count only what its denominator counts", field=f"numerator.bnf_codes[{i}]")
        if _excluded(code, den["exclude"]):
            raise CatalogueError(path, f"{code!r} is excluded from the denominator; a proportion's numerator "
                                 "must count only what its denominator counts", field=f"numerator.bnf_codes[{i}]")
    for j, dx in enumerate(den["exclude"]):
        for code in num["codes"]:
            if dx.startswith(code) and not _excluded(dx, num["exclude"]):
                raise CatalogueError(path, f"the denominator leaves out {dx!r}, but the numerator counts it "
                                     f"(inside {code!r}); exclude it from the numerator too",
                                     field=f"denominator.exclude_bnf_codes[{j}]")


def _load_measure(path: Path) -> Measure:
    doc = _read_yaml(path)
    if not isinstance(doc, dict):
        raise CatalogueError(path, "expected a YAML mapping")
    for key in _REQUIRED:
        if key not in doc:
            raise CatalogueError(path, "missing; every measure needs it", field=key)
    if doc["id"] != path.stem:
        raise CatalogueError(path, f"id {doc['id']!r} differs from the file name; expected {path.stem!r}", field="id")
    if not isinstance(doc["id"], str) or not _ID.match(doc["id"]):
        raise CatalogueError(path, f"{doc['id']!r}; expected lower-case letters, digits and underscores", field="id")
    num = _part(doc, "numerator", path)
    den = _part(doc, "denominator", path)
    if "population" in den:
        population, per = den["population"], den["per"]
        den_codes: tuple[str, ...] = ()
        den_exclude: tuple[str, ...] = ()
    else:
        population, per, den_codes, den_exclude = None, 1.0, den["codes"], den["exclude"]
        if num["unit"] != den["unit"]:
            raise CatalogueError(path, f"numerator counts {num['unit']} but denominator {den['unit']}; expected "
                                 "the same unit", field="denominator.unit")
        _check_subset(num, den, path)
    if doc["direction"] not in DIRECTIONS:
        raise CatalogueError(path, f"{doc['direction']!r}; expected one of {', '.join(DIRECTIONS)}", field="direction")
    try:
        reviewed = dt.date.fromisoformat(str(doc["reviewed"]))
    except ValueError:
        raise CatalogueError(path, f"{doc['reviewed']!r}; expected a date YYYY-MM-DD", field="reviewed") from None
    sources = doc["sources"]
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) and s.strip() for s in sources):
        raise CatalogueError(path, "expected a non-empty list of the sources read", field="sources")
    unverified = _code_list(doc.get("unverified_codes"), path, "unverified_codes", required=False)
    listed = set(num["codes"]) | set(num["exclude"]) | set(den_codes) | set(den_exclude)
    for i, code in enumerate(unverified):
        if code not in listed:
            raise CatalogueError(path, f"{code!r} is not one of the measure's codes", field=f"unverified_codes[{i}]")
    return Measure(
        id=doc["id"], title=doc["title"], description=doc["description"], why_it_matters=doc["why_it_matters"],
        unit=num["unit"], numerator_codes=num["codes"], denominator_codes=den_codes, direction=doc["direction"],
        technology_appraisals=tuple(doc["technology_appraisals"] or ()), clinical_area=doc["clinical_area"],
        sources=tuple(sources), reviewed=reviewed, verified=bool(doc.get("verified", False)),
        notes=doc.get("notes", "") or "", numerator_exclude=num["exclude"], denominator_exclude=den_exclude,
        item_quantity_above=num["above"], denominator_population=population, per=per,
        unverified_codes=unverified,
    )


def load_measures(folder: str | Path | None = None) -> tuple[Measure, ...]:
    """Every measure in the folder (default: the package's own, merged with the measures/ of
    the user's catalogue folder, `user.py`), in id order."""
    if folder is not None:
        return _load_folder(str(folder))
    return _load_merged(_user_measures())[0]


def measure_origin(measure_id: str) -> str:
    """Where a measure came from: "built-in", or the file of a user's catalogue."""
    return _load_merged(_user_measures())[1].get(measure_id, "built-in")


def _user_measures() -> str | None:
    from .user import MEASURES, user_dir

    user = user_dir()
    return str(user / MEASURES) if user is not None and (user / MEASURES).is_dir() else None


@functools.lru_cache(maxsize=4)
def _load_folder(folder: str) -> tuple[Measure, ...]:
    return tuple(_load_measure(p) for p in sorted(Path(folder).glob("*.yaml")))


@functools.lru_cache(maxsize=4)
def _load_merged(user: str | None) -> tuple[tuple[Measure, ...], dict[str, str]]:
    from .user import merge

    own = {} if user is None else {p.stem: (_load_measure(p), p) for p in sorted(Path(user).glob("*.yaml"))}
    measures, origins = merge({m.id: m for m in _load_folder(str(MEASURE_DIR))}, own)
    return tuple(sorted(measures.values(), key=lambda m: m.id)), origins


def measure(measure_id: str) -> Measure:
    for m in load_measures():
        if m.id == measure_id:
            return m
    known = ", ".join(m.id for m in load_measures())
    raise CatalogueError(MEASURE_DIR, f"no measure {measure_id!r}; expected one of: {known}")
