"""Charts: every spec is valid against the official Vega-Lite v6 schema, renders (vl-convert),
and draws exactly the numbers it is given; the sparkline is safe, accessible SVG."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

import uptake
from uptake import charts
from uptake.services.diffusion import CurveFit, Diffusion
from uptake.services.funnels import FunnelSummary
from uptake.services.scorecard import ScoreRow, Scorecard
from uptake.services.variation import FunnelPoint, Variation

SCHEMA_FILE = Path(uptake.__file__).parent / "web/frontend/node_modules/vega-lite/build/vega-lite-schema.json"
LOW, HIGH, WITHIN = (charts.FLAG_STYLE[k][0] for k in ("low", "high", None))


# --- inputs: the services' own dataclasses, as to_dict() gives them ------------------------------


def point(org: str, value: float | None, denominator: float, flag: str | None, suppressed: bool = False):
    return FunnelPoint(org=org, name=f"Area {org}", numerator=None, denominator=denominator, value=value,
                       lower_998=None, upper_998=None, lower_998_od=None, upper_998_od=None, flag_95=flag,
                       flag_998=flag, flag_998_od=flag, suppressed=suppressed)


def variation_dict(denominators=(120.0, 400.0, 900.0, 2500.0, 5000.0, 7000.0, 800.0)) -> dict:
    """A per-1,000 funnel: one low, one high, two not significant, one not compared (no value)
    and one suppressed point, with curves (one overdispersion limit missing at the last grid point)."""
    d = denominators
    points = [point("A01", 2.1, d[0], "low"), point("A02", 9.7, d[1], "high"),
              point("A03", 5.2, d[2], "not significant"), point("A04", 4.8, d[3], "not significant"),
              point("A05", None, d[4], "not compared"), point("A06", None, d[5], None, suppressed=True),
              point("A/7", 5.0, d[6], "not significant")]
    grid = [min(d), 1000.0, max(d)]
    curves = {"denominator": grid, "lower_95": [3.1, 4.4, 4.8], "upper_95": [7.4, 5.8, 5.3],
              "lower_998": [2.4, 4.0, 4.6], "upper_998": [8.9, 6.3, 5.5],
              "lower_998_od": [1.9, 3.0, None], "upper_998_od": [11.0, 7.9, None]}
    summary = FunnelSummary(kind="rate", target=5.05, phi=2.0, tau2=0.01, overdispersed=True, areas=5,
                            outside_998_low=1, outside_998_high=1, outside_998_low_od=1, outside_998_high_od=1)
    card = Scorecard(subject="TA999", title="A medicine", kind="ta", level="sub_icb", month="2024-03",
                     headline="per_1000", headline_label="patients treated per 1,000 registered", direction="higher",
                     membership="membership valid in each month", engine="duckdb", min_items=5,
                     england=ScoreRow(level="england", org="ENG", name="England", month="2024-03", value=5.05,
                                      percentile=None), funnel=summary)
    return Variation(scorecard=card, summary={}, points=points, curves=curves, opportunity=None).to_dict()


LOGISTIC = {"K": 1.2, "r": 0.15, "t0": 30.0}
BASS = {"m": 1.1, "p": 0.01, "q": 0.3}


def diffusion_dict(*, logistic_converged: bool = True) -> dict:
    """TA999 published in March 2020; England's uptake index from January 2022 (month 22) to
    December 2023 (month 45), one month missing."""
    ts = list(range(22, 46))
    months = [f"{2022 + (t - 22) // 12}-{(t - 22) % 12 + 1:02d}" for t in ts]
    england = [None if t == 30 else LOGISTIC["K"] / (1 + math.exp(-LOGISTIC["r"] * (t - LOGISTIC["t0"]))) for t in ts]
    t50 = LOGISTIC["t0"] + math.log(0.5 / 1.2 / (1 - 0.5 / 1.2)) / LOGISTIC["r"]  # 0.5 of expected use (1)
    fits = [CurveFit("logistic", LOGISTIC, 0.99, logistic_converged, False, t50, 60.0, "ok"),
            CurveFit("bass", BASS, 0.9, True, False, 20.5, 31.0, "ok")]
    return Diffusion(ta="TA999", title="A medicine", published="2020-03-18", funding_deadline="2020-06-16",
                     headline="index", headline_label="uptake index", target=1.0,
                     target_label="NICE's expected use (uptake index 1)", level="icb", membership="m",
                     engine="duckdb", months=months, months_since_publication=ts, england=england,
                     fits=fits).to_dict()


DECILES = [{"month": f"2023-{m:02d}", **{f"p{10 * k}": k * 0.1 + m * 0.01 for k in range(1, 10)}} for m in range(1, 7)]
HIGHLIGHT = [{"month": f"2023-{m:02d}", "value": None if m == 3 else 0.2 + m * 0.05} for m in range(1, 7)]


def square(code: str, name: str, west: float) -> dict:
    # Exterior ring clockwise, as d3-geo (and so Vega) needs for an area smaller than a hemisphere.
    ring = [[west, 51.0], [west, 51.5], [west + 0.5, 51.5], [west + 0.5, 51.0], [west, 51.0]]
    return {"type": "Feature", "properties": {"code": code, "name": name},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


GEOJSON = {"type": "FeatureCollection",
           "features": [square("QAA", "North", -2.0), square("QBB", "South", -1.5), square("QCC", "East", -1.0)]}
MAP_ROWS = [{"org": "QAA", "name": "North", "value": 0.4, "flag_998_od": "low"},
            {"org": "QBB", "name": "South", "value": 1.6, "flag_998_od": "not significant"},
            {"org": "QZZ", "name": "Elsewhere", "value": 1.0, "flag_998_od": None}]  # QCC has no row


def specs() -> dict[str, dict]:
    return {
        "funnel": charts.funnel(variation_dict(), title="Funnel", value_label="patients per 1,000"),
        "funnel, log scale": charts.funnel(variation_dict((5.0, 40.0, 90.0, 250.0, 500.0, 700.0, 80.0)),
                                           title="Funnel", value_label="patients per 1,000"),
        "diffusion": charts.diffusion(diffusion_dict(), title="Diffusion", value_label="uptake index"),
        "diffusion, Bass": charts.diffusion(diffusion_dict(logistic_converged=False), title="Diffusion",
                                            value_label="uptake index"),
        "deciles": charts.deciles(DECILES, title="Deciles", value_label="uptake index"),
        "deciles, highlighted": charts.deciles(DECILES, title="Deciles", value_label="uptake index",
                                               highlight=HIGHLIGHT),
        "choropleth": charts.choropleth("/maps/icb.geojson", MAP_ROWS, title="Map", level_label="ICB",
                                        value_label="uptake index"),
        "ranking bar": charts.ranking_bar(MAP_ROWS + [{"org": "QDD", "name": None, "value": None}],
                                          title="Ranking", value_label="uptake index", england=1.1),
    }


# --- helpers ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema_validator():
    if not SCHEMA_FILE.exists():
        pytest.skip(f"the Vega-Lite schema is not installed at {SCHEMA_FILE}: run "
                    "`npm ci --prefix src/uptake/web/frontend`")
    import jsonschema

    return jsonschema.Draft7Validator(json.loads(SCHEMA_FILE.read_text()))


def vl_convert():
    return pytest.importorskip("vl_convert", reason="vl-convert-python is not installed (the dev extra has it)")


def svg_of(spec: dict) -> str:
    """The spec drawn by Vega as SVG; a choropleth's GeoJSON is put inline (vl-convert resolves a
    relative URL against vega-datasets on the internet)."""
    if "url" in spec.get("data", {}):
        spec = spec | {"data": {"values": GEOJSON, "format": spec["data"]["format"]}}
    return vl_convert().vegalite_to_svg(spec)


def layer_with(spec: dict, mark: str) -> dict:
    return next(layer for layer in spec["layer"] if layer.get("mark", {}).get("type") == mark)


def rules(spec: dict) -> list[tuple[str, object, str]]:
    """(channel, position, label) of every rule layer (see charts._rule)."""
    out = []
    for layer in spec["layer"]:
        for inner in layer.get("layer", []):
            if inner["mark"]["type"] == "rule":
                row = layer["data"]["values"][0]
                out.append((next(c for c in ("x", "y") if c in inner["encoding"]), row["at"], row["label"]))
    return out


def colour_of(encoding: dict) -> dict:
    scale = encoding["scale"]
    return dict(zip(scale["domain"], scale["range"]))


# --- every spec ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(specs()))
def test_every_spec_is_valid_vega_lite_v6_fills_its_column_and_describes_itself(name, schema_validator):
    spec = specs()[name]
    json.dumps(spec, allow_nan=False)  # plain JSON: no NaN, no objects
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in schema_validator.iter_errors(spec)]
    assert errors == []
    assert spec["$schema"].endswith("/vega-lite/v6.json")
    assert spec["width"] == "container"
    assert spec["title"]
    assert spec["description"].endswith(".") and spec["description"].count(". ") == 0  # one sentence
    assert spec["config"] == charts.config()
    assert spec["config"]["font"].startswith('"Frutiger W01", Arial')
    assert spec["config"]["view"]["stroke"] is None


def test_the_schema_check_rejects_a_spec_that_vega_lite_would_not_accept(schema_validator):
    spec = charts.deciles(DECILES, title="Deciles", value_label="uptake index")
    spec["layer"][0]["encoding"]["colour"] = spec["layer"][0]["encoding"].pop("color")
    assert list(schema_validator.iter_errors(spec))


@pytest.mark.parametrize("name", list(specs()))
def test_every_spec_renders(name):
    svg = svg_of(specs()[name])
    assert svg.startswith("<svg") and specs()[name]["title"] in svg


def test_palette_is_the_nhs_identity_palette():
    assert charts.PALETTE["blue"] == "#005EB8" and charts.PALETTE["red"] == "#DA291C"
    assert len(set(charts.PALETTE.values())) == 12
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c) for c in charts.PALETTE.values())


# --- funnel -------------------------------------------------------------------------------------


def test_funnel_draws_exactly_the_points_that_have_a_value_and_are_not_suppressed():
    spec = charts.funnel(variation_dict(), title="Funnel", value_label="patients per 1,000")
    points = layer_with(spec, "point")["data"]["values"]
    assert {p["org"]: p["value"] for p in points} == {"A01": 2.1, "A02": 9.7, "A03": 5.2, "A04": 4.8, "A/7": 5.0}
    assert {p["org"]: p["url"] for p in points}["A/7"] == "/org/A%2F7/"
    assert "for 5 organisations in 2024-03 around a centre line of 5.05: 1 below and 1 above" in spec["description"]


def test_funnel_curves_are_the_variations_curves_on_the_values_scale():
    v = variation_dict()
    spec = charts.funnel(v, title="Funnel", value_label="patients per 1,000")
    rows = layer_with(spec, "line")["data"]["values"]
    for label, _, _, key in charts.LIMITS:
        for side in ("lower", "upper"):
            drawn = [(r["denominator"], r["value"]) for r in rows if r["limit"] == label and r["side"] == side]
            given = zip(v["curves"]["denominator"], v["curves"][f"{side}_{key}"])
            assert drawn == [(d, y) for d, y in given if y is not None]
    # the points, the limits and the centre line share the y field and so one scale
    assert layer_with(spec, "line")["encoding"]["y"] == layer_with(spec, "point")["encoding"]["y"]
    assert rules(spec) == [("y", 5.05, "Centre line, all organisations together: 5.05")]


def test_funnel_flags_have_their_own_colour_and_shape():
    spec = charts.funnel(variation_dict(), title="Funnel", value_label="patients per 1,000")
    enc = layer_with(spec, "point")["encoding"]
    assert colour_of(enc["color"]) == {LOW: "#DA291C", HIGH: "#005EB8", WITHIN: "#768692"}
    assert len(set(colour_of(enc["shape"]).values())) == 3
    flags = {p["org"]: p["flag"] for p in layer_with(spec, "point")["data"]["values"]}
    assert flags == {"A01": LOW, "A02": HIGH, "A03": WITHIN, "A04": WITHIN, "A/7": WITHIN}


def test_funnel_as_drawn_links_each_point_to_its_page_in_its_flags_colour():
    svg = svg_of(charts.funnel(variation_dict(), title="Funnel", value_label="patients per 1,000"))
    drawn = dict(re.findall(r'xlink:href="[^"]*/org/([^/"]+)/"><path[^>]*?fill="([^"]+)"', svg))
    assert drawn == {"A01": "#DA291C", "A02": "#005EB8", "A03": "#768692", "A04": "#768692", "A%2F7": "#768692"}


def test_funnel_denominator_axis_is_logarithmic_only_over_two_orders_of_magnitude():
    narrow = charts.funnel(variation_dict(), title="Funnel", value_label="v")  # 120 to 7,000
    wide = charts.funnel(variation_dict((5.0, 40.0, 90.0, 250.0, 500.0, 700.0, 80.0)), title="Funnel", value_label="v")
    assert layer_with(narrow, "point")["encoding"]["x"]["scale"].get("type") is None
    assert layer_with(wide, "point")["encoding"]["x"]["scale"]["type"] == "log"
    assert layer_with(wide, "point")["encoding"]["x"]["title"] == "Registered patients"


def test_funnel_without_a_funnel_draws_no_limits():
    v = variation_dict()
    v["curves"], v["scorecard"]["funnel"] = {}, None
    spec = charts.funnel(v, title="Funnel", value_label="v")
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["point"]


# --- diffusion ----------------------------------------------------------------------------------


def test_diffusion_curve_is_the_fitted_logistic_and_projects_six_months():
    d = diffusion_dict()
    spec = charts.diffusion(d, title="Diffusion", value_label="uptake index")
    curve = layer_with(spec, "line")["data"]["values"]  # the fitted curve is the first line layer
    fitted = {r["t"]: r for r in curve if r["series"] == "Fitted logistic curve"}
    for t, month in ((22, "2022-01-01"), (37, "2023-04-01")):
        K, r, t0 = LOGISTIC["K"], LOGISTIC["r"], LOGISTIC["t0"]
        assert fitted[t]["value"] == pytest.approx(K / (1 + math.exp(-r * (t - t0))), rel=1e-12)
        assert fitted[t]["month"] == month
    projected = [r for r in curve if r["series"] == "Projection of the fitted curve"]
    assert [r["t"] for r in projected] == list(range(45, 52))
    assert projected[-1]["month"] == "2024-06-01"
    england = spec["layer"][1]["data"]["values"]
    assert len(england) == 23 and all(r["series"] == "England" for r in england)  # the missing month left out
    assert colour_of(layer_with(spec, "line")["encoding"]["strokeDash"])["Projection of the fitted curve"] == [6, 4]


def test_diffusion_marks_the_target_and_the_crossings_within_the_months_drawn():
    d = diffusion_dict()
    spec = charts.diffusion(d, title="Diffusion", value_label="uptake index")
    # t50 = 27.76 months after March 2020: month 27 is June 2022, and 0.76 of its 30 days is 22 days in
    t50 = d["fits"][0]["t50"]
    assert math.floor(t50) == 27 and int((t50 - 27) * 30) == 22
    assert rules(spec) == [("x", "2022-06-23", "50% of expected use"),
                           ("y", 1.0, "NICE's expected use (uptake index 1)")]
    # t80 = month 60 (March 2025) is beyond the projection: in the description, not drawn
    assert "50% of expected use in June 2022 and 80% of expected use in March 2025" in spec["description"]


def test_diffusion_falls_back_to_the_bass_curve():
    spec = charts.diffusion(diffusion_dict(logistic_converged=False), title="Diffusion", value_label="uptake index")
    curve = layer_with(spec, "line")["data"]["values"]
    at = {r["t"]: r["value"] for r in curve if r["series"] == "Fitted bass curve"}
    m, p, q = BASS["m"], BASS["p"], BASS["q"]
    e = math.exp(-(p + q) * 40)
    assert at[40] == pytest.approx(m * (1 - e) / (1 + q / p * e), rel=1e-12)


def test_diffusion_without_a_fit_draws_england_alone():
    d = diffusion_dict()
    d["fits"] = []
    spec = charts.diffusion(d, title="Diffusion", value_label="uptake index")
    assert [layer.get("mark", {}).get("type") for layer in spec["layer"]] == ["line", None]  # England, target
    assert "fitted" not in spec["description"]


# --- deciles ------------------------------------------------------------------------------------


def test_deciles_draw_dashed_deciles_a_solid_median_and_the_organisation_in_red():
    spec = charts.deciles(DECILES, title="Deciles", value_label="uptake index", highlight=HIGHLIGHT)
    deciles_layer, median_layer, mine = spec["layer"]
    assert len(deciles_layer["data"]["values"]) == 8 * 6 and median_layer["mark"]["strokeWidth"] > 1
    assert [r["value"] for r in median_layer["data"]["values"]] == [r["p50"] for r in DECILES]
    dash = colour_of(deciles_layer["encoding"]["strokeDash"])
    colour = colour_of(deciles_layer["encoding"]["color"])
    assert dash["Deciles (10th to 90th centile)"] != [1, 0] and dash["Median"] == [1, 0]
    assert colour["This organisation"] == "#DA291C"
    assert [r["month"] for r in mine["data"]["values"]] == ["2023-01-01", "2023-02-01", "2023-04-01", "2023-05-01",
                                                           "2023-06-01"]
    assert mine["mark"]["point"] is True


# --- choropleth ---------------------------------------------------------------------------------


def test_choropleth_joins_the_rows_to_the_features_and_greys_areas_without_a_figure():
    spec = charts.choropleth("/maps/icb.geojson", MAP_ROWS, title="Map", level_label="ICB", value_label="index")
    assert spec["data"]["url"] == "/maps/icb.geojson" and spec["projection"]["type"] == "mercator"
    assert spec["height"] == 480
    svg = svg_of(spec)
    areas = re.findall(r'<path[^>]*aria-label="([^"]*)"[^>]*fill="([^"]+)"', svg)
    fills = {re.search(r"Code: (\w+)", label).group(1): fill for label, fill in areas}
    assert set(fills) == {"QAA", "QBB", "QCC"}  # every feature drawn, QZZ (no feature) is not
    assert fills["QCC"] == charts.PALETTE["pale_grey"]
    assert fills["QAA"] != fills["QBB"] and charts.PALETTE["pale_grey"] not in (fills["QAA"], fills["QBB"])
    assert re.search(r'xlink:href="[^"]*/org/QAA/"', svg) and not re.search(r"/org/QCC/", svg)


# --- ranking bar --------------------------------------------------------------------------------


def test_ranking_bar_sorts_the_organisations_with_a_value_and_marks_england():
    spec = charts.ranking_bar(MAP_ROWS + [{"org": "QDD", "name": None, "value": None}], title="Ranking",
                              value_label="uptake index", england=1.1)
    bars = layer_with(spec, "bar")
    assert [b["org"] for b in bars["data"]["values"]] == ["QBB", "QZZ", "QAA"]
    assert bars["encoding"]["y"]["sort"] == "-x"
    assert rules(spec) == [("x", 1.1, "England: 1.1")]
    assert spec["description"] == "3 organisations ranked by uptake index, from 1.6 to 0.4 (England 1.1)."


# --- sparkline ----------------------------------------------------------------------------------


def polyline_points(svg: str) -> list[list[tuple[float, float]]]:
    return [[tuple(map(float, xy.split(","))) for xy in pts.split()]
            for pts in re.findall(r'<polyline points="([^"]*)"', svg)]


def test_sparkline_draws_one_vertex_per_value_and_marks_the_last():
    svg = charts.sparkline_svg([1.0, 3.0, 2.0, 5.0], label="TA1, last 4 months")
    (line,) = polyline_points(svg)
    assert len(line) == 4
    assert line[3][1] < line[2][1] < line[0][1]  # higher values are drawn higher up
    assert re.search(rf'class="last" cx="{line[3][0]}" cy="{line[3][1]}"', svg)
    assert 'role="img"' in svg and 'aria-label="TA1, last 4 months"' in svg


def test_sparkline_breaks_the_line_at_missing_values():
    svg = charts.sparkline_svg([1.0, 2.0, None, 3.0, 4.0, 2.0, None, 5.0, float("nan")], label="x")
    lines = polyline_points(svg)
    assert [len(line) for line in lines] == [2, 3]
    assert sum(map(len, lines)) + svg.count('r="1"') == 6  # the lone 5.0 is a dot
    assert lines[0][1][0] < lines[1][0][0]  # the gap keeps its place


def test_sparkline_escapes_its_label_and_is_empty_without_values():
    svg = charts.sparkline_svg([1.0, 2.0], label='<script>alert("x")</script>')
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert charts.sparkline_svg([None, None], label="x") == ""
    assert charts.sparkline_svg([], label="x") == ""
    assert 'width="120" height="24"' in charts.sparkline_svg([2.0], label="x")

