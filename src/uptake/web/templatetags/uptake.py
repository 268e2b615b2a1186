"""Formatting for the portal's templates: values by headline, flags as NHS tags, charts."""

from __future__ import annotations

import json
import math

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from ... import formats

register = template.Library()

FLAG_TAGS = {
    "low": "nhsuk-tag--red",
    "high": "nhsuk-tag--blue",
    "not significant": "nhsuk-tag--grey",
}


@register.filter
def headline_value(v, headline: str) -> str:
    """An uptake index or share as a percentage; a rate to 2 decimals."""
    return formats.headline_value(v, headline)


@register.filter
def number(v, places: int = 0) -> str:
    return formats.number(v, places)


@register.filter
def about(v) -> str:
    """People, rounded no more precisely than the sources (formats.about)."""
    return formats.about(v)


@register.filter
def percent(v) -> str:
    return formats.percent(v)


@register.filter
def flag_tag(flag) -> str:
    """The overdispersed 99.8% funnel flag as an NHS tag (text, not colour alone)."""
    if not flag:
        return "—"
    text, cls = formats.flag(flag), FLAG_TAGS.get(flag, "nhsuk-tag--grey")
    return format_html('<strong class="nhsuk-tag {}">{}</strong>', cls, text)


@register.simple_tag
def chart(spec_id: str, spec: dict, description: str = "") -> str:
    """A Vega-Lite chart: the spec as JSON in the page, drawn by portal.js with vega-embed."""
    data = json.dumps(_finite(spec), allow_nan=False, default=str).replace("</", "<\\/")
    return format_html('<div class="uptake-chart" id="{}" data-spec-id="{}-spec" role="figure" aria-label="{}">'
                       '</div><script type="application/json" id="{}-spec">{}</script>',
                       spec_id, spec_id, description or spec.get("description", ""), spec_id, mark_safe(data))


def _finite(v):
    """JSON has no NaN or infinity: they become null."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


@register.simple_tag(takes_context=True)
def query(context, **changes) -> str:
    """The current query string with some parameters changed (None removes one)."""
    params = context["request"].GET.copy()
    for k, v in changes.items():
        if v is None:
            params.pop(k, None)
        else:
            params[k] = v
    return "?" + params.urlencode() if params else "?"


@register.filter
def get_item(mapping, key):
    return mapping.get(key, key)


@register.filter
def measure_value(v, measure) -> str:
    """A measure's value as people read it: a share as a percentage, a rate per N patients."""
    if v is None or measure is None:
        return "–"
    if measure.kind == "proportion":
        return f"{v * 100:.1f}%"
    unit = "£" if measure.unit == "actual_cost" else ""
    return f"{unit}{v:,.2f} per {measure.per:,.0f}"


@register.filter
def lookup(mapping, key):
    """mapping[key], or None when it has no such key (get_item gives the key back instead)."""
    return mapping.get(key) if mapping else None


@register.filter
def markdown(text) -> str:
    """A member's Markdown as sanitised HTML (knowledge.text.render)."""
    from ..knowledge.text import render

    return render(text)


@register.filter
def heat(count, top) -> int:
    """A heatmap cell's shade, 0 (none) to 4 (the most in the table)."""
    if not count:
        return 0
    return max(1, min(4, math.ceil(4 * count / max(top, 1))))
