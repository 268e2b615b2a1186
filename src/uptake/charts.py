"""The charts of the portal, the reports and the e-mails, drawn once: each function returns a
Vega-Lite v6 specification as a plain, JSON-serialisable dict (data inline, no network), which
the browser draws with vega-embed and the reports with vl-convert. The sparkline alone is a
small SVG string, made here: it is a glyph in a table cell, not worth a Vega view per row.

Inputs are the services' `to_dict()` outputs (services.variation, services.diffusion,
services.scorecard). Every spec has a `title`, a one-sentence `description` (Vega-Lite makes it
the chart's aria-label), `width: "container"` so that it fills its column, and the shared
`config()`: the NHS identity colours and font.
"""

from __future__ import annotations

import calendar
import html
import math
from collections import Counter
from datetime import date
from urllib.parse import quote

from .formats import month_name

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
FONT = '"Frutiger W01", Arial, sans-serif'
PALETTE = {
    "blue": "#005EB8", "dark_blue": "#003087", "bright_blue": "#0072CE", "light_blue": "#41B6E6",
    "dark_grey": "#425563", "mid_grey": "#768692", "pale_grey": "#E8EDEE", "green": "#009639",
    "warm_yellow": "#FFB81C", "red": "#DA291C", "dark_red": "#8A1538", "purple": "#330072",
}
VALUE_FORMAT = ",.3~r"  # d3-format: three significant figures, thousands separated
PROJECTION_MONTHS = 6  # how far the fitted diffusion curve is drawn beyond the last month

# flag_998_od → (legend label, colour, shape): colour is never the only cue.
FLAG_STYLE = {
    "low": ("Below the 99.8% limit, allowing for overdispersion", PALETTE["red"], "triangle-down"),
    "high": ("Above the 99.8% limit, allowing for overdispersion", PALETTE["blue"], "triangle-up"),
    None: ("Within the 99.8% limits, allowing for overdispersion", PALETTE["mid_grey"], "circle"),
}
# The funnel's control limits: label, colour, dash, and the suffix of their curves in
# variation["curves"] (lower_ and upper_ + suffix).
LIMITS = (("95% limits", PALETTE["mid_grey"], [1, 0], "95"),
          ("99.8% limits", PALETTE["dark_grey"], [1, 0], "998"),
          ("99.8% limits, allowing for overdispersion", PALETTE["dark_grey"], [6, 4], "998_od"))
# What each headline's funnel denominator counts (services.funnels.COUNTS).
DENOMINATOR_LABEL = {"index": "Expected patients (NICE's expected use)", "per_1000": "Registered patients",
                     "items_per_1000": "Registered patients", "proportion": "Denominator",
                     "rate_per_1000": "Registered patients"}


def config() -> dict:
    """The shared look: NHS font and colours, readable axis and legend text, no border round the
    view, tooltips from each mark's encoding."""
    text = {"labelFontSize": 12, "titleFontSize": 13, "labelColor": PALETTE["dark_grey"],
            "titleColor": PALETTE["dark_grey"], "titleFontWeight": "bold"}
    return {
        "font": FONT,
        "view": {"stroke": None},
        "title": {"fontSize": 16, "anchor": "start", "color": PALETTE["dark_blue"]},
        "axis": text | {"gridColor": PALETTE["pale_grey"], "domainColor": PALETTE["mid_grey"],
                        "tickColor": PALETTE["mid_grey"], "labelLimit": 260},
        "legend": text | {"orient": "bottom", "direction": "vertical", "labelLimit": 400},
        "mark": {"tooltip": {"content": "encoding"}},
        "range": {"category": [PALETTE[k] for k in ("blue", "warm_yellow", "green", "purple", "light_blue",
                                                    "dark_red", "dark_grey", "bright_blue")]},
    }


