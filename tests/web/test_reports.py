"""The monthly report (issue 7): its figures against an independent reading of the published
tables (SQL, not the services), formulary compliance against the catalogue's dates, the
portal's barriers and case studies, the PDF's text (pypdf) and one page drawn to PNG (saved as a
test artifact), the HTML, England's report, the downloads on the portal and the CLI."""

from __future__ import annotations

import io
import os
import re
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

AS_OF = date(2022, 9, 30)
MEASURED = ("index", "per_1000", "items_per_1000")


@pytest.fixture(scope="module")
def icb(portal_db) -> str:
    """The ICB with the most PCNs in the tiny NHS (so its report has children to show)."""
    from uptake.services.published import Published
    from django.conf import settings

    with Published(settings.PUBLISHED) as p:
        orgs = p.organisations()
    parents = {o["code"]: o["parent"] for o in orgs}
    counts: dict[str, int] = {}
    for o in orgs:
        if o["level"] == "pcn":
            counts[parents[o["parent"]]] = counts.get(parents[o["parent"]], 0) + 1
    return max(sorted(counts), key=lambda c: counts[c])


@pytest.fixture
def ctx(db):
    from uptake.reports.build import Context
    from uptake.web.store import published

    return Context(published(), as_of=AS_OF, site_url="https://uptake.example")


def _latest(pub, code: str, level: str) -> dict[str, dict]:
    """TA → the published row of `code` in the latest month, read with SQL."""
    month = pub.months()[-1]
    rows = pub._cursor().execute(
        "SELECT ta, headline, value, england_value, items, flag_998_od FROM ta_scorecard "
        "WHERE level = ? AND org = ? AND month = ?", [level, code, month]).fetchall()
    return {r[0]: dict(zip(("ta", "headline", "value", "england", "items", "flag"), r)) for r in rows}


def test_headline_counts_leads_and_lags_as_the_published_table_says(ctx, icb):
    from uptake.reports.build import icb_report

    report = icb_report(ctx, icb)
    rows = _latest(ctx.pub, icb, "icb")
    shown = [r for r in rows.values() if r["headline"] in MEASURED and r["value"] is not None and r["england"]
             and not (0 < r["items"] < 5)]
    above = [r for r in shown if r["value"] > r["england"]]
    assert report.summary[0].startswith(f"Of the {len(shown)} NICE TAs with a figure")
    assert f"{len(above)} are above England's value and {len(shown) - len(above)} at or below it" in report.summary[0]
    best = max(shown, key=lambda r: r["value"] / r["england"])
    assert f"Furthest ahead: {best['ta']} ({100 * best['value'] / best['england']:.0f}% of England)" in report.summary[1]
    low = sorted(r["ta"] for r in shown if r["flag"] == "low")
    assert f"{len(low)} TA" in report.summary[-1]


def test_each_area_table_shows_the_published_values_and_the_icb_deciles(ctx, icb):
    import numpy as np

    from uptake.formats import headline_value
    from uptake.reports.build import icb_report
    from uptake.reports.model import Table

    report = icb_report(ctx, icb)
    rows = _latest(ctx.pub, icb, "icb")
    month = ctx.pub.months()[-1]
    checked = 0
    for section in report.sections:
        if not section.id.startswith("area-"):
            continue
        table = next(b for b in section.blocks if isinstance(b, Table))
        for cells in table.rows:
            ta = cells[0].split()[0]
            r = rows[ta]
            if 0 < r["items"] < 5:
                assert cells[2].startswith("hidden")
                continue
            assert cells[2] == headline_value(r["value"], r["headline"])
            assert cells[3] == headline_value(r["england"], r["headline"])
            values = np.array([v for (v,) in ctx.pub._cursor().execute(
                "SELECT value FROM ta_scorecard WHERE level = 'icb' AND ta = ? AND month = ? AND value IS NOT NULL",
                [ta, month]).fetchall()])
            p10, p90 = np.percentile(values, [10, 90])  # linear interpolation, as the engine's deciles
            assert cells[4] == f"{headline_value(p10, r['headline'])} to {headline_value(p90, r['headline'])}"
            checked += 1
    assert checked >= 5


