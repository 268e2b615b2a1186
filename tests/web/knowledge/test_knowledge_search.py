"""Search over the knowledge portal on a fixed corpus: the expected item first for ten queries,
facet counts checked against an independent count of the corpus, filters, snippets, and the page
at /search/. The same tests run on PostgreSQL (tests/web/test_knowledge_postgresql.py), which also compares
the two engines' answers item for item."""

from __future__ import annotations

import json
import os
import re
from collections import Counter

import pytest
from django.db import connection
from knowledge_search_corpus import DOCS, EXPECTED_FIRST, answers, load


@pytest.fixture
def corpus(db):
    load()


@pytest.mark.parametrize("query,first", EXPECTED_FIRST)
def test_the_expected_item_comes_first(corpus, query, first):
    from uptake.web.knowledge import search
    got = search.search(query)
    assert got.results, f"{query!r} found nothing on {connection.vendor}"
    assert got.results[0].key == first, f"{query!r} on {connection.vendor}: {[r.key for r in got.results]}"


def _matching(words: list[str]) -> list[tuple]:
    """Independently: corpus items containing every word (as a prefix of a word, case-folded)."""
    def has(doc, w):
        return any(t.startswith(w[:5]) for t in re.findall(r"\w+", f"{doc[2]} {doc[3]}".lower()))
    return [d for d in DOCS if all(has(d, w) for w in words)]


def test_facets_count_the_matching_items(corpus):
    from uptake.web.knowledge import search
    got = search.search("stroke")
    expected = _matching(["stroke"])
    assert got.total == len(expected)
    for name in ("type", "area", "ta", "region"):
        want = Counter(v for d in expected for v in ([d[0]] if name == "type" else d[5].get(name, [])))
        have = {v: n for v, n, _ in got.facets[name]}
        assert have == dict(want), name
    years = Counter(str(d[4].year) for d in expected)
    assert {v: n for v, n, _ in got.facets["year"]} == dict(years)


def test_filters_narrow_within_and_across_facets(corpus):
    from uptake.web.knowledge import search
    everything = search.search("")
    assert everything.total == len(DOCS)
    assert [r.date for r in everything.results] == sorted((d[4] for d in DOCS), reverse=True)  # newest first
    stroke = search.search("", {"area": ["stroke"]})
    assert stroke.total == sum("stroke" in d[5].get("area", []) for d in DOCS)
    either = search.search("", {"area": ["stroke", "osteoporosis"]})  # any value within a facet
    assert either.total == sum(bool({"stroke", "osteoporosis"} & set(d[5].get("area", []))) for d in DOCS)
    both = search.search("", {"area": ["stroke"], "type": ["barrier"]})  # every facet
    assert [r.key for r in both.results] == ["3"]
    assert dict((v, sel) for v, _, sel in both.facets["type"])["barrier"] is True
    assert search.search("", {"region": ["Y63"], "industry": ["yes"]}).total == 1
    assert search.search("apixaban", {"type": ["nonsense"]}).total == 0


def test_stop_words_and_punctuation_alone_find_nothing(corpus):
    from uptake.web.knowledge import search
    assert search.search("the of and").total == 0
    assert search.search("!!! ???").total == 0
    assert search.search("apixaban AND (warfarin)").results[0].key == "doac-switch"  # operators are just words
    assert search.search('"apixaban" OR NEAR').total == 0  # every word is required; none is syntax


def test_snippets_highlight_the_words_and_escape_the_rest(db):
    from uptake.web.knowledge import search
    search.index("wiki", "esc", title="Escaping", body="Dose apixaban when creatinine clearance < 30 & weight > 60 kg.",
                 url="/wiki/esc/", day=None, example=True, facets={})
    got = search.search("apixaban").results[0]
    assert "<mark>apixaban</mark>" in got.snippet
    assert "&lt; 30" in got.snippet and "&amp;" in got.snippet
    assert re.sub(r"</?mark>", "", got.snippet).count("<") == 0
    assert got.example is True


def test_the_search_page_shows_results_facets_and_example_tags(corpus, client):
    from uptake.web.knowledge import search
    html = client.get("/search/?q=atrial+fibrillation").content.decode()
    keys = re.findall(r'data-kind="(\w+)" data-key="([^"]+)"', html)
    assert keys == [(r.kind, r.key) for r in search.search("atrial fibrillation").results]
    assert re.search(r'data-facet="area".*?data-value="stroke"[^>]*>.*?\((\d+)\)', html, re.S).group(1) == "2"
    page = client.get("/search/?q=atrial+fibrillation&type=guide").content.decode()
    assert re.findall(r'data-kind="(\w+)" data-key', page) == ["guide"]
    assert "<mark>" in page


def test_dump_answers_for_the_engine_comparison(corpus):
    """Writes this engine's answers where the PostgreSQL comparison asks for them (a no-op otherwise)."""
    target = os.environ.get("UPTAKE_SEARCH_ANSWERS")
    got = answers()
    assert got["apixaban warfarin"]["order"][0] == "case_study:doac-switch"
    if target:
        with open(target, "w") as f:
            json.dump({"vendor": connection.vendor, "answers": got}, f)
