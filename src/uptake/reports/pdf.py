"""A report as a PDF for a committee pack, drawn with ReportLab (no browser, no system
libraries): A4, a contents outline in the PDF's bookmarks, tables that repeat their heading row
across pages, charts as the portal's Vega-Lite specs rendered to PNG, and on every page the
organisation, the month and the page number.

ReportLab's built-in Helvetica covers Windows-1252 (£, –, —, …, ×, ÷); anything beyond it is
spelt out (≥ as >=) so no glyph is ever missing."""

from __future__ import annotations

import html
import io
import re
import struct
from pathlib import Path

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (Image, KeepTogether, ListFlowable, ListItem, Paragraph, SimpleDocTemplate, Spacer,
                                Table as RLTable, TableStyle)

from ..fsutil import atomic_file
from . import images
from .model import Figure, Report, Section, Table, Text

BLUE = colors.HexColor("#005EB8")
DARK_BLUE = colors.HexColor("#003087")
GREY = colors.HexColor("#4C6272")
PALE = colors.HexColor("#F0F4F5")
RULE = colors.HexColor("#D8DDE0")
YELLOW = colors.HexColor("#FFB81C")
MARGIN = 16 * mm
PNG_SCALE = 1.6  # charts at 1.6 × their pixel size: about 150 dpi as printed
WIDTH = A4[0] - 2 * MARGIN
SPELT = {"≥": ">=", "≤": "<=", "−": "-", "→": "->", "←": "<-", "≈": "~", "✓": "yes", "✗": "no", "τ": "tau",
         "φ": "phi", "σ": "sigma", "²": "2"}
URL = re.compile(r"(https?://[^\s<>\"]+[^\s<>\".,;:)])")


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontName="Helvetica", fontSize=9.5, leading=13)
    return {
        "title": ParagraphStyle("title", parent=body, fontName="Helvetica-Bold", fontSize=20, leading=24,
                                textColor=DARK_BLUE, spaceAfter=4),
        "subtitle": ParagraphStyle("subtitle", parent=body, textColor=GREY, fontSize=10.5, spaceAfter=10),
        "h2": ParagraphStyle("h2", parent=body, fontName="Helvetica-Bold", fontSize=14, leading=18,
                             textColor=DARK_BLUE, spaceBefore=12, spaceAfter=6),
        "h3": ParagraphStyle("h3", parent=body, fontName="Helvetica-Bold", fontSize=11, leading=14,
                             textColor=DARK_BLUE, spaceBefore=8, spaceAfter=4),
        "body": body,
        "note": ParagraphStyle("note", parent=body, textColor=GREY, fontSize=8.5, leading=11),
        "warning": ParagraphStyle("warning", parent=body, backColor=colors.HexColor("#FFF9EC"), borderColor=YELLOW,
                                  borderWidth=0, borderPadding=5, leftIndent=5, spaceBefore=4, spaceAfter=8),
        "meta": ParagraphStyle("meta", parent=body, textColor=GREY, fontSize=7.5, leading=9.5, spaceAfter=8),
        "caption": ParagraphStyle("caption", parent=body, fontName="Helvetica-Bold", fontSize=9, spaceAfter=3),
        "cell": ParagraphStyle("cell", parent=body, fontSize=7.5, leading=9.5),
        "cell_num": ParagraphStyle("cell_num", parent=body, fontSize=7.5, leading=9.5, alignment=TA_RIGHT),
        "head": ParagraphStyle("head", parent=body, fontName="Helvetica-Bold", fontSize=7.5, leading=9.5),
        "head_num": ParagraphStyle("head_num", parent=body, fontName="Helvetica-Bold", fontSize=7.5, leading=9.5,
                                   alignment=TA_RIGHT),
    }


def plain(text: str) -> str:
    """Text Helvetica can draw: known symbols spelt out, anything else outside Windows-1252 as '?'."""
    for k, v in SPELT.items():
        text = text.replace(k, v)
    return text.encode("cp1252", "replace").decode("cp1252")


def _p(text: str, style: ParagraphStyle, links: bool = True) -> Paragraph:
    marked = html.escape(plain(text), quote=False)
    if links:
        marked = URL.sub(lambda m: f'<a href="{m.group(1)}" color="#005EB8">{m.group(1)}</a>', marked)
    return Paragraph(marked, style)


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    return struct.unpack(">II", data[16:24])


