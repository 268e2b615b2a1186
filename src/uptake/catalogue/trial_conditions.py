"""Each TA's condition as trial registries name it: the reviewed terms in
data/trial_conditions.yaml, and the rule that says whether a trial's registered conditions match.

    from uptake.catalogue.trial_conditions import load_trial_conditions
    conditions = load_trial_conditions()
    conditions.for_ta("TA275").matches(["Atrial Fibrillation", "Stroke"])   # True
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from uptake.catalogue.loader import DATA_DIR, CatalogueError, _read_yaml, load_catalogue

FILE = DATA_DIR / "trial_conditions.yaml"


def fold(text: str) -> str:
    """Lower case, punctuation as spaces, British spellings as American (ae/oe → e), one space
    between words, padded with a space each side so that ' term ' finds whole words."""
    text = re.sub(r"[^a-z0-9]+", " ", text.lower())
    text = re.sub(r"(?<=[a-z])(ae|oe)(?=[a-z])", "e", text)
    return f" {' '.join(text.split())} "


@dataclass(frozen=True)
class ConditionGroup:
    id: str
    name: str  # in plain words, for the public pages
    terms: tuple[str, ...]
    exclude: tuple[str, ...] = ()

    def matches(self, conditions: Iterable[str]) -> bool:
        """True when a registered condition holds a term as whole words, and none holds an
        excluded one."""
        folded = [fold(c) for c in conditions if c]
        hit = any(fold(t) in c for t in self.terms for c in folded)
        return hit and not any(fold(t) in c for t in self.exclude for c in folded)


@dataclass(frozen=True)
class TrialConditions:
    groups: dict[str, ConditionGroup]
    tas: dict[str, str]  # TA id → group id
    reviewed: str

    def for_ta(self, ta: str) -> ConditionGroup | None:
        """The TA's group; None for a TA the file does not cover (one of a user's own catalogue)."""
        gid = self.tas.get(ta.upper())
        return self.groups[gid] if gid else None

    def tas_matching(self, conditions: Iterable[str]) -> list[str]:
        conditions = list(conditions)
        return sorted(ta for ta, g in self.tas.items() if self.groups[g].matches(conditions))


def _words(value, path: Path, field: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CatalogueError(path, "expected a list of words", field=field)
    return tuple(v.strip() for v in value)


@functools.lru_cache(maxsize=4)
def load_trial_conditions(path: str | Path | None = None) -> TrialConditions:
    """Read and check the file: every group has a name and terms; every built-in catalogue TA has
    a group and every TA named is in the catalogue."""
    path = Path(path) if path else FILE
    doc = _read_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("groups"), dict) or not isinstance(doc.get("tas"), dict):
        raise CatalogueError(path, "expected a mapping with 'reviewed', 'groups' and 'tas'")
    groups = {}
    for gid, g in doc["groups"].items():
        if not isinstance(g, dict) or not isinstance(g.get("name"), str):
            raise CatalogueError(path, "expected a mapping with a 'name' and 'terms'", field=f"groups.{gid}")
        unknown = set(g) - {"name", "terms", "exclude"}
        if unknown:
            raise CatalogueError(path, f"unknown key(s) {', '.join(sorted(unknown))}; expected name, terms, exclude",
                                 field=f"groups.{gid}")
        groups[gid] = ConditionGroup(gid, g["name"], _words(g.get("terms"), path, f"groups.{gid}.terms"),
                                     _words(g.get("exclude", []), path, f"groups.{gid}.exclude") if g.get("exclude")
                                     else ())
    catalogue_tas = {ta.id for ta in load_catalogue(DATA_DIR)}  # the built-in TAs (not a user's own)
    for ta, gid in doc["tas"].items():
        if ta not in catalogue_tas:
            raise CatalogueError(path, f"{ta} is not in the catalogue; expected a catalogue TA", field=f"tas.{ta}")
        if gid not in groups:
            raise CatalogueError(path, f"no group {gid!r}; expected one of {', '.join(groups)}", field=f"tas.{ta}")
    missing = sorted(catalogue_tas - set(doc["tas"]))
    if missing:
        raise CatalogueError(path, f"no condition group for {', '.join(missing)}; expected every catalogue TA",
                             field="tas")
    return TrialConditions(groups, dict(doc["tas"]), str(doc.get("reviewed", "")))
