"""The portal's pages show the engine's numbers. The pages read the published scorecard; the
independent side here is the live engine on the same warehouse (`open_analysis` and the scorecard,
profile and variation services), queried for the same TA, level and month. Numbers are read back
from the HTML (data-* attributes for exact values, the text for what a reader sees), suppression
included: figures from 1–4 items show as 'hidden'. Also: search tolerates typos, bad requests get
a 4xx page with a message, the CSV download matches the engine and hides small counts, /healthz."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

import pytest

from uptake.services.analysis import open_analysis
from uptake.services.scorecard import DEFAULT_MIN_ITEMS, SUPPRESSIBLE, profile, scorecard
from uptake.services.variation import variation
from uptake.web.templatetags.uptake import headline_value, number

MONTH = "2022-09"
PAGE_SIZE = 50


@pytest.fixture(scope="module")
def engine(tiny_warehouse):
    """The live engine on the warehouse the publication was made from."""
    with open_analysis(tiny_warehouse) as an:
        yield an


# --- reading pages ------------------------------------------------------------------------------


class Node:
    def __init__(self, tag: str, attrs: dict):
        self.tag, self.attrs, self.children, self.parts = tag, attrs, [], []

    @property
    def text(self) -> str:
        out = "".join(p if isinstance(p, str) else p.text for p in self.parts)
        return re.sub(r"\s+", " ", out).strip()

    def visible_text(self) -> str:
        """The text without the responsive-table headings that are hidden from view."""
        out = "".join(p if isinstance(p, str) else
                      ("" if "nhsuk-table-responsive__heading" in (p.attrs.get("class") or "") else p.visible_text())
                      for p in self.parts)
        return re.sub(r"\s+", " ", out).strip()

    def iter(self):
        yield self
        for c in self.children:
            yield from c.iter()

    def find_all(self, tag: str | None = None, **attrs) -> list[Node]:
        return [n for n in self.iter() if (tag is None or n.tag == tag)
                and all((n.attrs.get(k.replace("_", "-")) == v) if v is not True else k.replace("_", "-") in n.attrs
                        for k, v in attrs.items())]

    def find(self, tag: str | None = None, **attrs) -> Node:
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag or '*'} {attrs}> in the page"
        return found[0]


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: (v if v is not None else "") for k, v in attrs})
        self.stack[-1].children.append(node)
        self.stack[-1].parts.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        self.stack[-1].parts.append(data)


def page(client, url: str, status: int = 200) -> Node:
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code, r.content[:500])
    b = _Builder()
    b.feed(r.content.decode())
    return b.root


def value_of(attr: str) -> float | None:
    return float(attr) if attr != "" else None


def same(got: float | None, want: float | None) -> bool:
    return got is None and want is None or (got is not None and want is not None
                                           and got == pytest.approx(want, rel=1e-12, abs=1e-15))


# --- the TA page: ranking, England, variation ---------------------------------------------------


def ranking_rows(doc: Node) -> list[dict]:
    table = doc.find("table", id="ranking")
    out = []
    for tr in table.find_all("tr", data_org=True):
        tds = tr.find_all("td")
        value_cell = next(td for td in tds if "data-value" in td.attrs)
        out.append({"org": tr.attrs["data-org"], "rank": tds[0].visible_text(),
                    "value": value_of(value_cell.attrs["data-value"]), "shown": value_cell.visible_text()})
    return out


def expected_ranking(card) -> list[dict]:
    """The engine's rows in the page's default order (value, highest first; no value last), ranked
    1, 2, 3… among those with a value, hidden rows last and unranked."""
    with_value = [r for r in card.rows if r.value is not None]
    without = [r for r in card.rows if r.value is None]
    out = [{"org": r.org, "rank": str(i + 1), "value": r.value, "shown": headline_value(r.value, card.headline)}
           for i, r in enumerate(with_value)]
    out += [{"org": r.org, "rank": "—", "value": None,
             "shown": "hidden" if r.suppressed else headline_value(None, card.headline)} for r in without]
    return out


def assert_rows_equal(got: list[dict], want: list[dict]):
    assert [g["org"] for g in got] == [w["org"] for w in want]
    for g, w in zip(got, want):
        assert same(g["value"], w["value"]), (g, w)
        assert (g["rank"], g["shown"]) == (w["rank"], w["shown"]), (g, w)


@pytest.mark.parametrize("level,page_no", [("icb", 1), ("practice", 1), ("practice", 2)])
def test_ta_ranking_equals_the_engine(client, engine, level, page_no):
    card = scorecard(engine, "TA275", level, MONTH)
    want = expected_ranking(card)
    assert len(want) > PAGE_SIZE or level != "practice", "the tiny NHS has too few practices for a page 2"
    doc = page(client, f"/ta/TA275/?level={level}&month={MONTH}&page={page_no}")
    got = ranking_rows(doc)
    assert_rows_equal(got, want[(page_no - 1) * PAGE_SIZE: page_no * PAGE_SIZE])
    assert f"{len(card.rows)} organisations" in doc.find("section", aria_labelledby="h-ranking").text


@pytest.fixture(scope="module")
def small_counts(pub):
    """A TA with ICBs that had 1–4 items in MONTH (their figures are hidden), from the publication."""
    rows = pub.query("SELECT ta, count(*) AS n FROM ta_scorecard WHERE level = 'icb' AND month = ? "
                     f"AND items > 0 AND items < {DEFAULT_MIN_ITEMS} GROUP BY ta ORDER BY n DESC, ta",
                     [f"{MONTH}-01"]).to_pylist()
    assert rows, "the tiny NHS has no ICB with 1-4 items of any TA in the month"
    return rows[0]["ta"]


def test_ta_ranking_hides_figures_from_few_items(client, engine, small_counts):
    card = scorecard(engine, small_counts, "icb", MONTH)
    hidden = {r.org for r in card.rows if r.suppressed}
    full = {r.org: r for r in scorecard(engine, small_counts, "icb", MONTH, min_items=0).rows}
    assert hidden and all(0 < full[o].items < DEFAULT_MIN_ITEMS for o in hidden)
    got = ranking_rows(page(client, f"/ta/{small_counts}/?level=icb&month={MONTH}"))
    assert_rows_equal(got, expected_ranking(card))
    shown_hidden = {g["org"] for g in got if g["shown"] == "hidden"}
    assert shown_hidden == hidden
    assert all(g["value"] is None and g["rank"] == "—" for g in got if g["org"] in hidden)


@pytest.mark.parametrize("subject,level", [("TA275", "icb"), ("TA275", "practice"), ("doac_share", "sub_icb")])
def test_england_value_equals_the_engine(client, engine, subject, level):
    card = scorecard(engine, subject, level, MONTH)
    doc = page(client, f"/ta/{subject}/?level={level}&month={MONTH}")
    assert card.england is not None
    assert doc.find(id="england-value").text == headline_value(card.england.value, card.headline)


def test_a_hospital_only_ta_ranks_icbs_on_hospital_issues_and_says_why_sub_icbs_have_none(client, engine):
    card = scorecard(engine, "TA495", "icb", MONTH)  # palbociclib: issued by hospitals only
    assert card.headline == "index" and any(r.value for r in card.rows)  # 8,000 eligible a year, apportioned
    doc = page(client, f"/ta/TA495/?level=icb&month={MONTH}")
    assert_rows_equal(ranking_rows(doc), expected_ranking(card))
    assert "hospital issues (SCMD) together" in doc.text
    below = page(client, f"/ta/TA495/?level=sub_icb&month={MONTH}")  # no figure below an ICB: no funnel
    assert all(r["value"] is None for r in ranking_rows(below))
    assert "cannot be attributed below an ICB" in below.text


@pytest.mark.parametrize("level", ["sub_icb", "practice"])
def test_variation_summary_equals_the_engine(client, engine, level):
    s = variation(engine, "TA275", level, MONTH).summary
    doc = page(client, f"/ta/TA275/?level={level}&month={MONTH}")
    dl = doc.find("dl", id="variation-summary")
    shown = {dt.text: dd.text for dt, dd in zip(dl.find_all("dt"), dl.find_all("dd"))}
    assert shown == {
        "Organisations with a value": str(s["n_areas"]),
        f"Highest ÷ lowest, excluding {s['trimmed_k']} at each end": number(s["extremal_quotient_trimmed"], 2),
        "90th ÷ 10th centile": number(s["p90_p10"], 2),
        "Coefficient of variation": number(s["cv"], 3),
        "Systematic component of variation": number(s["scv"], 3),
    }
    assert s["n_areas"] > 10 and s["p90_p10"] > 1


# --- organisation and compare pages -------------------------------------------------------------


@pytest.fixture(scope="module")
def orgs(pub):
    """An ICB, and the practice with the most hidden figures (from the publication's directory)."""
    icb = next(o["code"] for o in pub.organisations() if o["level"] == "icb")
    rows = pub.query("SELECT org, count(*) AS n FROM ta_scorecard WHERE level = 'practice' AND month = ? "
                     f"AND items > 0 AND items < {DEFAULT_MIN_ITEMS} GROUP BY org ORDER BY n DESC, org",
                     [f"{MONTH}-01"]).to_pylist()
    return {"icb": icb, "practice": rows[0]["org"]}


def profile_rows(doc: Node) -> dict[str, dict]:
    out = {}
    for tr in doc.find_all("tr", data_ta=True):
        cell = next(td for td in tr.find_all("td") if "data-value" in td.attrs)
        out[tr.attrs["data-ta"]] = {"value": value_of(cell.attrs["data-value"]), "shown": cell.visible_text(),
                                    "england": tr.find_all("td")[2].visible_text()}
    return out


@pytest.mark.parametrize("which", ["icb", "practice", "england"])
def test_organisation_page_equals_the_engine_profile(client, engine, orgs, which):
    code = orgs.get(which, "ENG")
    want = profile(engine, code, MONTH)
    got = profile_rows(page(client, f"/org/{code}/?month={MONTH}"))
    assert set(got) == {r.ta for r in want.rows} and len(got) > 10
    for r in want.rows:
        g = got[r.ta]
        assert same(g["value"], r.value), (r.ta, g, r.value)
        assert g["shown"] == ("hidden" if r.suppressed else headline_value(r.value, r.headline)), (r.ta, g)
        assert g["england"] == headline_value(r.england_value, r.headline)
    if which == "practice":
        assert any(r.suppressed for r in want.rows)


def test_compare_page_shows_the_same_values(client, engine, orgs):
    codes = [orgs["icb"], orgs["practice"], "ENG"]
    want = {c: {r.ta: r for r in profile(engine, c, MONTH).rows} for c in codes}
    doc = page(client, f"/compare/?orgs={','.join(codes)}&month={MONTH}")
    rows = doc.find("table", id="compare").find_all("tr", data_ta=True)
    assert {tr.attrs["data-ta"] for tr in rows} == set().union(*want.values())
    for tr in rows:
        ta = tr.attrs["data-ta"]
        cells = [td for td in tr.find_all("td") if "data-value" in td.attrs]
        assert len(cells) == len(codes)
        for code, td in zip(codes, cells):
            r = want[code].get(ta)
            assert same(value_of(td.attrs["data-value"]), r.value if r else None), (ta, code)
            if r is not None and r.suppressed:
                assert td.visible_text() == "hidden"
            elif r is not None:
                assert td.visible_text().startswith(headline_value(r.value, r.headline)), (ta, code)
        eng = want["ENG"][ta]
        assert tr.find(id=f"england-{ta}").text == headline_value(eng.value, eng.headline)


def test_compare_with_an_organisation_without_figures_first(client, pub, engine):
    """A first organisation with no row for any TA in the month (closed, say) left England's column
    without a headline to format by: a 500 before the fix."""
    practices = {o["code"] for o in pub.organisations() if o["level"] == "practice"}
    with_rows = {r["org"] for r in pub.query("SELECT DISTINCT org FROM ta_scorecard WHERE level = 'practice' "
                                             "AND month = ?", [f"{MONTH}-01"]).to_pylist()}
    empty = sorted(practices - with_rows)
    assert empty, "every practice in the tiny NHS has figures in the month"
    assert profile(engine, empty[0], MONTH).rows == []
    doc = page(client, f"/compare/?orgs={empty[0]},ENG&month={MONTH}")
    eng = {r.ta: r for r in profile(engine, "ENG", MONTH).rows}
    assert doc.find(id="england-TA275").text == headline_value(eng["TA275"].value, eng["TA275"].headline)


# --- search, errors ------------------------------------------------------------------------------


def test_search_finds_an_organisation_by_a_typo(client, pub):
    icb = next(o for o in pub.organisations() if o["level"] == "icb")
    word = max(icb["name"].replace("NHS ", "").split(), key=len)
    typo = word[:2] + word[3:]  # a letter lost
    r = client.get("/search/", {"q": typo})
    if r.status_code == 302:  # one clear match goes straight there
        assert r["Location"] == f"/org/{icb['code']}/"
    else:
        assert r.status_code == 200
        doc = page(client, f"/search/?q={typo}")
        assert f"/org/{icb['code']}/" in [a.attrs.get("href") for a in doc.find_all("a")]


@pytest.mark.parametrize("url,status,says", [
    ("/ta/TA275/?level=ccg", 400, "level 'ccg'"),
    ("/ta/TA275/?level=england", 400, "level 'england'"),
    ("/ta/TA275/?month=2022-13", 400, "expected YYYY-MM"),
    ("/ta/TA275/?month=0000-01", 400, "expected YYYY-MM"),
    ("/ta/TA275/?month=2031-01", 400, "no prescribing loaded for 2031-01"),
    ("/ta/TA999999/", 404, "TA999999"),
    ("/org/NOPE1/", 404, "NOPE1"),
    ("/org/ENG/?month=1999-01", 400, "no prescribing loaded for 1999-01"),
    ("/compare/?orgs=NOPE1", 404, "NOPE1"),
    ("/compare/?orgs=A,B,C,D,E,F", 400, "at most five"),
    ("/no/such/page/", 404, "no page at this address"),
])
def test_bad_requests_get_a_page_with_a_message(client, url, status, says):
    doc = page(client, url, status)
    assert says.lower() in doc.find("main").text.lower()


# --- downloads, health ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def download(client) -> list[dict]:
    r = client.get("/downloads/scorecard.csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode())))


def _num(text: str) -> float | None:
    return float(text) if text != "" else None


@pytest.mark.parametrize("ta", ["TA275", "small"])
def test_download_rows_equal_the_engine(download, engine, small_counts, ta):
    ta = small_counts if ta == "small" else ta
    card = scorecard(engine, ta, "icb", MONTH)
    got = {r["org"]: r for r in download if r["ta"] == ta and r["level"] == "icb" and r["month"].startswith(MONTH)}
    assert set(got) == {r.org for r in card.rows}
    for w in card.rows:
        g = got[w.org]
        assert g["suppressed"] == ("true" if w.suppressed else "false")
        for field in ("value", "items", "patients", "percentile"):
            assert same(_num(g[field]), getattr(w, field)), (w.org, field, g[field], getattr(w, field))
        assert g["flag_998_od"] == (w.flag_998_od or "")
    eng = next(r for r in download if r["ta"] == ta and r["level"] == "england" and r["month"].startswith(MONTH))
    assert same(_num(eng["value"]), card.england.value) and eng["suppressed"] == "false"


def test_download_hides_rows_with_one_to_four_items(download):
    hidden = [r for r in download if r["suppressed"] == "true"]
    shown = [r for r in download if r["suppressed"] == "false"]
    assert hidden and shown
    for r in hidden:
        assert r["level"] != "england"
        for c in (*SUPPRESSIBLE, "treatment_days"):  # treatment_days ÷ days would give `patients`
            assert r.get(c, "") == "", (r["level"], r["org"], r["ta"], r["month"], c)
    for r in shown:
        assert r["level"] == "england" or r["items"] == "" or not (0 < float(r["items"]) < DEFAULT_MIN_ITEMS)


def test_healthz_says_ok(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["ok"] is True and body["published"]["ok"] and body["published"]["months"] == 18
