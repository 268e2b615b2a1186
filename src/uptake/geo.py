"""Organisation boundaries for choropleth maps: any GeoJSON whose features carry an ODS code,
matched to organisations by content, dissolved up the NHS hierarchy, written one file per level.

A boundary file is recognised by what its properties hold, not by their names: the level
(sub-ICB location, ICB, region) and the property that identify the most organisations win
(see `match_codes`). ONS boundary files name sub-ICB locations 'NHS South Yorkshire ICB - 02P',
so a code may also be the last token of a value, after ' - ' or in parentheses.

Levels above the matched one are made by dissolving (unioning) the children's shapes through a
child → parent lookup, so one sub-ICB file gives the ICB and region maps as well. Output is
compact GeoJSON (RFC 7946: WGS84 positions, exterior rings counter-clockwise, holes clockwise),
coordinates rounded to a few decimals and, optionally, simplified so that neighbours keep
their shared edges.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.errors import GEOSException
from shapely.geometry.base import BaseGeometry

from .errors import InputError, UptakeError

# The level each level's parent belongs to: `parents[level]` maps a code of `level` to a code
# of LEVEL_ABOVE[level].
LEVEL_ABOVE = {"sub_icb": "icb", "icb": "region"}

BOUNDARY_TYPES = ("Polygon", "MultiPolygon")

# A code as the last token of a value: 'NHS South Yorkshire ICB - 02P', 'Foo (QHM)'.
_CODE_AFTER_DASH = re.compile(r"\s[-–—]\s*([A-Za-z0-9]+)\s*$")
_CODE_IN_PARENS = re.compile(r"\(\s*([A-Za-z0-9]+)\s*\)\s*$")
_ONS_CODE = re.compile(r"^[EWSN]\d{8}$")


@dataclass(frozen=True)
class LevelMaps:
    """The maps made from one boundary file.

    maps: level → GeoJSON FeatureCollection (features' properties are {"code", "name"}), the
        matched level first, then each level above it that `parents` reaches.
    matched_level, property: the level of the file's features and the property holding their codes.
    matched: how many features held a known code.
    unmatched: one entry per feature skipped because it held none: 'features[i]: <property>=<value>'.
    notes: what else was left out, e.g. codes with no parent in the lookup (and so missing from
        the map of the level above).
    """

    maps: dict[str, dict]
    matched_level: str
    property: str
    matched: int
    unmatched: list[str]
    notes: list[str] = field(default_factory=list)


def read_features(path: str | Path) -> list[dict]:
    """The features of a GeoJSON FeatureCollection in a .geojson or gzip-compressed file.

    Each feature is returned as parsed, with `properties` made a dict ({} when null) and a
    geometry checked to be a Polygon or MultiPolygon with coordinates. Raises InputError naming
    the file and the problem (damaged gzip, not JSON, not a FeatureCollection, features[i] has no
    geometry, ...).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(path, f"cannot read the file: {e.strerror or e}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise InputError(path, f"a damaged gzip file: {e}") from None
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(path, f"not JSON: {e}") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        found = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise InputError(path, f"not a GeoJSON FeatureCollection (top-level type is {found!r})")
    features = data.get("features")
    if not isinstance(features, list):
        raise InputError(path, "the FeatureCollection has no 'features' list")
    for i, feature in enumerate(features):
        where = f"features[{i}]"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise InputError(path, f"{where} is not a GeoJSON Feature")
        geometry = feature.get("geometry")
        if not geometry:
            raise InputError(path, f"{where} has no geometry")
        if not isinstance(geometry, dict) or geometry.get("type") not in BOUNDARY_TYPES:
            found = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
            raise InputError(path, f"{where} has a {found} geometry; a boundary must be a Polygon or MultiPolygon")
        if not isinstance(geometry.get("coordinates"), list):
            raise InputError(path, f"{where} has a {geometry['type']} geometry without coordinates")
        properties = feature.get("properties")
        if properties is None:
            feature["properties"] = {}
        elif not isinstance(properties, dict):
            raise InputError(path, f"{where} has properties that are not a JSON object")
    return features


def match_codes(features: Sequence[dict], known: Mapping[str, set[str]]) -> tuple[str, str, dict[int, str]]:
    """The level and property that identify the most features, and each matched feature's code.

    `known` holds the ODS codes of each level ({'sub_icb': {...}, 'icb': {...}, ...}). A text
    property identifies a feature when its value, or the last token of its value after ' - ' or
    in parentheses, is a known code of the level (compared case-insensitively; codes are returned
    upper-case). The (level, property) pair identifying the most distinct codes wins, then the
    one matching the most features, then the first in `known` order and property order, so that a
    property holding each sub-ICB's parent ICB does not beat the one naming the sub-ICB itself.

    Returns (level, property, {index of feature in `features`: code}). Raises UptakeError saying
    which levels and properties were tried, with example values, when no property holds a code.
    """
    properties: dict[str, str] = {}  # text property → its first value, in order of appearance
    candidates: list[dict[str, tuple[str, ...]]] = []  # per feature: property → codes it may hold
    for feature in features:
        found = {}
        for name, value in feature.get("properties", {}).items():
            if isinstance(value, str):
                properties.setdefault(name, value)
                found[name] = _code_candidates(value)
        candidates.append(found)

    best: tuple[tuple[int, int], str, str, dict[int, str]] | None = None
    for level, codes in known.items():
        codes = {c.upper() for c in codes}
        for name in properties:
            matched = {}
            for i, found in enumerate(candidates):
                code = next((c for c in found.get(name, ()) if c in codes), None)
                if code is not None:
                    matched[i] = code
            score = (len(set(matched.values())), len(matched))
            if score[0] and (best is None or score > best[0]):
                best = (score, level, name, matched)
    if best is None:
        raise UptakeError(_no_match_message(len(features), known, properties))
    return best[1], best[2], best[3]


def dissolve(features_by_code: Mapping[str, BaseGeometry], parent_of: Mapping[str, str]) -> dict[str, BaseGeometry]:
    """Each parent's shape: the union of its children's shapes, by parent code (sorted).

    Invalid child shapes (self-intersecting rings, as generalised boundaries often have) are
    repaired with `make_valid` first, keeping their polygonal parts. Children absent from
    `parent_of` are left out; the caller reports them.
    """
    children: dict[str, list[BaseGeometry]] = defaultdict(list)
    for code, geometry in features_by_code.items():
        parent = parent_of.get(code)
        if parent is not None:
            children[parent].append(_polygonal(geometry))
    return {parent: _polygonal(shapely.union_all(geometries)) for parent, geometries in sorted(children.items())}


def to_geojson(
    shapes: Mapping[str, BaseGeometry],
    names: Mapping[str, str] | None,
    precision: int = 4,
    simplify_tolerance: float = 0.0,
) -> dict:
    """A GeoJSON FeatureCollection of `shapes` (code → shape), one feature per code in the
    given order, with properties {"code", "name"} (name from `names`, null when absent).

    With `simplify_tolerance` > 0 the shapes are simplified first: when they form a valid
    coverage (no overlaps, neighbours sharing edges exactly, as boundary sets do) with
    `shapely.coverage_simplify`, which keeps shared edges shared (tolerance ≈ the square root of
    the triangle areas removed); otherwise each shape alone with topology-preserving
    Douglas-Peucker (tolerance = distance). Coordinates are then rounded to `precision`
    decimals (4 ≈ 10 m in degrees); repeated positions are dropped, as are rings that collapse
    to no area; exterior rings are made counter-clockwise and holes clockwise (RFC 7946). A shape
    that collapses entirely gets a null geometry.
    """
    codes = list(shapes)
    geometries = [_polygonal(shapes[code]) for code in codes]
    if simplify_tolerance > 0:
        if shapely.coverage_is_valid(geometries):
            geometries = list(shapely.coverage_simplify(geometries, simplify_tolerance))
        else:
            geometries = list(shapely.simplify(geometries, simplify_tolerance, preserve_topology=True))
    names = names or {}
    features = [
        {
            "type": "Feature",
            "properties": {"code": code, "name": names.get(code)},
            "geometry": _geometry_json(geometry, precision),
        }
        for code, geometry in zip(codes, geometries)
    ]
    return {"type": "FeatureCollection", "features": features}


def build_level_maps(
    path: str | Path,
    known: Mapping[str, set[str]],
    parents: Mapping[str, Mapping[str, str]],
    names: Mapping[tuple[str, str], str],
    *,
    precision: int = 4,
    simplify_tolerance: float = 0.002,
) -> LevelMaps:
    """The choropleth maps one boundary file gives: its own level and every level above it.

    Reads `path` (`read_features`), finds the level and property holding ODS codes
    (`match_codes` over `known`), unions features sharing a code, then walks up: while
    `parents[level]` (child code → parent code) exists, dissolves into LEVEL_ABOVE[level].
    `names[(level, code)]` gives display names. Each level is written with `to_geojson` at
    `precision` and `simplify_tolerance` (the default 0.002° keeps a 106 sub-ICB map under
    1 MB). Features without a known code are skipped and listed in `unmatched`; codes with no
    parent are listed in `notes`.
    """
    path = Path(path)
    features = read_features(path)
    try:
        level, prop, codes = match_codes(features, known)
    except UptakeError as e:
        raise InputError(path, str(e)) from None

    pieces: dict[str, list[BaseGeometry]] = defaultdict(list)
    for i, code in codes.items():
        pieces[code].append(_polygonal(_shape(path, i, features[i])))
    shapes = {code: _polygonal(shapely.union_all(geometries)) for code, geometries in sorted(pieces.items())}
    unmatched = [
        f"features[{i}]: {prop}={feature['properties'].get(prop)!r}"
        for i, feature in enumerate(features)
        if i not in codes
    ]

    def level_map(of_level: str, level_shapes: dict[str, BaseGeometry]) -> dict:
        level_names = {code: names[(of_level, code)] for code in level_shapes if (of_level, code) in names}
        return to_geojson(level_shapes, level_names, precision, simplify_tolerance)

    maps = {level: level_map(level, shapes)}
    notes: list[str] = []
    matched_level = level
    while level in LEVEL_ABOVE and level in parents:
        above = LEVEL_ABOVE[level]
        parent_of = {child.upper(): parent.upper() for child, parent in parents[level].items()}
        orphans = sorted(code for code in shapes if code not in parent_of)
        if orphans:
            notes.append(f"{len(orphans)} {level} code(s) with no {above} in the lookup, left out of the "
                         f"{above} map: {', '.join(orphans[:10])}{' ...' if len(orphans) > 10 else ''}")
        shapes = dissolve(shapes, parent_of)
        level = above
        maps[level] = level_map(level, shapes)
    return LevelMaps(maps, matched_level, prop, len(codes), unmatched, notes)


def write_level_maps(maps: LevelMaps, directory: str | Path) -> list[Path]:
    """Write each level's map to `directory`/{level}.geojson (compact JSON, UTF-8), each
    atomically: a temporary file in the same directory, fsynced, then `os.replace`. Returns
    the paths written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for level, collection in maps.maps.items():
        target = directory / f"{level}.geojson"
        tmp = directory / f".{level}.geojson.{uuid.uuid4().hex}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(collection, f, separators=(",", ":"), ensure_ascii=False)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        written.append(target)
    return written


def _code_candidates(value: str) -> tuple[str, ...]:
    """The codes a property value may hold: the whole value, then its trailing token after
    ' - ' or in parentheses; upper-case."""
    value = value.strip()
    found = [value.upper()]
    for pattern in (_CODE_AFTER_DASH, _CODE_IN_PARENS):
        m = pattern.search(value)
        if m:
            found.append(m.group(1).upper())
    return tuple(found)


def _no_match_message(n_features: int, known: Mapping[str, set[str]], properties: dict[str, str]) -> str:
    """Why no feature could be matched: what was tried and what the values look like."""
    levels = ", ".join(known) or "none"
    if not n_features:
        return "the FeatureCollection has no features"
    if not properties:
        return f"no feature has a text property that could hold an ODS code (levels tried: {levels})"
    examples = "; ".join(f"{name}={value[:60]!r}" for name, value in properties.items())
    message = (f"no feature property holds a known ODS code (levels tried: {levels}; "
               f"properties tried, with the first value of each: {examples})")
    if any(_ONS_CODE.match(value.strip()) for value in properties.values()):
        message += ("; values like E54000007 are ONS (GSS) codes, not ODS codes: add the ODS codes "
                    "to the features or use a file that carries them")
    return message


def _shape(path: Path, index: int, feature: dict) -> BaseGeometry:
    """A feature's geometry as a shapely shape; InputError naming the file and feature when the
    coordinates do not make one."""
    try:
        return shape(feature["geometry"])
    except (ValueError, TypeError, IndexError, GEOSException) as e:
        raise InputError(path, f"features[{index}] has {feature['geometry']['type']} coordinates that "
                               f"do not make one: {e}") from None


def _polygonal(geometry: BaseGeometry) -> Polygon | MultiPolygon:
    """`geometry` made valid (`make_valid`), keeping only its polygons (lines and points that a
    repair leaves from collapsed slivers carry no area)."""
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    if isinstance(geometry, (Polygon, MultiPolygon)):
        return geometry
    parts = [p for part in shapely.get_parts(geometry) for p in shapely.get_parts(part) if isinstance(p, Polygon)]
    return MultiPolygon(parts)


def _geometry_json(geometry: Polygon | MultiPolygon, precision: int) -> dict | None:
    """A GeoJSON Polygon or MultiPolygon of `geometry` rounded to `precision` decimals, without
    parts that collapse; None when nothing is left."""
    polygons = [p for p in (_polygon_json(part, precision) for part in shapely.get_parts(geometry)) if p]
    if not polygons:
        return None
    if len(polygons) == 1:
        return {"type": "Polygon", "coordinates": polygons[0]}
    return {"type": "MultiPolygon", "coordinates": polygons}


def _polygon_json(polygon: Polygon, precision: int) -> list | None:
    """A polygon's rings as GeoJSON coordinates (exterior counter-clockwise, holes clockwise),
    rounded; None when the exterior collapses, and holes that collapse dropped."""
    exterior = _ring_json(polygon.exterior, precision, counter_clockwise=True)
    if exterior is None:
        return None
    holes = [_ring_json(ring, precision, counter_clockwise=False) for ring in polygon.interiors]
    return [exterior, *(hole for hole in holes if hole is not None)]


def _ring_json(ring: shapely.LinearRing, precision: int, *, counter_clockwise: bool) -> list | None:
    """A ring's positions rounded to `precision` decimals without consecutive repeats, in the
    given orientation; None when fewer than 3 distinct positions or no area remain (on a grid of
    step 10^-precision a non-degenerate ring's doubled area is at least step²)."""
    xy = np.round(shapely.get_coordinates(ring), precision)
    xy = xy[np.r_[True, np.any(xy[1:] != xy[:-1], axis=1)]]
    if len(xy) < 4:
        return None
    doubled_area = float(np.dot(xy[:-1, 0], xy[1:, 1]) - np.dot(xy[1:, 0], xy[:-1, 1]))
    if abs(doubled_area) < 0.5 * 10.0 ** (-2 * precision):
        return None
    if (doubled_area > 0) != counter_clockwise:
        xy = xy[::-1]
    return xy.tolist()


def d3_winding(collection: dict) -> dict:
    """The same FeatureCollection with every ring reversed: exterior rings clockwise, holes
    counter-clockwise, as d3-geo (and so Vega's geoshape) reads polygons on the sphere. With
    RFC 7946's winding, d3 draws each area's complement: the whole map filled."""
    def flip(geometry: dict | None) -> dict | None:
        if geometry is None:
            return None
        if geometry["type"] == "Polygon":
            return {"type": "Polygon", "coordinates": [ring[::-1] for ring in geometry["coordinates"]]}
        if geometry["type"] == "MultiPolygon":
            return {"type": "MultiPolygon",
                    "coordinates": [[ring[::-1] for ring in poly] for poly in geometry["coordinates"]]}
        return geometry

    return {**collection, "features": [{**f, "geometry": flip(f["geometry"])} for f in collection["features"]]}