def funnel(variation: dict, *, title: str, value_label: str, org_url: str = "/org/{org}/",
           highlight: str | None = None, peers: list[str] | None = None) -> dict:
    """A funnel plot of one TA or measure at one level and month.

    `variation` is `services.variation.Variation.to_dict()`: `points` (org, name, value,
    denominator, flag_998_od, suppressed), `curves` (denominator and lower_/upper_ 95, 998 and
    998_od on a grid) and `scorecard` (headline, month, funnel.target). Draws each organisation
    (x = denominator, log scale when the denominators span more than two orders of magnitude;
    y = value) coloured and shaped by its 99.8% flag allowing for overdispersion, linked to
    `org_url`; the control limits (99.8% with overdispersion dashed); and a rule at the centre
    line. Suppressed points, and points with no value, are left out. With `highlight` (an
    organisation code), that organisation's point is ringed and named (the reports' view of one
    organisation among its peers). With `peers` too (codes), its peers are ringed more lightly.
    """
    card = variation["scorecard"]
    # One scale throughout: services.funnels computes values, limits and the target as
    # numerator/denominator × SCALE[headline] (×1,000 for rates per 1,000, ×1 for the uptake
    # index and shares), so points, curves and the centre line are all in the value's units.
    # The denominator is the count that value is a ratio of (expected patients for the index).
    target = (card.get("funnel") or {}).get("target")
    den_label = DENOMINATOR_LABEL.get(card["headline"], "Denominator")
    points = []
    for p in variation["points"]:
        if p["suppressed"] or p["value"] is None:
            continue
        name, flag = p["name"] or p["org"], FLAG_STYLE.get(p["flag_998_od"], FLAG_STYLE[None])[0]
        points.append({"org": p["org"], "name": name, "value": p["value"], "denominator": p["denominator"],
                       "flag": flag, "url": org_url.format(org=quote(p["org"], safe="")),
                       # what a screen reader says for the point (its aria-label)
                       "about": f"{name} ({p['org']}): {_number(p['value'])}, {flag[0].lower()}{flag[1:]}"})
    curves = variation["curves"]
    limit_rows = [{"denominator": den, "limit": label, "side": side, "value": v}
                  for label, _, _, key in LIMITS for side in ("lower", "upper")
                  for den, v in zip(curves.get("denominator", []), curves.get(f"{side}_{key}", []))
                  if den is not None and v is not None]
    dens = [r["denominator"] for r in points + limit_rows if r["denominator"] and r["denominator"] > 0]
    log = bool(dens) and max(dens) / min(dens) > 100
    x = {"field": "denominator", "type": "quantitative", "title": den_label,
         "scale": {"type": "log"} if log else {"zero": True}}
    y = {"field": "value", "type": "quantitative", "title": value_label}
    layers = []
    if limit_rows:
        layers.append({"data": {"values": limit_rows}, "mark": {"type": "line", "strokeWidth": 1.2},
                       "encoding": {"x": x, "y": y, "detail": {"field": "side"},
                                    "color": _styled("limit", "Control limits", LIMITS, 1, "stroke"),
                                    "strokeDash": _styled("limit", "Control limits", LIMITS, 2, "stroke"),
                                    "tooltip": [{"field": "limit", "title": "Limit"}]}})
    if target is not None:
        layers.append(_rule("y", target, f"Centre line, all organisations together: {_number(target)}",
                            PALETTE["dark_blue"]))
    styles = list(FLAG_STYLE.values())
    layers.append({
        "data": {"values": points},
        "mark": {"type": "point", "filled": True, "size": 70, "opacity": 0.9, "cursor": "pointer"},
        "encoding": {
            "x": x, "y": y, "href": {"field": "url", "type": "nominal"}, "description": {"field": "about"},
            "color": _styled("flag", "Funnel position", styles, 1),
            "shape": _styled("flag", "Funnel position", styles, 2),
            "tooltip": [{"field": "name", "title": "Organisation"}, {"field": "org", "title": "Code"},
                        {"field": "value", "type": "quantitative", "title": value_label, "format": VALUE_FORMAT},
                        {"field": "denominator", "type": "quantitative", "title": den_label,
                         "format": ",.0f"},
                        {"field": "flag", "title": "Funnel position"}]}})
    theirs = [p for p in points if peers and p["org"] in peers]
    if theirs:
        layers.append({"data": {"values": theirs}, "mark": {"type": "point", "size": 200, "strokeWidth": 1.5,
                                                             "color": PALETTE["dark_blue"], "strokeDash": [3, 2]},
                       "encoding": {"x": x, "y": y}})
    mine = [p for p in points if highlight and p["org"] == highlight]
    if mine:
        layers.append({"data": {"values": mine}, "layer": [
            {"mark": {"type": "point", "size": 260, "strokeWidth": 2, "color": PALETTE["dark_blue"]},
             "encoding": {"x": x, "y": y}},
            {"mark": {"type": "text", "align": "left", "dx": 10, "dy": -10, "fontSize": 12, "fontWeight": "bold",
                      "color": PALETTE["dark_blue"]}, "encoding": {"x": x, "y": y, "text": {"field": "name"}}}]})
    low = sum(p["flag"] == FLAG_STYLE["low"][0] for p in points)
    high = sum(p["flag"] == FLAG_STYLE["high"][0] for p in points)
    centre = f" around a centre line of {_number(target)}" if target is not None else ""
    description = (f"Funnel plot of {value_label} against {den_label[0].lower() + den_label[1:]} for "
                   f"{len(points)} organisations in {card['month']}{centre}: {low} below and {high} above the "
                   "99.8% limits allowing for overdispersion."
                   + (f" {mine[0]['about']} is ringed." if mine else "")
                   + (f" Its {len(theirs)} peers shown are ringed with a dashed line: "
                      + "; ".join(t["about"] for t in theirs) + "." if theirs else ""))
    return _spec(title, description, height=380, layer=layers,
                 resolve={"scale": {"color": "independent", "shape": "independent", "strokeDash": "independent"}})


