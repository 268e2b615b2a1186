"""Measures: a numerator and a denominator of prescribing, defined by BNF code prefixes.

Kept as reviewed data files (``data/measures/<id>.yaml``), one per measure, like
OpenPrescribing's measure definitions: what is counted above and below the line, which way is
better, why it matters and where the definition comes from. The engine computes every measure
for every organisation and month exactly as it computes a TA's uptake.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .loader import DATA_DIR, CatalogueError, _read_yaml

MEASURE_DIR = DATA_DIR / "measures"
UNITS = ("items", "quantity", "actual_cost")
DIRECTIONS = ("higher", "lower", "none")
_CODE = re.compile(r"^[0-9A-Z]{2,15}$")
_REQUIRED = ("id", "title", "description", "why_it_matters", "numerator", "denominator", "direction",
             "technology_appraisals", "clinical_area", "sources", "reviewed")


@dataclass(frozen=True)
class Measure:
    id: str
    title: str
    description: str
    why_it_matters: str
    unit: str  # what is summed on both sides: items, quantity or actual_cost
    numerator_codes: tuple[str, ...]
    denominator_codes: tuple[str, ...]
    direction: str  # 'higher' is better, 'lower' is better, or 'none'
    technology_appraisals: tuple[str, ...]
    clinical_area: str
    sources: tuple[str, ...]
    reviewed: dt.date
    verified: bool
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        for k in ("numerator_codes", "denominator_codes", "technology_appraisals", "sources"):
            d[k] = list(d[k])
        d["reviewed"] = self.reviewed.isoformat()
        return d


def _codes(doc: dict, part: str, path: Path) -> tuple[str, tuple[str, ...]]:
    block = doc.get(part)
    if not isinstance(block, dict) or not isinstance(block.get("bnf_codes"), list) or not block["bnf_codes"]:
        raise CatalogueError(path, "expected a mapping with 'unit' and a non-empty list 'bnf_codes'", field=part)
    unit = block.get("unit")
    if unit not in UNITS:
        raise CatalogueError(path, f"unit {unit!r}; expected one of {', '.join(UNITS)}", field=f"{part}.unit")
    codes = tuple(str(c) for c in block["bnf_codes"])
    for i, code in enumerate(codes):
        if not _CODE.match(code):
            raise CatalogueError(path, f"{code!r} is not a BNF code prefix; expected 2 to 15 letters and digits",
                                 field=f"{part}.bnf_codes[{i}]")
    return unit, codes


def _load_measure(path: Path) -> Measure:
    doc = _read_yaml(path)
    if not isinstance(doc, dict):
        raise CatalogueError(path, "expected a YAML mapping")
    for key in _REQUIRED:
        if key not in doc:
            raise CatalogueError(path, "missing; every measure needs it", field=key)
    if doc["id"] != path.stem:
        raise CatalogueError(path, f"id {doc['id']!r} differs from the file name; expected {path.stem!r}", field="id")
    num_unit, num = _codes(doc, "numerator", path)
    den_unit, den = _codes(doc, "denominator", path)
    if num_unit != den_unit:
        raise CatalogueError(path, f"numerator counts {num_unit} but denominator {den_unit}; expected the same unit",
                             field="denominator.unit")
    if doc["direction"] not in DIRECTIONS:
        raise CatalogueError(path, f"{doc['direction']!r}; expected one of {', '.join(DIRECTIONS)}", field="direction")
    try:
        reviewed = dt.date.fromisoformat(str(doc["reviewed"]))
    except ValueError:
        raise CatalogueError(path, f"{doc['reviewed']!r}; expected a date YYYY-MM-DD", field="reviewed") from None
    return Measure(
        id=doc["id"], title=doc["title"], description=doc["description"], why_it_matters=doc["why_it_matters"],
        unit=num_unit, numerator_codes=num, denominator_codes=den, direction=doc["direction"],
        technology_appraisals=tuple(doc["technology_appraisals"]), clinical_area=doc["clinical_area"],
        sources=tuple(doc["sources"]), reviewed=reviewed, verified=bool(doc.get("verified", False)),
        notes=doc.get("notes", ""),
    )


@functools.lru_cache(maxsize=4)
def load_measures(folder: str | Path | None = None) -> tuple[Measure, ...]:
    """Every measure in the folder (default: the package's own), in id order."""
    root = Path(folder) if folder is not None else MEASURE_DIR
    return tuple(_load_measure(p) for p in sorted(root.glob("*.yaml")))


def measure(measure_id: str) -> Measure:
    for m in load_measures():
        if m.id == measure_id:
            return m
    known = ", ".join(m.id for m in load_measures())
    raise CatalogueError(MEASURE_DIR, f"no measure {measure_id!r}; expected one of: {known}")
