"""A user's own catalogue folder, merged with the built-in one (docs/catalogue.md, "Your own
catalogue").

The folder named by ``$UPTAKE_CATALOGUE`` (or ``uptake --catalogue PATH``) has the built-in
layout, every part optional: ``areas.yaml``, ``technology_appraisals/TAnnn.yaml`` and
``measures/<id>.yaml``. Its entries are validated exactly as the built-in ones; an entry with the
id of a built-in one replaces it. Every entry's origin ("built-in", or the file it came from)
is kept, so that a list can say where each came from.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

from ..errors import InputError
from .layout import MEASURES_DIR, PARTS

ENV = "UPTAKE_CATALOGUE"
BUILT_IN = "built-in"
MEASURES = MEASURES_DIR

T = TypeVar("T")


def user_dir() -> Path | None:
    """The user's catalogue folder, resolved, or None when none is set. Refuses a folder that
    does not exist or holds none of the catalogue's parts."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise InputError(path, f"catalogue folder not found (named by ${ENV} or --catalogue); expected a "
                             f"folder holding {', '.join(PARTS)}")
    if not any((path / part).exists() for part in PARTS):
        raise InputError(path, f"no {', '.join(PARTS)} in this folder; expected at least one of them, laid "
                             "out as in the built-in catalogue")
    return path.resolve()


def merge(built_in: dict[str, T], own: dict[str, tuple[T, Path]]) -> tuple[dict[str, T], dict[str, str]]:
    """Entries by id, the user's replacing built-in ones of the same id, and each id's origin."""
    entries = dict(built_in)
    origins = dict.fromkeys(built_in, BUILT_IN)
    for key, (entry, path) in own.items():
        entries[key] = entry
        origins[key] = str(path) if key not in built_in else f"{path} (replaces the built-in entry)"
    return entries, origins
