"""Boundaries for the portal's maps: a GeoJSON whose features carry ODS codes, matched to the
published organisations and dissolved up the hierarchy (sub-ICB → ICB → region), written next to
the published scorecard as `geo/<level>.geojson` (wound for d3-geo, which Vega draws with) with
a `maps.json` saying what matched."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from ..geo import build_level_maps, d3_winding, write_level_maps
from .published import Published


def maps_dir(published: Path) -> Path:
    return Path(published).parent / "geo"


def publish_maps(published: Path, boundaries: Path) -> dict:
    """Build the map of every level reachable from `boundaries`; returns what maps.json holds."""
    with Published(published) as pub:
        orgs = pub.organisations()
    known: dict[str, set[str]] = {}
    parents: dict[str, dict[str, str]] = {}
    names: dict[tuple[str, str], str] = {}
    for o in orgs:
        known.setdefault(o["level"], set()).add(o["code"])
        names[(o["level"], o["code"])] = o["name"]
        if o["parent"] and o["level"] in ("sub_icb", "icb"):
            parents.setdefault(o["level"], {})[o["code"]] = o["parent"]
    maps = build_level_maps(boundaries, {k: v for k, v in known.items() if k in ("sub_icb", "icb", "region")},
                            parents, names)
    directory = maps_dir(published)
    write_level_maps(replace(maps, maps={lv: d3_winding(fc) for lv, fc in maps.maps.items()}), directory)
    summary = {"source": str(boundaries), "levels": list(maps.maps), "matched_level": maps.matched_level,
               "property": maps.property, "matched": maps.matched, "unmatched": maps.unmatched,
               "notes": maps.notes}
    tmp = directory / ".maps.json.tmp"
    tmp.write_text(json.dumps(summary, indent=1))
    os.replace(tmp, directory / "maps.json")
    return summary
