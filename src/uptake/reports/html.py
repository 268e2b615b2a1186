"""A report as one self-contained HTML file: styles inline, charts as inline SVG drawn on the
server, so it opens offline, prints, and can be attached to committee papers."""

from __future__ import annotations

from pathlib import Path

from django.template import Context, Engine
from django.utils.safestring import mark_safe

from ..fsutil import atomic_file
from . import images
from .model import Figure, Report, Section, Table, Text

TEMPLATES = Path(__file__).parent / "templates"
_engine: Engine | None = None


def engine() -> Engine:
    """Django's template language on its own (no settings needed): autoescaping on."""
    global _engine
    if _engine is None:
        _engine = Engine(dirs=[str(TEMPLATES)], autoescape=True)
    return _engine


def _blocks(section: Section) -> list[dict]:
    out = []
    for b in section.blocks:
        if isinstance(b, Text):
            out.append({"kind": "text", "block": b})
        elif isinstance(b, Table):
            numeric = [c.numeric for c in b.columns]
            out.append({"kind": "table", "block": b,
                        "rows": [[{"text": cell, "num": numeric[i] if i < len(numeric) else False}
                                  for i, cell in enumerate(row)] for row in b.rows]})
        elif isinstance(b, Figure):
            out.append({"kind": "figure", "block": b, "svg": mark_safe(_strip_xml(images.svg(b.spec, b.width, b.height)))})
    return out


def _strip_xml(svg: str) -> str:
    """An SVG document as an element to put inline (without its XML declaration)."""
    if svg.startswith("<?xml"):
        svg = svg.split("?>", 1)[1]
    return svg.strip()


def _section(s: Section, depth: int) -> dict:
    return {"id": s.id, "title": s.title, "blocks": _blocks(s), "depth": depth,
            "subsections": [_section(x, depth + 1) for x in s.subsections]}


def render(report: Report) -> str:
    template = engine().get_template("report.html")
    return template.render(Context({"r": report, "sections": [_section(s, 2) for s in report.sections]}))


def write(report: Report, path: str | Path) -> Path:
    path = Path(path)
    with atomic_file(path) as tmp:  # whole or not at all
        tmp.write_text(render(report), encoding="utf-8")
    return path