def test_the_pcns_furthest_behind_are_the_icbs_lowest(ctx, icb):
    from uptake.reports.build import WORST_PCNS, icb_report

    # the PCNs with the lowest values that disclosure rules let the report show (1-4 items are hidden)
    report = icb_report(ctx, icb)
    month = ctx.pub.months()[-1]
    pcns = {o["code"] for o in ctx.pub.organisations() if o["level"] == "pcn"
            and next(s for s in ctx.pub.organisations() if s["code"] == o["parent"])["parent"] == icb}
    tables = [b for s in report.sections for sub in s.subsections if sub.id.endswith("-pcns") for b in sub.blocks]
    assert tables
    for table in tables:
        by_ta: dict[str, list[str]] = {}
        for cells in table.rows:
            by_ta.setdefault(cells[0].split()[0], []).append(re.search(r"\((\w+)\)$", cells[1]).group(1))
        for ta, listed in by_ta.items():
            got = ctx.pub._cursor().execute(
                "SELECT org, value FROM ta_scorecard WHERE level = 'pcn' AND ta = ? AND month = ? "
                "AND value IS NOT NULL AND NOT (items > 0 AND items < 5) AND org IN (SELECT unnest(?)) "
                "ORDER BY value, org", [ta, month, sorted(pcns)]
            ).fetchall()
            lowest = [v for _, v in got[:WORST_PCNS]]
            listed_values = [dict(got)[code] for code in listed]
            assert sorted(listed_values) == pytest.approx(lowest)


def test_formulary_compliance_lists_what_the_catalogue_dates_make_overdue(ctx, icb):
    from uptake.reports.build import icb_report
    from uptake.web.compliance import store

    positive = ("recommended", "optimised", "cancer_drugs_fund")  # NICE's positive recommendations
    catalogue = [t for t in ctx.pub.catalogue.technology_appraisals
                 if t.recommendation in positive and t.status != "withdrawn" and t.published <= AS_OF]

    def deadline(t):
        return t.published + timedelta(days=t.funding_deadline_days or 90)

    due = sorted((t for t in catalogue if deadline(t) < AS_OF), key=lambda t: t.published)
    # the ICB's formulary included the first TA past its deadline; the rest are overdue
    form = store.ensure_formulary(icb, "Test formulary")
    included = due[0]
    store.record(formulary=form, ta=included.id, decision="included", decision_date=included.published, who="test")
    soon = [t for t in catalogue if 0 <= (deadline(t) - AS_OF).days <= 14]
    report = icb_report(ctx, icb)
    section = next(s for s in report.sections if s.id == "compliance")
    overdue, due_soon = section.blocks[-2], section.blocks[-1]
    assert sorted(r[0].split()[0] for r in overdue.rows) == sorted(t.id for t in due[1:])
    assert sorted(r[0].split()[0] for r in due_soon.rows) == sorted(t.id for t in soon)
    assert overdue.period == "As of 30 September 2022"


def test_barriers_and_case_studies_are_those_linked_to_the_icb(ctx, icb):
    from uptake.reports.build import icb_report
    from uptake.web.accounts.users import add_user
    from uptake.web.knowledge import store
    from uptake.web.knowledge.store import CHECKLIST

    author = add_user("reporter@test.example", "x", check_password=False)
    moderator = add_user("mod@test.example", "x", moderator=True, check_password=False)
    sub = next(o["code"] for o in ctx.pub.organisations() if o["level"] == "sub_icb" and o["parent"] == icb)
    other = next(o["code"] for o in ctx.pub.organisations() if o["level"] == "icb" and o["code"] != icb)
    fields = {"type": "capacity", "description": "Too few pharmacists.", "status": "open"}
    store.save_barrier(author, {**fields, "title": "Ours: no pharmacist time"}, tas=["TA275"], organisations=[sub])
    store.save_barrier(author, {**fields, "title": "Theirs: somewhere else"}, tas=["TA275"], organisations=[other])
    cs = store.save_case_study(author, {
        "title": "Ours: reviews in every practice", "summary": "What we did.", "scope": "specific",
        "organisations_text": "A sub-ICB", "sector": "primary_care", "aims": "a", "how": "b", "learning": "c",
        "contact": "x@example.org"}, tas=["TA275"], organisations=[sub], submit=True)
    store.moderate_case_study(cs, moderator, action="publish", checklist={k: True for k, _ in CHECKLIST})
    report = icb_report(ctx, icb)
    text = report.text()
    assert "Ours: no pharmacist time" in text and "Theirs: somewhere else" not in text
    assert "Ours: reviews in every practice" in text
    assert f"https://uptake.example/learning/case-studies/{cs.slug}/" in text