def diffusion(d: dict, *, title: str, value_label: str, highlight: list[dict] | None = None,
              highlight_label: str = "This organisation") -> dict:
    """England's diffusion of one TA since NICE published it.

    `d` is `services.diffusion.Diffusion.to_dict()`: `months` ('YYYY-MM') with
    `months_since_publication` and England's values (`england`), the `fits` (logistic K, r, t0;
    Bass m, p, q; t50, t80) and the `target` (expected use). Draws England's monthly values,
    the fitted logistic curve (the Bass curve if only that converged) over those months and
    `PROJECTION_MONTHS` beyond, the projection dashed, a rule at the target, and rules where the
    fitted curve reaches 50% and 80% of the target when that falls within the months drawn.
    """
    ts, months = d["months_since_publication"], d["months"]
    fit = next((f for model in ("logistic", "bass") for f in d["fits"] if f["model"] == model and f["converged"]),
               None)
    fitted = f"Fitted {fit['model']} curve" if fit else "Fitted curve"
    styles = [("England", PALETTE["blue"], [1, 0]), (fitted, PALETTE["dark_grey"], [1, 0]),
              ("Projection of the fitted curve", PALETTE["dark_grey"], [6, 4])]
    if highlight:  # one organisation's values beside England's, in red (its rows {month, value})
        styles.append((highlight_label, PALETTE["red"], [1, 0]))
    line = {"x": _month_x(), "y": {"field": "value", "type": "quantitative", "title": value_label},
            "color": _styled("series", None, styles, 1, "stroke"),
            "strokeDash": _styled("series", None, styles, 2, "stroke"),
            "tooltip": [{"field": "label", "title": "Month"}, {"field": "series", "title": "Line"},
                        {"field": "value", "type": "quantitative", "title": value_label, "format": VALUE_FORMAT}]}
    observed = [_month_row(f"{m}-01", value=v, series="England") for m, v in zip(months, d["england"]) if v is not None]
    layers = [{"data": {"values": observed}, "mark": {"type": "line", "point": True}, "encoding": line}]
    shown = set(months)
    mine = [_month_row(f"{r['month']}-01", value=r["value"], series=highlight_label)
            for r in highlight or [] if r["month"] in shown and r["value"] is not None]
    if mine:
        layers.append({"data": {"values": mine}, "mark": {"type": "line", "point": True, "strokeWidth": 2},
                       "encoding": line})
    crossings = []
    if fit and months:
        first, last = ts[0], ts[-1]
        start = date(int(months[0][:4]), int(months[0][5:7]), 1)
        parts = [(t, fitted) for t in ts] + [(last + k, styles[2][0]) for k in range(PROJECTION_MONTHS + 1)]
        curve = [_month_row(_months_after(start, t - first), t=t, value=curve_value(fit, t), series=part)
                 for t, part in parts]
        layers.insert(0, {"data": {"values": curve}, "mark": {"type": "line", "strokeWidth": 2},
                          "encoding": line | {"tooltip": line["tooltip"] + [
                              {"field": "t", "title": "Months since publication"}]}})
        what = "expected use" if d["headline"] == "index" else "England's latest value"
        for share in ("50", "80"):
            t = fit[f"t{share}"]
            if t is not None:
                when = _months_after(start, t - first)
                crossings.append(f"{share}% of {what} in {month_name(when)}")
                if first <= t <= last + PROJECTION_MONTHS:  # else the rule would stretch the axis
                    layers.append(_rule("x", when, f"{share}% of {what}", PALETTE["mid_grey"], dash=[2, 2]))
    if d.get("target") is not None:
        layers.append(_rule("y", d["target"], d["target_label"], PALETTE["dark_blue"]))
    with_fit = f", with a {fitted.lower()}" if fit else ""
    passes = f" that passes {' and '.join(crossings)}" if crossings else ""
    description = (f"England's {value_label} for {d['ta']} each month{_span(months)} (NICE published it on "
                   f"{d['published']}){with_fit}{passes}" + (f", with {highlight_label}'s values in red." if mine
                                                             else "."))
    return _spec(title, description, height=320, layer=layers)


