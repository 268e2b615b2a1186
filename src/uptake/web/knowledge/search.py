"""Full-text search over the knowledge portal, on the database the portal runs on: SQLite's FTS5
(Porter stemming, BM25 ranking with the title weighted 4× the body) on the embedded default,
PostgreSQL's full-text search (English stemming, ts_rank over a title-A/body-B tsvector with a GIN
index) in production. Both see the same query: words of letters and digits, English stop words
dropped, every remaining word required (AND). Filters and facet counts are plain SQL over the
Facet table, so they are the same on both.

Ties in rank are broken by date (newest first) then by kind and key, so an answer is a
deterministic list."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from django.db import connection, transaction

from .models import Facet, SearchDocument
from .text import highlight

FACETS = ["type", "area", "ta", "region", "sector", "industry", "year"]
FACET_LABELS = {"type": "Type", "area": "Clinical area", "ta": "NICE TA", "region": "Region", "sector": "Sector",
                "industry": "Industry-sponsored", "year": "Year"}
KIND_LABELS = {"case_study": "Case study", "guide": "Implementation guide", "wiki": "Wiki page",
               "barrier": "Barrier", "thread": "Discussion"}
MARK_START, MARK_STOP = "\u2983", "\u2984"
MAX_TERMS = 12
# PostgreSQL's English stop words (its `english.stop` list, abridged to the common ones); dropped
# from every query so that SQLite (which has no stop list) and PostgreSQL match alike.
STOP_WORDS = frozenset("""a about above after again against all am an and any are as at be because been before
being below between both but by can did do does doing down during each few for from further had has have having
he her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
now of off on once only or other our ours ourselves out over own same she should so some such than that the their
theirs them themselves then there these they this those through to too under until up very was we were what when
where which while who whom why will with you your yours yourself yourselves""".split())


@dataclass
class Result:
    kind: str
    key: str
    title: str
    url: str
    snippet: str
    date: date | None
    example: bool
    facets: dict[str, list[str]] = field(default_factory=dict)

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


@dataclass
class Answer:
    query: str
    terms: list[str]
    filters: dict[str, list[str]]
    total: int
    results: list[Result]
    facets: dict[str, list[tuple[str, int, bool]]]  # name → (value, count, selected)


def terms_of(query: str) -> list[str]:
    words = [w for w in re.findall(r"[^\W_]+", query.lower()) if w not in STOP_WORDS]
    return list(dict.fromkeys(words))[:MAX_TERMS]


# --- the two engines ------------------------------------------------------------------------------


def _vendor() -> str:
    return connection.vendor


def _engine_query(terms: list[str]) -> str:
    """Every term required, in the engine's own syntax: PostgreSQL's tsquery `a & b`, FTS5's
    `"a" "b"` (quoted, so no term is read as an operator)."""
    if _vendor() == "postgresql":
        return " & ".join(terms)
    return " ".join(f'"{t}"' for t in terms)


def _matches(terms: list[str]) -> list[int]:
    """Document ids matching every term, best first."""
    if _vendor() == "postgresql":
        sql = ("SELECT d.id FROM knowledge_searchdocument d, to_tsquery('english', %s) q "
               "WHERE d.search @@ q ORDER BY ts_rank(d.search, q) DESC, d.date DESC NULLS LAST, d.kind, d.key")
    else:
        sql = ("SELECT d.id FROM knowledge_search_fts f JOIN knowledge_searchdocument d ON d.id = f.rowid "
               "WHERE knowledge_search_fts MATCH %s "
               "ORDER BY bm25(knowledge_search_fts, 4.0, 1.0), d.date IS NULL, d.date DESC, d.kind, d.key")
    with connection.cursor() as cur:
        cur.execute(sql, [_engine_query(terms)])
        return [row[0] for row in cur.fetchall()]


def _snippets(ids: list[int], terms: list[str]) -> dict[int, str]:
    if not ids or not terms:
        return {}
    marks = f'StartSel="{MARK_START}", StopSel="{MARK_STOP}", MaxWords=30, MinWords=12, MaxFragments=2, ' \
            'FragmentDelimiter=" … "'
    holders = ", ".join(["%s"] * len(ids))
    if _vendor() == "postgresql":
        sql = (f"SELECT id, ts_headline('english', body, to_tsquery('english', %s), %s) "
               f"FROM knowledge_searchdocument WHERE id IN ({holders})")
        params = [_engine_query(terms), marks, *ids]
    else:
        sql = (f"SELECT rowid, snippet(knowledge_search_fts, 1, %s, %s, ' … ', 24) FROM knowledge_search_fts "
               f"WHERE knowledge_search_fts MATCH %s AND rowid IN ({holders})")
        params = [MARK_START, MARK_STOP, _engine_query(terms), *ids]
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return dict(cur.fetchall())


# --- the answer -----------------------------------------------------------------------------------


def search(query: str, filters: dict[str, list[str]] | None = None, *, limit: int = 20,
           offset: int = 0) -> Answer:
    """Documents matching `query` (or, with no words, every document, newest first), narrowed by
    `filters` (any of the listed values within a facet, every facet), with facet counts over the
    matching documents."""
    terms = terms_of(query)
    filters = {k: [v for v in vs if v] for k, vs in (filters or {}).items() if k in FACETS}
    filters = {k: vs for k, vs in filters.items() if vs}
    if terms:
        ids = _matches(terms)
    elif query.strip() and not terms:
        ids = []  # only stop words or punctuation
    else:
        ids = list(SearchDocument.objects.order_by("-date", "kind", "key").values_list("id", flat=True))
    facet_rows = list(Facet.objects.filter(document_id__in=ids).values_list("document_id", "name", "value")) \
        if ids else []
    by_doc: dict[int, dict[str, set[str]]] = {}
    for doc, name, value in facet_rows:
        by_doc.setdefault(doc, {}).setdefault(name, set()).add(value)
    kept = [i for i in ids if all(by_doc.get(i, {}).get(name, set()) & set(values)
                                  for name, values in filters.items())]
    counts: dict[str, Counter] = {name: Counter() for name in FACETS}
    for i in kept:
        for name, values in by_doc.get(i, {}).items():
            counts.setdefault(name, Counter()).update(values)
    facets = {}
    for name in FACETS:
        chosen = set(filters.get(name, []))
        values = sorted(counts[name].items(), key=lambda kv: (-kv[1], kv[0]))
        values += [(v, 0) for v in sorted(chosen - set(counts[name]))]
        facets[name] = [(v, n, v in chosen) for v, n in values]
    page = kept[offset:offset + limit]
    docs = SearchDocument.objects.in_bulk(page)
    snippets = _snippets(page, terms)
    results = []
    for i in page:
        d = docs[i]
        text = snippets.get(i) or d.body[:240] + ("…" if len(d.body) > 240 else "")
        results.append(Result(kind=d.kind, key=d.key, title=d.title, url=d.url,
                              snippet=highlight(text, MARK_START, MARK_STOP), date=d.date, example=d.example,
                              facets={k: sorted(v) for k, v in by_doc.get(i, {}).items()}))
    return Answer(query=query, terms=terms, filters=filters, total=len(kept), results=results, facets=facets)


# --- keeping the index up to date -----------------------------------------------------------------


def index(kind: str, key: str, *, title: str, body: str, url: str, day: date | None, example: bool,
          facets: dict[str, list[str]]) -> None:
    """Add or replace one document (the database's triggers or generated column update the
    full-text index in the same transaction)."""
    with transaction.atomic():
        doc, _ = SearchDocument.objects.update_or_create(
            kind=kind, key=str(key),
            defaults={"title": title[:200], "body": body, "url": url, "date": day, "example": example})
        doc.facets.all().delete()
        values = {"type": [kind], **facets}
        if day is not None:
            values["year"] = [str(day.year)]
        Facet.objects.bulk_create([Facet(document=doc, name=name, value=str(v)[:40])
                                   for name, vs in values.items() for v in dict.fromkeys(vs) if v])


def unindex(kind: str, key: str) -> None:
    SearchDocument.objects.filter(kind=kind, key=str(key)).delete()


# --- the schema each engine needs (used by migration 0002) ---------------------------------------

SQLITE_SCHEMA = [
    "CREATE VIRTUAL TABLE knowledge_search_fts USING fts5(title, body, content='knowledge_searchdocument', "
    "content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER knowledge_search_ai AFTER INSERT ON knowledge_searchdocument BEGIN "
    "INSERT INTO knowledge_search_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER knowledge_search_ad AFTER DELETE ON knowledge_searchdocument BEGIN "
    "INSERT INTO knowledge_search_fts(knowledge_search_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); END",
    "CREATE TRIGGER knowledge_search_au AFTER UPDATE ON knowledge_searchdocument BEGIN "
    "INSERT INTO knowledge_search_fts(knowledge_search_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO knowledge_search_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS knowledge_search_au", "DROP TRIGGER IF EXISTS knowledge_search_ad",
               "DROP TRIGGER IF EXISTS knowledge_search_ai", "DROP TABLE IF EXISTS knowledge_search_fts"]
POSTGRES_SCHEMA = [
    "ALTER TABLE knowledge_searchdocument ADD COLUMN search tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(body, '')), 'B')) STORED",
    "CREATE INDEX knowledge_search_gin ON knowledge_searchdocument USING gin (search)",
]
POSTGRES_DROP = ["DROP INDEX IF EXISTS knowledge_search_gin",
                 "ALTER TABLE knowledge_searchdocument DROP COLUMN IF EXISTS search"]


def create_schema(schema_editor) -> None:
    for sql in POSTGRES_SCHEMA if schema_editor.connection.vendor == "postgresql" else SQLITE_SCHEMA:
        schema_editor.execute(sql)


def drop_schema(schema_editor) -> None:
    for sql in POSTGRES_DROP if schema_editor.connection.vendor == "postgresql" else SQLITE_DROP:
        schema_editor.execute(sql)
