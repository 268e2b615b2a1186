"""uptake.geo: boundary files matched to ODS codes by content, dissolved up the hierarchy.

The real-data tests use ONS's July 2022 sub-ICB boundaries (106 areas) and, for the hierarchy,
the 2025 ICB lookup: each sub-ICB's name ('NHS South Yorkshire ICB - 02P') names its ICB, and
the lookup gives that ICB's ODS code and region.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import re
from pathlib import Path

import pytest
import shapely
from shapely.geometry import box, shape

from uptake.errors import UptakeError
from uptake.geo import LevelMaps, build_level_maps, dissolve, match_codes, read_features, to_geojson, write_level_maps
from uptake.sources.ods import REGION_CODES

SUB_ICBS = "geo/sub_icb_locations_2022_buc.geojson"
REGIONS_2021 = "geo/nhs_regions_2021_simplified_bfc.geojson.gz"
STPS_2021 = "geo/stps_2021_simplified_bfc.geojson.gz"


def polygons(geometry: shapely.Geometry) -> list[shapely.Polygon]:
    """The polygons in a shape, however nested (make_valid may return a GeometryCollection)."""
    return [p for part in shapely.get_parts(geometry) for p in shapely.get_parts(part) if p.geom_type == "Polygon"]


# --- real boundaries --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def nhs(shared_data):
    """The real sub-ICB file and the 2022 hierarchy: known codes, parents, names."""
    path = shared_data / SUB_ICBS
    if not path.exists():
        pytest.skip(f"sub-ICB boundaries not found at {path} (see ../shared/data/SOURCES.md, section geo)")
    with open(shared_data / "ods/icb_to_region_lookup_2025.csv", encoding="utf-8") as f:
        icbs = [row for row in csv.DictReader(f) if row["icb_code"] != "-"]
    icb_by_name = {row["icb_name"]: row["icb_code"] for row in icbs}
    features = read_features(path)
    sub_icb_of = {}
    names = {}
    for feature in features:
        name = feature["properties"]["sicbl22nm"]
        prefix, code = name.split(" ICB - ")
        icb = icb_by_name[f"{prefix.upper()} INTEGRATED CARE BOARD"]
        sub_icb_of[code] = icb
        names[("sub_icb", code)] = name
        names[("icb", icb)] = f"{prefix} ICB"
    region_of = {row["icb_code"]: REGION_CODES[row["icb_region"].upper()] for row in icbs}
    names.update({("region", code): name.title() for name, code in REGION_CODES.items()})
    known = {"sub_icb": set(sub_icb_of), "icb": set(region_of), "region": set(region_of.values())}
    parents = {"sub_icb": sub_icb_of, "icb": region_of}
    return path, features, known, parents, names


@pytest.fixture(scope="module")
def built(nhs) -> LevelMaps:
    path, _, known, parents, names = nhs
    return build_level_maps(path, known, parents, names, precision=4, simplify_tolerance=0.002)


def test_real_sub_icbs_are_matched_by_the_code_at_the_end_of_their_names(nhs):
    _, features, known, _, _ = nhs
    level, prop, codes = match_codes(features, known)
    assert (level, prop, len(codes)) == ("sub_icb", "sicbl22nm", 106)
    assert set(codes.values()) == known["sub_icb"]
    by_name = {features[i]["properties"]["sicbl22nm"]: code for i, code in codes.items()}
    assert by_name["NHS South Yorkshire ICB - 02P"] == "02P"
    assert by_name["NHS Devon ICB - 15N"] == "15N"
    assert by_name["NHS Hampshire and Isle Of Wight ICB - D9Y0V"] == "D9Y0V"  # 5-character code


def test_the_2022_hierarchy_differs_from_ons_2021_only_by_bassetlaw(nhs, shared_data):
    """The name-derived parents are real: against ONS's April 2021 CCG → STP lookup, the one
    change is Bassetlaw (02Q), which moved from South Yorkshire to Nottinghamshire in July 2022."""
    _, _, _, parents, _ = nhs
    with open(shared_data / "ods/ccg21_to_stp21_lookup.csv", encoding="utf-8-sig") as f:
        stp_2021 = {row["CCG21CDH"]: row["STP21CDH"] for row in csv.DictReader(f)}
    changed = {code: (stp_2021[code], icb) for code, icb in parents["sub_icb"].items() if stp_2021[code] != icb}
    assert changed == {"02Q": ("QF7", "QT1")}
    assert len(set(parents["sub_icb"].values())) == 42


def test_real_sub_icbs_dissolve_into_42_icbs_without_gaps_or_overlaps(nhs):
    _, features, known, parents, _ = nhs
    _, _, codes = match_codes(features, known)
    sub_icbs = {code: shapely.make_valid(shape(features[i]["geometry"])) for i, code in codes.items()}
    icbs = dissolve(sub_icbs, parents["sub_icb"])
    assert len(icbs) == 42
    for icb, geometry in icbs.items():
        members = [sub_icbs[c] for c, parent in parents["sub_icb"].items() if parent == icb]
        total = sum(m.area for m in members)
        assert 0.99 * total <= geometry.area <= 1.01 * total, icb
        # no new holes where members met: any hole is one a member already had
        holes = sum(len(p.interiors) for p in polygons(geometry))
        assert holes <= sum(len(p.interiors) for m in members for p in polygons(m)), icb
    # South Yorkshire's four landlocked sub-ICBs become one polygon
    assert icbs["QF7"].geom_type == "Polygon"


def test_build_level_maps_gives_every_level_compactly(built):
    assert (built.matched_level, built.property, built.matched) == ("sub_icb", "sicbl22nm", 106)
    assert built.unmatched == [] and built.notes == []
    assert {level: len(fc["features"]) for level, fc in built.maps.items()} == {"sub_icb": 106, "icb": 42, "region": 7}
    by_code = {f["properties"]["code"]: f["properties"]["name"] for fc in built.maps.values() for f in fc["features"]}
    assert by_code["02P"] == "NHS South Yorkshire ICB - 02P"
    assert by_code["QF7"] == "NHS South Yorkshire ICB"
    assert by_code["Y56"] == "London"
    sizes = {level: len(json.dumps(fc, separators=(",", ":"))) for level, fc in built.maps.items()}
    assert sizes["sub_icb"] < 1_500_000, sizes
    assert sizes["region"] < sizes["icb"] < sizes["sub_icb"]
    text = json.dumps(built.maps["sub_icb"])
    assert not re.search(r"\d\.\d{5}", text), "coordinates are rounded to 4 decimals"


def test_simplified_neighbours_neither_overlap_nor_part(built, nhs):
    """Sub-ICBs simplified together keep their shared edges: the output overlaps by no more than
    rounding does, and covers England as the input did."""
    _, features, _, _, _ = nhs
    out = [shapely.make_valid(shape(f["geometry"])) for f in built.maps["sub_icb"]["features"]]
    england = shapely.union_all(out)
    assert sum(g.area for g in out) - england.area < 1e-6 * england.area
    source = shapely.union_all([shapely.make_valid(shape(f["geometry"])) for f in features])
    assert england.area == pytest.approx(source.area, rel=0.01)


def test_output_follows_rfc7946_ring_orientation(built):
    for feature in built.maps["icb"]["features"]:
        for polygon in polygons(shape(feature["geometry"])):
            assert polygon.exterior.is_ccw
            assert not any(ring.is_ccw for ring in polygon.interiors)


def test_dissolved_regions_agree_with_ons_region_boundaries(built, shared_data):
    """The regions made from sub-ICBs match ONS's own (2021) region boundaries, except where the
    map changed: Bassetlaw (02Q) was in North East and Yorkshire in 2021 and is in the Midlands."""
    path = shared_data / REGIONS_2021
    if not path.exists():
        pytest.skip(f"region boundaries not found at {path}")
    ons = {REGION_CODES[f["properties"]["nhser20nm"].upper()]: shapely.make_valid(shape(f["geometry"]))
           for f in read_features(path)}
    ours = {f["properties"]["code"]: shapely.make_valid(shape(f["geometry"])) for f in built.maps["region"]["features"]}
    assert set(ours) == set(ons)
    for code in ours:
        overlap = ours[code].intersection(ons[code]).area / ours[code].union(ons[code]).area
        assert overlap > 0.95, (code, overlap)
    bassetlaw = next(shape(f["geometry"]) for f in built.maps["sub_icb"]["features"]
                     if f["properties"]["code"] == "02Q")
    inside = bassetlaw.representative_point()
    assert ours["Y60"].contains(inside) and ons["Y63"].contains(inside)


def test_a_file_with_only_ons_codes_is_refused_saying_what_was_tried(nhs, shared_data):
    path = shared_data / STPS_2021
    if not path.exists():
        pytest.skip(f"STP boundaries not found at {path}")
    _, _, known, parents, names = nhs
    with pytest.raises(UptakeError) as e:
        build_level_maps(path, known, parents, names)
    message = str(e.value)
    assert str(path) in message
    assert "STP21CD='E54000007'" in message and "STP21NM=" in message
    assert "ONS (GSS) codes" in message


# --- small hand-made files --------------------------------------------------------------------

def square(x0: float, y0: float, size: float = 1.0) -> dict:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x0 + size, y0], [x0 + size, y0 + size],
                                                [x0, y0 + size], [x0, y0]]]}


def collection(*features: tuple[dict, dict]) -> dict:
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": p, "geometry": g} for p, g in features]}


def write(path: Path, data: object) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as f:
        json.dump(data, f)
    return path


KNOWN = {"sub_icb": {"02p", "02Q", "03N"}, "icb": {"QF7", "QT1"}, "region": {"Y63", "Y60"}}


def test_two_adjacent_squares_dissolve_into_one_rectangle():
    halves = {"AAA": shape(square(0, 0)), "BBB": shape(square(1, 0))}
    merged = dissolve(halves, {"AAA": "P", "BBB": "P"})
    assert list(merged) == ["P"]
    assert merged["P"].geom_type == "Polygon" and not merged["P"].interiors
    assert merged["P"].area == pytest.approx(2.0)
    assert merged["P"].equals(box(0, 0, 2, 1))


def test_dissolve_repairs_self_intersecting_shapes_and_leaves_out_orphans():
    bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2), (0, 0)])  # two triangles of area 1
    assert not bowtie.is_valid
    merged = dissolve({"AAA": bowtie, "BBB": shape(square(5, 5)), "CCC": shape(square(9, 9))},
                      {"AAA": "P", "BBB": "P"})
    assert merged["P"].is_valid and merged["P"].area == pytest.approx(3.0)


def test_codes_match_whole_values_or_in_parentheses_case_insensitively():
    features = collection(({"label": "South Yorkshire (qf7)"}, square(0, 0)),
                          ({"label": "Nottinghamshire ( QT1 )"}, square(1, 0)))["features"]
    assert match_codes(features, KNOWN) == ("icb", "label", {0: "QF7", 1: "QT1"})
    features = collection(({"id": "y63", "n": 1}, square(0, 0)))["features"]
    assert match_codes(features, KNOWN) == ("region", "id", {0: "Y63"})


def test_the_property_naming_most_distinct_organisations_wins():
    """Sub-ICB features that also carry their ICB's code are matched as sub-ICBs, even when the
    ICB code matches more features (here one sub-ICB code is unknown)."""
    features = collection(({"icb": "QF7", "name": "Sheffield - 03N"}, square(0, 0)),
                          ({"icb": "QF7", "name": "Doncaster - 02P"}, square(1, 0)),
                          ({"icb": "QF7", "name": "New place - 99X"}, square(2, 0)))["features"]
    assert match_codes(features, KNOWN) == ("sub_icb", "name", {0: "03N", 1: "02P"})


def test_no_match_names_the_properties_tried_with_example_values():
    features = collection(({"name": "Atlantis", "ref": "XX1", "area": 3.5}, square(0, 0)))["features"]
    with pytest.raises(UptakeError, match=r"levels tried: sub_icb, icb, region.*name='Atlantis'; ref='XX1'"):
        match_codes(features, KNOWN)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"not json {", "not JSON"),
        (b'[{"type": "Feature"}]', "not a GeoJSON FeatureCollection (top-level type is 'list')"),
        (b'{"type": "Feature", "geometry": null}', "top-level type is 'Feature'"),
        (json.dumps(collection(({}, square(0, 0)), ({}, None))).encode(), "features[1] has no geometry"),
        (json.dumps(collection(({}, {"type": "Point", "coordinates": [0, 0]}))).encode(),
         "features[0] has a Point geometry; a boundary must be a Polygon or MultiPolygon"),
        (b"\x1f\x8b\x08\x00truncated", "damaged gzip"),
    ],
)
def test_bad_files_are_refused_naming_the_file_and_the_problem(tmp_path, content, problem):
    path = tmp_path / "boundaries.geojson"
    path.write_bytes(content)
    with pytest.raises(UptakeError) as e:
        read_features(path)
    assert str(e.value).startswith(f"{path}:") and problem in str(e.value)


def test_bad_coordinates_are_refused_naming_the_feature(tmp_path):
    broken = {"type": "Polygon", "coordinates": [[[0, 0], [1]]]}
    path = write(tmp_path / "b.geojson", collection(({"code": "QF7"}, broken)))
    with pytest.raises(UptakeError, match=r"b\.geojson: features\[0\] has Polygon coordinates"):
        build_level_maps(path, KNOWN, {}, {})


def test_gzip_file_builds_every_level_skipping_unmatched_and_noting_orphans(tmp_path):
    path = write(tmp_path / "b.geojson.gz", collection(
        ({"nm": "NHS South Yorkshire ICB - 02P"}, square(0, 0)),
        ({"nm": "NHS South Yorkshire ICB - 03N"}, square(1, 0)),
        ({"nm": "NHS Nottinghamshire ICB - 02Q"}, square(0, 1)),
        ({"nm": "Somewhere else - 99Z"}, square(5, 5)),
    ))
    parents = {"sub_icb": {"02P": "QF7", "03N": "QF7"}, "icb": {"QF7": "Y63"}}
    names = {("icb", "QF7"): "NHS South Yorkshire ICB", ("region", "Y63"): "North East and Yorkshire"}
    maps = build_level_maps(path, KNOWN, parents, names, precision=4, simplify_tolerance=0.0)
    assert (maps.matched_level, maps.property, maps.matched) == ("sub_icb", "nm", 3)
    assert maps.unmatched == ["features[3]: nm='Somewhere else - 99Z'"]
    assert maps.notes == ["1 sub_icb code(s) with no icb in the lookup, left out of the icb map: 02Q"]
    assert [f["properties"] for f in maps.maps["sub_icb"]["features"]] == [
        {"code": "02P", "name": None}, {"code": "02Q", "name": None}, {"code": "03N", "name": None}]
    (icb,) = maps.maps["icb"]["features"]
    assert icb["properties"] == {"code": "QF7", "name": "NHS South Yorkshire ICB"}
    assert shape(icb["geometry"]).equals(box(0, 0, 2, 1))
    (region,) = maps.maps["region"]["features"]
    assert region["properties"]["code"] == "Y63" and shape(region["geometry"]).area == pytest.approx(2.0)

    written = write_level_maps(maps, tmp_path / "out")
    assert [p.name for p in written] == ["sub_icb.geojson", "icb.geojson", "region.geojson"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in written)  # no temp files
    assert [json.loads(p.read_text(encoding="utf-8")) for p in written] == list(maps.maps.values())


def test_to_geojson_rounds_orients_and_drops_what_collapses():
    clockwise = shapely.Polygon([(0.123456, 0.0), (0.0, 0.0), (0.0, 1.0), (0.123456, 1.0)])
    speck = box(10, 10, 10.00001, 10.00001)
    out = to_geojson({"A": clockwise, "B": speck}, {"A": "Area A"}, precision=4)
    a, b = out["features"]
    assert a["properties"] == {"code": "A", "name": "Area A"}
    assert a["geometry"] == {"type": "Polygon",
                             "coordinates": [[[0.1235, 0.0], [0.1235, 1.0], [0.0, 1.0], [0.0, 0.0], [0.1235, 0.0]]]}
    assert b == {"type": "Feature", "properties": {"code": "B", "name": None}, "geometry": None}


def test_simplification_keeps_neighbours_edges_shared_and_handles_overlaps():
    """Simplified alone, two shapes sharing a wavy edge would overlap and leave gaps."""
    wave = [(x / 100, 0.1 * math.sin(6 * math.pi * x / 100)) for x in range(101)]
    below = shapely.Polygon([*wave, (1, -1), (0, -1)])
    above = shapely.Polygon([*wave, (1, 1), (0, 1)])
    out = to_geojson({"A": below, "B": above}, None, precision=6, simplify_tolerance=0.01)
    a, b = (shape(f["geometry"]) for f in out["features"])
    assert len(a.exterior.coords) < 50 and len(b.exterior.coords) < 50
    assert a.intersection(b).area == pytest.approx(0.0, abs=1e-12)  # no overlap
    assert a.union(b).area == pytest.approx(2.0, abs=1e-9)  # no gap
    # shapes that overlap are not a coverage: each is simplified alone
    out = to_geojson({"A": below, "B": below.buffer(0.1)}, None, simplify_tolerance=0.01)
    assert all(len(shape(f["geometry"]).exterior.coords) < 50 for f in out["features"])