def curve_value(fit: dict, t: float) -> float:
    """A fitted diffusion curve (a `fits` entry) at t months after publication, as in
    engine.stats.diffusion: logistic K / (1 + e^{−r(t − t₀)}); Bass m(1 − e^{−(p+q)t}) /
    (1 + (q/p)e^{−(p+q)t}), with t ≤ 0 taken as 0."""
    k = fit["params"]
    if fit["model"] == "logistic":
        power = -k["r"] * (t - k["t0"])
        return 0.0 if power > 700 else k["K"] / (1.0 + math.exp(power))  # e^700 is near float's limit
    e = math.exp(-(k["p"] + k["q"]) * max(t, 0.0))
    return k["m"] * (1.0 - e) / (1.0 + (k["q"] / k["p"]) * e)


def deciles(series: list[dict], *, title: str, value_label: str, highlight: list[dict] | None = None,
            highlight_label: str = "This organisation") -> dict:
    """The deciles chart (as OpenPrescribing draws it): for each month, the 10th to 90th
    centiles of the organisations' values as thin dashed blue lines and the median solid and
    thicker; with `highlight`, one organisation's values as a red line with points.

    `series` rows are {month: 'YYYY-MM', p10 … p90}; `highlight` rows {month, value}, named in
    the legend by `highlight_label`.
    """
    styles = [("Deciles (10th to 90th centile)", PALETTE["light_blue"], [4, 3], 1),
              ("Median", PALETTE["dark_blue"], [1, 0], 2.5), (highlight_label, PALETTE["red"], [1, 0], 2)]
    shown = styles if highlight else styles[:2]
    tooltip = [{"field": "label", "title": "Month"}, {"field": "centile", "title": "Centile"},
               {"field": "value", "type": "quantitative", "title": value_label, "format": VALUE_FORMAT}]
    encoding = {"x": _month_x(), "y": {"field": "value", "type": "quantitative", "title": value_label},
                "color": _styled("line", None, shown, 1, "stroke"),
                "strokeDash": _styled("line", None, shown, 2, "stroke"),
                "detail": {"field": "centile"}, "tooltip": tooltip}
    rows = [_month_row(f"{r['month']}-01", centile=_ordinal(int(k[1:])), value=v,
                       line=styles[1][0] if k == "p50" else styles[0][0])
            for r in series for k, v in r.items() if k != "month" and v is not None]
    layers = [{"data": {"values": [r for r in rows if r["line"] == name]},
               "mark": {"type": "line", "strokeWidth": width}, "encoding": encoding}
              for name, _, _, width in styles[:2]]
    description = f"Deciles of {value_label} across organisations each month{_span([r['month'] for r in series])}"
    if highlight:
        mine = [_month_row(f"{r['month']}-01", value=r["value"], line=styles[2][0])
                for r in highlight if r["value"] is not None]
        layers.append({"data": {"values": mine}, "mark": {"type": "line", "strokeWidth": 2, "point": True},
                       "encoding": encoding | {"detail": {"field": "line"}, "tooltip": [tooltip[0], tooltip[2]]}})
        who = "one organisation" if highlight_label == "This organisation" else highlight_label
        description += f", with {who}'s values in red"
    return _spec(title, description + ".", height=320, layer=layers)