class _Doc(SimpleDocTemplate):
    """Puts every h2 and h3 in the PDF's outline (its bookmarks)."""

    def __init__(self, *args, report: Report, **kwargs):
        super().__init__(*args, **kwargs)
        self.report = report
        self._marks = 0

    def afterFlowable(self, flowable):
        if isinstance(flowable, Paragraph) and flowable.style.name in ("h2", "h3"):
            self._marks += 1
            key = f"s{self._marks}"
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(flowable.getPlainText(), key, level=0 if flowable.style.name == "h2" else 1,
                                      closed=True)


def _page(canvas, doc) -> None:
    r = doc.report
    canvas.saveState()
    canvas.setStrokeColor(BLUE)
    canvas.setLineWidth(2)
    canvas.line(MARGIN, A4[1] - 10 * mm, A4[0] - MARGIN, A4[1] - 10 * mm)
    canvas.setFont("Helvetica", 7.5)
    canvas.setFillColor(GREY)
    canvas.drawString(MARGIN, 8 * mm, plain(f"{r.name} · {r.subtitle.split(' · ')[0]} · uptake"))
    canvas.drawRightString(A4[0] - MARGIN, 8 * mm, f"Page {doc.page}")
    canvas.restoreState()


def _table(t: Table, st: dict) -> list:
    out = [_p(t.caption, st["caption"])]
    if not t.rows:
        out += [_p(t.empty, st["body"]), _p(f"{t.period}. Sources: {t.sources}.", st["meta"])]
        return [KeepTogether(out)]
    head = [_p(c.label, st["head_num" if c.numeric else "head"]) for c in t.columns]
    body = [[_p(cell, st["cell_num" if i < len(t.columns) and t.columns[i].numeric else "cell"])
             for i, cell in enumerate(row)] for row in t.rows]
    n = len(t.columns)
    first = min(0.34, 0.2 + 0.03 * max(0, 8 - n)) * WIDTH if n > 2 else WIDTH / 2
    rest = (WIDTH - first) / max(1, n - 1)
    table = RLTable([head] + body, colWidths=[first] + [rest] * (n - 1), repeatRows=1)
    table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), PALE),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]))
    note = f" {t.note}" if t.note else ""
    return [out[0], table, _p(f"{t.period}. Sources: {t.sources}.{note}", st["meta"])]


def _figure(fig: Figure, st: dict) -> list:
    data = images.png(fig.spec, fig.width, fig.height, scale=PNG_SCALE)
    w, h = _png_size(data)
    width = min(WIDTH, fig.width * 0.75)  # CSS pixels to points
    image = Image(io.BytesIO(data), width=width, height=width * h / w)
    image.hAlign = "LEFT"
    return [KeepTogether([image, _p(fig.caption, st["body"]),
                          _p(f"{fig.period}. Sources: {fig.sources}.", st["meta"])])]


def _text(t: Text, st: dict) -> list:
    out = []
    if t.text:
        out.append(_p(t.text, st.get(t.kind, st["body"])))
    if t.items:
        out.append(ListFlowable([ListItem(_p(i, st["body"]), leftIndent=10) for i in t.items],
                                bulletType="bullet", start="•", leftIndent=10))
    return out


def _section(s: Section, st: dict, depth: int) -> list:
    out = [_p(s.title, st["h2" if depth == 2 else "h3"], links=False)]
    for b in s.blocks:
        if isinstance(b, Text):
            out += _text(b, st)
        elif isinstance(b, Table):
            out += _table(b, st)
        else:
            out += _figure(b, st)
    for sub in s.subsections:
        out += _section(sub, st, depth + 1)
    return out


def render(report: Report) -> bytes:
    rl_config.useA85 = 0  # images as binary streams: ASCII85 would make the file 25% larger and cost a second
    st = _styles()
    buf = io.BytesIO()
    doc = _Doc(buf, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=14 * mm, bottomMargin=14 * mm,
               title=plain(report.title), author="uptake", subject=plain(report.subtitle), report=report,
               creator="uptake (https://github.com/) report")
    story = [_p(report.title, st["title"], links=False), _p(report.subtitle, st["subtitle"]),
             _p(f"Published scorecard of {report.published_at[:10]} · online: {report.portal_url}", st["meta"]),
             Spacer(1, 4)]
    for s in report.sections:
        story += _section(s, st, 2)
    story.append(_p("About this report", st["h2"], links=False))
    for term, text in report.about:
        story.append(_p(f"{term}: {text}", st["body"]))
    doc.build(story, onFirstPage=_page, onLaterPages=_page)
    return buf.getvalue()


def write(report: Report, path: str | Path) -> Path:
    path = Path(path)
    with atomic_file(path) as tmp:  # whole or not at all
        tmp.write_bytes(render(report))
    return path