def test_the_pdf_says_the_figures_and_a_page_is_drawn(ctx, icb):
    pypdf = pytest.importorskip("pypdf")
    from uptake.formats import headline_value
    from uptake.reports import pdf
    from uptake.reports.build import icb_report

    report = icb_report(ctx, icb)
    data = pdf.render(report)
    assert data.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert len(reader.pages) >= 4
    assert report.name.split()[1] in text and "September 2022" in text
    for title in ("At a glance", "NICE TAs in the local formulary", "Medicines optimisation opportunities",
                  "About this report"):
        assert title in text
    rows = _latest(ctx.pub, icb, "icb")
    shown = [r for r in rows.values() if r["headline"] in MEASURED and r["value"] is not None
             and not (0 < r["items"] < 5)]
    for r in shown[:5]:
        assert headline_value(r["value"], r["headline"]) in text
    assert {o.title for o in reader.outline if not isinstance(o, list)} >= {"At a glance", "About this report"}
    assert len([im for page in reader.pages for im in page.images]) == len(report.figures())
    # one page as a person sees it, kept for the CI run
    pdfium = pytest.importorskip("pypdfium2")
    doc = pdfium.PdfDocument(data)
    image = doc[0].render(scale=1.5).to_pil()
    folder = Path(os.environ.get("UPTAKE_ARTIFACTS") or Path(__file__).parents[2] / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    image.save(folder / "report-page-1.png")
    grey = image.convert("L")
    assert grey.getextrema()[0] < 100  # text and charts are drawn, not a blank page
    doc.close()


class _Html(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: dict[str, int] = {}
        self.captions: list[str] = []
        self._in_caption = False

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self._in_caption = tag == "caption"

    def handle_data(self, data):
        if self._in_caption:
            self.captions.append(data)
            self._in_caption = False


def test_the_html_is_self_contained_with_every_chart_and_table(ctx, icb):
    from uptake.reports import html
    from uptake.reports.build import icb_report
    from uptake.reports.model import Table

    report = icb_report(ctx, icb)
    page = html.render(report)
    parsed = _Html()
    parsed.feed(page)
    assert "script" not in parsed.tags and "<link" not in page  # opens offline, runs nothing
    assert parsed.tags.get("figure") == len(report.figures())
    assert parsed.tags.get("svg", 0) >= len(report.figures())
    tables = [b for s in report.sections for b in s.blocks if isinstance(b, Table)]
    assert all(t.caption in parsed.captions for t in tables)


def test_englands_report_has_the_same_structure(ctx):
    from uptake.reports.build import england_report
    from uptake.reports.model import Table

    report = england_report(ctx)
    ids = [s.id for s in report.sections]
    assert ids[0] == "headline" and ids[-4:] == ["compliance", "opportunities", "barriers", "case-studies"]
    regions = sorted(o["name"] for o in ctx.pub.organisations() if o["level"] == "region")
    area = next(s for s in report.sections if s.id.startswith("area-") and
                any(isinstance(b, Table) and b.caption.endswith("the regions") for b in s.blocks))
    table = next(b for b in area.blocks if isinstance(b, Table) and b.caption.endswith("the regions"))
    assert [r[0] for r in table.rows] == regions + ["England"]


@pytest.fixture
def no_reports_made(portal_db, monkeypatch):
    """An empty report folder and queue beside the publication; the builder makes only what is asked."""
    import shutil

    from django.conf import settings

    from uptake.reports import cache

    shutil.rmtree(cache.root(settings.PUBLISHED), ignore_errors=True)
    monkeypatch.setenv("UPTAKE_REPORT_PREBUILD", "none")
    yield cache.root(settings.PUBLISHED)
    shutil.rmtree(cache.root(settings.PUBLISHED), ignore_errors=True)


def _made(folder) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file() and p.suffix in (".pdf", ".html"))


def test_the_portal_hands_over_reports_the_builder_made_and_never_makes_one(client, icb, db, no_reports_made):
    from django.conf import settings

    from uptake.reports.builder import Builder

    first = client.get(f"/org/{icb}/report.pdf")
    assert first.status_code == 202 and first["Retry-After"] == "10" and first["Refresh"] == "10"
    assert "is being prepared" in first.content.decode() and first["Cache-Control"] == "no-store"
    assert _made(no_reports_made) == []  # the request queued it; nothing was made in it
    builder = Builder(settings.PUBLISHED)
    assert builder.step() and not builder.step()  # the queued one, then nothing (no prebuilding)
    got = client.get(f"/org/{icb}/report.pdf")
    assert got.status_code == 200 and got["Content-Type"] == "application/pdf"
    assert b"".join(got.streaming_content).startswith(b"%PDF-")
    assert "attachment" in got["Content-Disposition"]
    assert client.get(f"/org/{icb}/report.html").status_code == 202
    assert client.get("/org/ENG/report.html").status_code == 202
    while builder.step():
        pass
    page = client.get(f"/org/{icb}/report.html")
    assert page.status_code == 200 and b"About this report" in b"".join(page.streaming_content)
    assert client.get("/org/ENG/report.html").status_code == 200
    assert len(_made(no_reports_made)) == 3 and not list(no_reports_made.rglob("*.tmp"))
    sub = client.get(f"/org/{icb}/").content.decode()
    assert f'href="/org/{icb}/report.pdf' in sub
    from uptake.web.store import published

    practice = next(o["code"] for o in published().organisations() if o["level"] == "practice")
    assert client.get(f"/org/{practice}/report.pdf").status_code == 404
    assert client.get(f"/org/{icb}/report.docx").status_code == 404


def test_another_day_only_for_people_signed_in_through_a_bounded_queue(client, icb, db, no_reports_made):
    from accounts_helpers import sign_in
    from django.test import Client

    from uptake.reports import cache
    from uptake.web.accounts.users import add_user

    anonymous = client.get(f"/org/{icb}/report.pdf?as_of=2022-01-01")
    assert anonymous.status_code == 403 and "Sign in" in anonymous.content.decode()
    add_user("lead@example.org", "a long test password 1")
    lead = Client()
    sign_in(lead, "lead@example.org", "a long test password 1")
    days = [date(2022, 1, 1) + timedelta(days=i) for i in range(cache.QUEUE_LIMIT + 1)]
    statuses = [lead.get(f"/org/{icb}/report.pdf?as_of={d}").status_code for d in days]
    assert statuses == [202] * cache.QUEUE_LIMIT + [503]  # the queue is full: nothing more is taken
    assert len(list((no_reports_made / cache.QUEUE).glob("*.job"))) == cache.QUEUE_LIMIT
    assert lead.get(f"/org/{icb}/report.pdf?as_of={days[0]}").status_code == 202  # already asked: still queued
    assert _made(no_reports_made) == []


def test_made_reports_stay_within_their_bounds(tmp_path, monkeypatch):
    from uptake.reports import cache

    published = tmp_path / "scorecard.duckdb"
    keys = [cache.Key("20220101T000000", "QOX", "2022-09", f"2022-09-{d:02d}", "pdf") for d in range(1, 11)]
    old = cache.Key("20210101T000000", "QOX", "2022-08", "2022-08-01", "pdf")
    older = cache.Key("20200101T000000", "QOX", "2022-07", "2022-07-01", "pdf")
    for i, key in enumerate([older, old, *keys]):
        path = cache.path(published, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 1000)
        os.utime(path, ns=(i * 10**9, i * 10**9))
    monkeypatch.setenv("UPTAKE_REPORT_CACHE_FILES", "5")
    monkeypatch.setenv("UPTAKE_REPORT_CACHE_MB", "1")
    keep = {cache.path(published, keys[0])}  # the oldest, but kept (a default report)
    cache.prune(published, keep=keep)
    left = sorted(p.name for p in cache.root(published).rglob("*.pdf"))
    # the publication before the one before is gone; then the oldest made, except the kept one
    assert left == sorted([keys[0].name, *(k.name for k in keys[-4:])])
    monkeypatch.setenv("UPTAKE_REPORT_CACHE_MB", "0.0025")  # 2,500 bytes: two files
    cache.prune(published, keep=keep)
    assert sorted(p.name for p in cache.root(published).rglob("*.pdf")) == sorted([keys[0].name, keys[-1].name])


def test_the_cli_writes_a_report_and_refuses_what_it_cannot_do(portal_db, icb, tmp_path, monkeypatch):
    monkeypatch.setenv("UPTAKE_HOME", os.environ["UPTAKE_HOME"])  # the command sets it; put it back after
    import shutil

    from typer.testing import CliRunner

    from uptake.cli import app
    from uptake.services.publish import published_path
    from django.conf import settings

    home = tmp_path / "home"
    target = published_path(home)
    target.parent.mkdir(parents=True)
    shutil.copy(settings.PUBLISHED, target)
    runner = CliRunner()
    out = tmp_path / "r.html"
    got = runner.invoke(app, ["--home", str(home), "report", icb, "--out", str(out), "--as-of", "2022-09-30"])
    assert got.exit_code == 0, got.output
    assert out.exists() and "About this report" in out.read_text()
    got = runner.invoke(app, ["--home", str(home), "report", icb, "--out", str(tmp_path / "r.docx")])
    assert got.exit_code == 1 and "written as .pdf or .html" in got.output
    got = runner.invoke(app, ["--home", str(home), "report"])
    assert got.exit_code == 1 and "--all-icbs" in got.output