def choropleth(geojson_url: str, rows: list[dict], *, title: str, level_label: str, value_label: str,
               org_url: str = "/org/{org}/", feature_code: str = "code", highlight: str | None = None,
               highlight_label: str = "This organisation") -> dict:
    """A map of one value per organisation: the GeoJSON at `geojson_url` (features whose
    properties hold the ODS code, under `feature_code`, and `name`) joined to `rows` ({org,
    name, value, flag_998_od}), shaded from light to dark blue by value, NHS Pale Grey where
    there is no figure; each area in `rows` links to its organisation page (`org_url`).
    """
    values = [{"org": r["org"], "value": r["value"], "url": org_url.format(org=quote(r["org"], safe="")),
               "shown": _number(r["value"]) if r["value"] is not None else None,
               "flag": FLAG_STYLE.get(r.get("flag_998_od"), FLAG_STYLE[None])[0] if r["value"] is not None else None}
              for r in rows]
    code = f"properties.{feature_code}"
    figures = [v["value"] for v in values if v["value"] is not None]
    description = (f"Map of {value_label} by {level_label}: {len(figures)} areas shaded from light blue "
                   f"(lowest{_paren(min(figures, default=None))}) to dark blue "
                   f"(highest{_paren(max(figures, default=None))}), grey where there is no figure.")
    areas = {
        # invalid "show": areas with no figure are drawn (in grey), not filtered out
        "mark": {"type": "geoshape", "stroke": "white", "strokeWidth": 0.5, "cursor": "pointer", "invalid": "show"},
        "encoding": {
            "color": {"condition": {"test": "!isValid(datum.value)", "value": PALETTE["pale_grey"]},
                      "field": "value", "type": "quantitative", "title": value_label,
                      "scale": {"range": [PALETTE["light_blue"], PALETTE["blue"], PALETTE["dark_blue"]]}},
            "href": {"field": "url", "type": "nominal"},
            "tooltip": [{"field": "properties.name", "title": level_label.capitalize()},
                        {"field": code, "title": "Code"}, {"field": "shown", "title": value_label},
                        {"field": "flag", "title": "Funnel position"}]}}
    body: dict = areas
    if highlight:  # the organisation outlined in red, drawn over its neighbours
        body = {"layer": [areas, {"transform": [{"filter": {"field": code, "equal": highlight}}],
                                  "mark": {"type": "geoshape", "fill": None, "stroke": PALETTE["red"],
                                           "strokeWidth": 2.5},
                                  "encoding": {"tooltip": [{"field": "properties.name", "title": highlight_label}]}}]}
        description += f" {highlight_label} ({highlight}) is outlined in red."
    return _spec(
        title, description, height=480,
        data={"url": geojson_url, "format": {"type": "json", "property": "features"}},
        transform=[
            {"lookup": code, "from": {"data": {"values": values}, "key": "org",
                                      "fields": ["value", "shown", "flag", "url"]}},
            {"calculate": "isValid(datum.shown) ? datum.shown : 'No figure'", "as": "shown"}],
        projection={"type": "mercator"}, **body)


def category_map(geojson_url: str, rows: list[dict], *, title: str, level_label: str, legend: str,
                 categories: list[tuple[str, str, str]], org_url: str = "/org/{org}/",
                 feature_code: str = "code") -> dict:
    """A map of one category per organisation (e.g. formulary compliance status): `rows` are
    {org, category, detail}; `categories` are (category, label, colour) in legend order. Areas
    not in `rows` are NHS Pale Grey; each area in `rows` links to `org_url`."""
    labels = {c: label for c, label, _ in categories}
    values = [{"org": r["org"], "label": labels.get(r["category"], r["category"]), "detail": r.get("detail") or "",
               "url": org_url.format(org=quote(r["org"], safe=""))} for r in rows]
    counts = {label: sum(v["label"] == label for v in values) for _, label, _ in categories}
    description = (f"Map of {legend.lower()} by {level_label}: "
                   + "; ".join(f"{n} {label.lower()}" for label, n in counts.items() if n) + ".")
    code = f"properties.{feature_code}"
    return _spec(
        title, description, height=480,
        data={"url": geojson_url, "format": {"type": "json", "property": "features"}},
        transform=[{"lookup": code, "from": {"data": {"values": values}, "key": "org",
                                             "fields": ["label", "detail", "url"]}},
                   {"calculate": "isValid(datum.label) ? datum.label : 'No record'", "as": "label"}],
        projection={"type": "mercator"},
        mark={"type": "geoshape", "stroke": "white", "strokeWidth": 0.5, "cursor": "pointer"},
        encoding={
            "color": {"field": "label", "type": "nominal", "title": legend,
                      "scale": {"domain": [label for _, label, _ in categories] + ["No record"],
                                "range": [colour for _, _, colour in categories] + [PALETTE["pale_grey"]]}},
            "href": {"field": "url", "type": "nominal"},
            "tooltip": [{"field": "properties.name", "title": level_label.capitalize()},
                        {"field": code, "title": "Code"}, {"field": "label", "title": legend},
                        {"field": "detail", "title": "Detail"}]})


