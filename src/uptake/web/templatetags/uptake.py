"""Formatting for the portal's templates: values by headline, flags as NHS tags, charts."""

from __future__ import annotations

import json
import math

from django import template
from django.utils.html import format_html, json_script

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


@register.filter
def shown_to(value, viewer):
    """Recorded text (who did something) with e-mail addresses shown only to administrators."""
    from ..accounts.privacy import public

    return public(value, viewer)


@register.filter
def member_name(person, viewer):
    """A person as others see them: their display name; an administrator also sees the address."""
    from ..accounts.privacy import sees_addresses
    from ..accounts.roles import display_name

    if person is None:
        return "someone"
    return f"{display_name(person)} ({person.email})" if sees_addresses(viewer) else display_name(person)


@register.simple_tag
def chart(spec_id: str, spec: dict, description: str = "") -> str:
    """A Vega-Lite chart: the spec as JSON in the page, drawn by portal.js with vega-embed. The JSON
    goes through Django's json_script, which escapes <, > and & (not only "</"): text in a spec
    (a formulary reason, an organisation's name) can never open a comment or a script in the page."""
    return format_html('<div class="uptake-chart" id="{}" data-spec-id="{}-spec" role="figure" aria-label="{}">'
                       '</div>{}', spec_id, spec_id, description or spec.get("description", ""),
                       json_script(_finite(spec), f"{spec_id}-spec", encoder=_SpecEncoder))


class _SpecEncoder(json.JSONEncoder):
    """Anything JSON has no type for (dates, decimals) as its text, as before."""

    def default(self, o):
        return str(o)


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
    if measure.unit == "actual_cost":
        return f"{formats.signed_money(v)} per {measure.per:,.0f}"
    return f"{v:,.2f} per {measure.per:,.0f}"


@register.filter
def measure_change(v, measure) -> str:
    """A change in a measure's value: a share in percentage points, a rate signed with its unit
    ("−£0.11 per 1,000"); "no change" when it rounds to nothing."""
    if v is None or measure is None:
        return "–"
    if measure.kind == "proportion":
        return formats.points_change(v)
    if round(v, 2) == 0:
        return "no change"
    text = formats.signed_money(v) if measure.unit == "actual_cost" else f"{v:+,.2f}".replace("-", "−")
    return f"{'+' if v > 0 and measure.unit == 'actual_cost' else ''}{text} per {measure.per:,.0f}"


@register.filter
def headline_unit(headline: str) -> str:
    return formats.HEADLINE_UNIT.get(headline, "")


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
