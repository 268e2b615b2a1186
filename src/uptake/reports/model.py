"""A report as plain data, written once and drawn twice (HTML and PDF): sections of text,
tables and charts, each table and chart carrying its period and its sources, so that a page
torn out of the report still says what it shows."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Text:
    """A paragraph, or a bulleted list when `items` is given (then `text` introduces it)."""

    text: str = ""
    items: list[str] = field(default_factory=list)
    kind: str = "body"  # body | note | warning


@dataclass
class Column:
    label: str
    numeric: bool = False


@dataclass
class Table:
    caption: str
    columns: list[Column]
    rows: list[list[str]]  # cells already formatted for reading
    period: str
    sources: str
    note: str = ""
    empty: str = "None."  # what to say when there are no rows


@dataclass
class Figure:
    """A chart: an `uptake.charts` Vega-Lite spec, drawn on the server."""

    spec: dict
    caption: str
    period: str
    sources: str
    width: int = 640
    height: int | None = None  # the spec's own when None


Block = Text | Table | Figure


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    subsections: list[Section] = field(default_factory=list)

    def add(self, *blocks: Block) -> Section:
        self.blocks.extend(b for b in blocks if b is not None)
        return self


@dataclass
class Report:
    """The monthly report of an ICB (level 'icb') or of England (level 'england')."""

    code: str
    name: str
    level: str
    month: str  # YYYY-MM, the latest month of prescribing it reports
    as_of: str  # YYYY-MM-DD, the day formulary deadlines are counted to
    title: str
    subtitle: str
    published_at: str
    portal_url: str  # the organisation's page on the portal
    summary: list[str] = field(default_factory=list)  # the headline, one sentence each
    sections: list[Section] = field(default_factory=list)
    about: list[tuple[str, str]] = field(default_factory=list)  # (term, what it says)

    def figures(self) -> list[Figure]:
        out: list[Figure] = []

        def walk(section: Section) -> None:
            out.extend(b for b in section.blocks if isinstance(b, Figure))
            for s in section.subsections:
                walk(s)

        for s in self.sections:
            walk(s)
        return out

    def text(self) -> str:
        """Every word the report says (titles, sentences, table cells, captions): what a reader of
        either format reads, for search and for tests."""
        parts = [self.title, self.subtitle, *self.summary]

        def walk(section: Section) -> None:
            parts.append(section.title)
            for b in section.blocks:
                if isinstance(b, Text):
                    parts.extend([b.text, *b.items])
                elif isinstance(b, Table):
                    parts.extend([b.caption, b.period, b.sources, b.note, *[c.label for c in b.columns]])
                    parts.extend(cell for row in b.rows for cell in row)
                else:
                    parts.extend([b.caption, b.period, b.sources])
            for s in section.subsections:
                walk(s)

        for s in self.sections:
            walk(s)
        parts.extend(f"{k}: {v}" for k, v in self.about)
        return "\n".join(p for p in parts if p)