def ranking_bar(rows: list[dict], *, title: str, value_label: str, england: float | None) -> dict:
    """Horizontal bars of each organisation's value, highest first, with England's value as a
    rule (for the reports). `rows` are scorecard rows ({org, name, value}); rows with no value
    (suppressed or not computed) are left out."""
    shown = sorted((r for r in rows if r["value"] is not None), key=lambda r: -r["value"])
    names = Counter(r["name"] for r in shown)
    bars = [{"org": r["org"], "value": r["value"],
             "label": r["name"] if r["name"] and names[r["name"]] == 1 else f"{r['name'] or ''} ({r['org']})".strip()}
            for r in shown]
    layers = [{"data": {"values": bars}, "mark": {"type": "bar", "color": PALETTE["blue"]},
               "encoding": {"y": {"field": "label", "type": "nominal", "sort": "-x", "title": None},
                            "x": {"field": "value", "type": "quantitative", "title": value_label},
                            "tooltip": [{"field": "label", "title": "Organisation"},
                                        {"field": "value", "type": "quantitative", "title": value_label,
                                         "format": VALUE_FORMAT}]}}]
    if england is not None:
        layers.append(_rule("x", england, f"England: {_number(england)}", PALETTE["dark_red"]))
    top = f", from {_number(shown[0]['value'])} to {_number(shown[-1]['value'])}" if shown else ""
    eng = f" (England {_number(england)})" if england is not None else ""
    description = f"{len(bars)} organisations ranked by {value_label}{top}{eng}."
    return _spec(title, description, height={"step": 18}, layer=layers)


def relative_to_england(rows: list[dict], *, title: str, name: str) -> dict:
    """One organisation's value for each TA as a percentage of England's (England = 100), a dot
    per TA on one axis, so leads and lags across TAs measured in different units read together.
    `rows` are {ta, label, relative (value ÷ England × 100), flag_998_od}; rows without a
    relative value are left out. Dots keep the funnel flag's colour and shape."""
    shown = sorted((r for r in rows if r.get("relative") is not None), key=lambda r: -r["relative"])
    styles = list(FLAG_STYLE.values())
    dots = [{"ta": r["ta"], "label": r["label"], "relative": r["relative"], "england": 100,
             "flag": FLAG_STYLE.get(r.get("flag_998_od"), FLAG_STYLE[None])[0]} for r in shown]
    layers = [
        {"data": {"values": dots}, "mark": {"type": "rule", "color": PALETTE["pale_grey"], "strokeWidth": 2},
         "encoding": {"y": {"field": "label", "type": "nominal", "sort": None, "title": None},
                      "x": {"field": "england", "type": "quantitative"}, "x2": {"field": "relative"}}},
        {"data": {"values": dots}, "mark": {"type": "point", "filled": True, "size": 80},
         "encoding": {"y": {"field": "label", "type": "nominal", "sort": None, "title": None},
                      "x": {"field": "relative", "type": "quantitative", "title": "% of England's value",
                            "scale": {"zero": False}},
                      "color": _styled("flag", "Funnel position", styles, 1),
                      "shape": _styled("flag", "Funnel position", styles, 2),
                      "tooltip": [{"field": "label", "title": "TA"},
                                  {"field": "relative", "type": "quantitative", "title": "% of England",
                                   "format": ".0f"}, {"field": "flag", "title": "Funnel position"}]}},
        _rule("x", 100, "England = 100", PALETTE["dark_blue"]),
    ]
    above = sum(r["relative"] > 100 for r in shown)
    description = (f"{name}'s value for {len(shown)} TAs as a percentage of England's: {above} above England "
                   f"and {len(shown) - above} at or below.")
    return _spec(title, description, height={"step": 20}, layer=layers)


