"""The portal's charts drawn on the server, with no browser: each `uptake.charts` spec rendered
by vl-convert (Vega's own renderer, embedded) to SVG for HTML pages and e-mails, or to PNG for
PDFs and inline e-mail images.

A page's specs say `width: "container"` (fill the column); here there is no container, so the
width is given in pixels. Fonts: the NHS stack falls back to Arial, then to the renderer's
bundled sans-serif, so a machine without Arial draws the same chart in a similar face.
"""

from __future__ import annotations

import copy

from ..errors import UptakeError

DEFAULT_WIDTH = 640


class ChartError(UptakeError):
    pass


def _converter():
    try:
        import vl_convert
    except ImportError:  # pragma: no cover - a main dependency
        raise ChartError("vl-convert-python is not installed: reinstall uptake (it is a dependency)") from None
    return vl_convert


def sized(spec: dict, width: int = DEFAULT_WIDTH, height: int | None = None) -> dict:
    """A copy of `spec` with a fixed width (and height), no links and no interactive tooltips:
    what a static image can show. Data stay inline; a spec whose data is a URL (the maps) is
    refused, since the renderer would fetch it from the internet."""
    out = copy.deepcopy(spec)
    if _has_url(out):
        raise ChartError(f"chart {spec.get('title')!r}: its data is a URL; put the data inline to draw it here")
    out["width"] = width
    if height is not None:
        out["height"] = height
    out.setdefault("config", {})
    out["config"] = {**out["config"], "mark": {**out["config"].get("mark", {}), "tooltip": False}}
    out["background"] = "white"
    return out


def _has_url(node) -> bool:
    if isinstance(node, dict):
        data = node.get("data")
        if isinstance(data, dict) and "url" in data:
            return True
        return any(_has_url(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_url(v) for v in node)
    return False


def svg(spec: dict, width: int = DEFAULT_WIDTH, height: int | None = None) -> str:
    """The chart as an SVG document (text)."""
    try:
        return _converter().vegalite_to_svg(sized(spec, width, height))
    except ChartError:
        raise
    except Exception as exc:  # vl-convert raises ValueError/RuntimeError with Vega's message
        raise ChartError(f"chart {spec.get('title')!r} could not be drawn: {exc}") from exc


def png(spec: dict, width: int = DEFAULT_WIDTH, height: int | None = None, scale: float = 2.0) -> bytes:
    """The chart as PNG bytes, drawn at `scale` × its size in pixels (2 for print and
    high-density screens)."""
    try:
        return _converter().vegalite_to_png(sized(spec, width, height), scale=scale)
    except ChartError:
        raise
    except Exception as exc:
        raise ChartError(f"chart {spec.get('title')!r} could not be drawn: {exc}") from exc
