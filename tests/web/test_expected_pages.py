"""Expected use on the portal and in the API (issue 18): the home page leads with the people not
yet reached, worked out again here from the live engine; every TA's page shows the expected range
and where each organisation stands, or says why it has none; the API says the same."""

from __future__ import annotations

import pytest

from web.test_pages import page

from uptake.catalogue import load_catalogue
from uptake.catalogue.figures import has_expected
from uptake.formats import about, people_range
from uptake.services.analysis import open_analysis
from uptake.services.scorecard import profile, scorecard

MONTH = "2022-09"
CAT = load_catalogue()
NO_ELIGIBLE = "TA161"  # raloxifene and teriparatide: no sourced eligible figure
NO_SHARE = "TA679"  # dapagliflozin in heart failure: eligible 260,000, no uptake figure


@pytest.fixture(scope="module")
def england_rows(tiny_warehouse):
    with open_analysis(tiny_warehouse) as an:
        return {r.ta: r for r in profile(an, "ENG", MONTH).rows}


def test_home_page_leads_with_people_not_reached(client, england_rows):
    doc = page(client, "/")
    lead = doc.find(id="not-reached")
    items = [li.text for li in lead.find_all("li")]
    gaps = sorted((r for r in england_rows.values() if r.not_reached is not None and r.not_reached >= 0.5),
                  key=lambda r: -r.not_reached)[:5]
    assert items and len(items) == len(gaps)
    for text, r in zip(items, gaps):
        span = people_range(max(r.not_reached_low, 0), max(r.not_reached_high, 0))
        want = f"About {about(r.not_reached)} people in England eligible for {r.ta} are not receiving it"
        assert text == want + (f" (range {span})." if "–" in span else "."), text
    # the lead comes before anything else on the page's content
    body = doc.find("main").text if doc.find_all("main") else doc.text
    assert body.index("People not yet reached") < body.index("Furthest behind expected uptake")


def test_home_page_shows_expected_uptake_for_most_tas(client, england_rows):
    table = page(client, "/").find("table", id="expected")
    rows = {tr.find("a").text: tr.find_all("td")[1].text for tr in table.find_all("tr") if tr.find_all("td")}
    assert set(rows) == {t.id for t in CAT}
    shown = [ta for ta, text in rows.items() if text.startswith("Expected")]
    assert len(shown) >= 20 and all(has_expected(CAT.ta(t)) for t in shown)
    r = england_rows["TA275"]
    assert rows["TA275"].startswith(f"Expected {about(r.expected)} (range {people_range(r.expected_low, r.expected_high)})")
    assert rows[NO_ELIGIBLE].startswith("No expected use: No eligible population")


def test_ta_page_shows_the_range_and_position_of_each_organisation(client, tiny_warehouse):
    with open_analysis(tiny_warehouse) as an:
        card = scorecard(an, "TA275", "icb", MONTH)
    doc = page(client, f"/ta/TA275/?level=icb&month={MONTH}")
    assert "0.454 (0.398–0.459) of eligible, estimate" in doc.find(id="expected-uptake").text
    assert doc.find(id="eligible-population").text.startswith("0.77 of AF, estimate")
    rows = {tr.attrs["data-org"]: tr.find_all("td")[-1].visible_text()
            for tr in doc.find("table", id="ranking").find_all("tr", data_org=True)}
    for r in card.rows:
        if r.position and not r.suppressed:
            assert rows[r.org].startswith(r.position.capitalize()), (r.org, rows[r.org])
    assert {r.position for r in card.rows} - {None} <= {"below", "within", "above"}


@pytest.mark.parametrize("ta,why", [(NO_ELIGIBLE, "No eligible population"), (NO_SHARE, "no expected uptake")])
def test_a_ta_without_an_expected_use_says_why_on_its_page_and_in_the_api(client, ta, why):
    doc = page(client, f"/ta/{ta}/?level=icb")
    assert why in doc.find(id="expected-uptake").text
    card = client.get(f"/api/v1/scorecard/{ta}?level=icb").json()
    assert why in card["expected_use"]["why_none"]
    assert all(r["position"] is None and r["expected"] is None for r in card["rows"])
    detail = client.get(f"/api/v1/tas/{ta}").json()
    assert why in detail["expected_use"]["why_none"]
    summary = next(t for t in client.get("/api/v1/tas").json() if t["id"] == ta)
    assert why in summary["why_no_expected"]


def test_api_scorecard_gives_the_range_and_position(client, tiny_warehouse):
    with open_analysis(tiny_warehouse) as an:
        card = scorecard(an, "TA275", "icb", MONTH)
    got = {r["org"]: r for r in client.get(f"/api/v1/scorecard/TA275?level=icb&month={MONTH}").json()["rows"]}
    for r in card.rows:
        g = got[r.org]
        assert g["position"] == r.position and g["expected_low"] == pytest.approx(r.expected_low)
        assert g["not_reached"] == pytest.approx(r.not_reached) if r.not_reached is not None else g["not_reached"] is None