def sparkline_svg(values: list[float | None], *, label: str, width: int = 120, height: int = 24) -> str:
    """A tiny line of `values` (oldest first) as inline SVG: one polyline per run of values (a
    missing value breaks the line; a lone value between gaps is a dot), the last value marked.
    `label` is its text alternative. "" when there is no value at all."""
    known = [(i, v) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    if not known:
        return ""
    pad = 2.5
    low, high = min(v for _, v in known), max(v for _, v in known)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad + i * (width - 2 * pad) / (len(values) - 1) if len(values) > 1 else width / 2
        y = height / 2 if high == low else height - pad - (v - low) / (high - low) * (height - 2 * pad)
        return round(x, 2), round(y, 2)

    runs: list[list[tuple[float, float]]] = []
    for n, (i, v) in enumerate(known):
        if n == 0 or i != known[n - 1][0] + 1:
            runs.append([])
        runs[-1].append(xy(i, v))
    parts = [f'<polyline points="{" ".join(f"{x},{y}" for x, y in run)}" fill="none" stroke="{PALETTE["blue"]}" '
             'stroke-width="1.5" stroke-linejoin="round"/>' if len(run) > 1 else
             f'<circle cx="{run[0][0]}" cy="{run[0][1]}" r="1" fill="{PALETTE["blue"]}"/>' for run in runs]
    x, y = xy(*known[-1])
    parts.append(f'<circle class="last" cx="{x}" cy="{y}" r="2.2" fill="{PALETTE["dark_blue"]}"/>')
    text = html.escape(label)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{text}"><title>{text}</title>'
            + "".join(parts) + "</svg>")


# --- helpers -------------------------------------------------------------------------------------


def _spec(title: str, description: str, *, height: int | dict, **body) -> dict:
    return {"$schema": SCHEMA, "title": title, "description": description, "width": "container",
            "height": height, "config": config(), **body}


def _styled(field: str, title: str | None, styles: list[tuple], index: int, symbol: str = "circle") -> dict:
    """A nominal encoding of `field` whose scale maps each style's name (its first element) to
    its element `index` (a colour, shape or dash), listing every category in a fixed order;
    `symbol` is the legend's ("stroke" for lines)."""
    return {"field": field, "type": "nominal", "title": title, "legend": {"symbolType": symbol},
            "scale": {"domain": [s[0] for s in styles], "range": [s[index] for s in styles]}}


def _rule(channel: str, at, label: str, colour: str, dash: list[int] | None = None) -> dict:
    """A rule across the chart at `at` on `channel` ('x' or 'y'; an ISO date is a month on the
    x axis) with `label` written beside it: above the top of a vertical rule, above the
    right-hand end of a horizontal one."""
    position = {channel: _month_x() if isinstance(at, str) else {"field": "at", "type": "quantitative"}}
    position[channel]["field"] = "at"
    text = ({"align": "left", "baseline": "bottom", "dx": 3, "y": 0, "dy": -3} if channel == "x" else
            {"align": "right", "baseline": "bottom", "dy": -3, "x": "width", "dx": -4})
    return {"data": {"values": [{"at": at, "label": label}]},
            "layer": [{"mark": {"type": "rule", "color": colour, "strokeWidth": 1.5, "strokeDash": dash or [1, 0]},
                       "encoding": position | {"tooltip": [{"field": "label", "title": "Line"}]}},
                      {"mark": {"type": "text", "color": colour, "fontSize": 11} | text,
                       "encoding": position | {"text": {"field": "label"}}}]}


def _month_x() -> dict:
    # Months are ISO dates read as UTC midnight, so a time zone never shifts them a day back.
    return {"field": "month", "type": "temporal", "title": None, "scale": {"type": "utc"},
            "axis": {"format": "%b %Y", "labelOverlap": True}}


def _months_after(start: date, months: float) -> str:
    """The ISO date `months` after the first of `start`'s month; a fraction of a month is that
    share of its days."""
    whole = math.floor(months)
    year, month = divmod(start.year * 12 + start.month - 1 + whole, 12)
    day = 1 + int((months - whole) * calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day).isoformat()


def _month_row(iso: str, **fields) -> dict:
    return {"month": iso, "label": month_name(iso), **fields}


def _span(months: list[str]) -> str:
    return f" from {month_name(months[0] + '-01')} to {month_name(months[-1] + '-01')}" if months else ""


def _ordinal(n: int) -> str:
    return f"{n}th" if n != 50 else "50th (median)"


def _number(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def _paren(v: float | None) -> str:
    return "" if v is None else f", {_number(v)}"
