"""The portal as a person uses it, in headless Chromium against the real server (gunicorn) on
the tiny synthetic NHS: search with a typo, switch levels, charts that draw offline, a funnel
point that opens its organisation, the ranking CSV equal to the API, the map's areas, the
keyboard, and axe-core's accessibility checks. Fixtures in conftest.py."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

pytestmark = pytest.mark.e2e

TA = "TA275"
PAGE_SIZE = 50  # uptake.web.views.PAGE_SIZE: the ranking table's rows per page
LEVEL_NAMES = {"region": "NHS region", "icb": "ICB", "sub_icb": "Sub-ICB location", "pcn": "PCN",
               "practice": "GP practice"}


def _typo(word: str) -> str:
    """The word with one letter left out (a typo a person makes)."""
    return word[:3] + word[4:]


def test_search_with_a_typo_finds_the_icb_and_opens_its_page(visit, api):
    page = visit.page
    icbs = api("/api/v1/organisations?level=icb&limit=100")
    stop = {"nhs", "and", "of", "the", "integrated", "care", "board"}
    icb = next(o for o in icbs if len([w for w in re.findall(r"[A-Za-z]+", o["name"]) if w.lower() not in stop]) >= 2
               and max(len(w) for w in o["name"].split()) >= 7)
    words = [w for w in re.findall(r"[A-Za-z]+", icb["name"]) if w.lower() not in stop]
    longest = max(words, key=len)
    query = " ".join(_typo(w) if w == longest else w for w in words)
    assert query.lower() not in icb["name"].lower()

    visit.goto("/")
    page.fill("#search-field", query)
    page.press("#search-field", "Enter")
    page.wait_for_url(re.compile(r"/search/\?q="))
    visit.settle()
    assert page.locator("h1").inner_text() == "Search"
    assert query in page.locator("#results").inner_text()
    result = page.locator("ul[aria-labelledby=results] li a", has_text=icb["name"])
    assert result.count() == 1, f"{icb['name']} not among the results for {query!r}"
    result.click()
    page.wait_for_url(f"**/org/{icb['code']}/")
    visit.settle()
    assert page.locator("h1").inner_text().strip() == icb["name"]
    # every TA row has a value (or says it is hidden) and England's value, under an England column
    table = page.locator("table.uptake-profile").first
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    assert "England" in headers and "Value" in headers
    rows = page.locator("table.uptake-profile tbody tr")
    assert rows.count() >= 3
    england_col, value_col = headers.index("England"), headers.index("Value")
    shown = 0
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td")
        assert re.match(r"TA\d+", rows.nth(i).get_attribute("data-ta"))
        value = cells.nth(value_col).inner_text().replace("Value", "").strip()
        england = cells.nth(england_col).inner_text().replace("England", "").strip()
        assert value and england
        if re.search(r"\d", value) and re.search(r"\d", england):
            shown += 1
    assert shown >= 1, "no TA row shows both the ICB's value and England's"
    visit.assert_clean()


def test_level_links_switch_the_ranking_table(visit, api):
    page = visit.page
    visit.goto(f"/ta/{TA}/")
    assert page.locator(".uptake-levels [aria-current=page]").inner_text() == LEVEL_NAMES["icb"]
    for level in ("region", "sub_icb", "practice"):
        page.locator(f".uptake-levels a[data-level={level}]").click()
        page.wait_for_url(re.compile(rf"[?&]level={level}(&|$)"))
        visit.settle()
        name = LEVEL_NAMES[level]
        assert page.locator(".uptake-levels [aria-current=page]").inner_text() == name
        assert f" by {name}, " in page.locator("#ranking caption").inner_text()
        heading = page.locator("#h-ranking").inner_text()
        assert heading.startswith(f"Every {name}, ")
        month = heading.rsplit(", ", 1)[1]
        card = api(f"/api/v1/scorecard/{TA}?level={level}&month={month}")
        want = min(len(card["rows"]), PAGE_SIZE)
        assert want > 0
        assert page.locator("#ranking tbody tr").count() == want, (level, len(card["rows"]))
        assert f"{len(card['rows'])} organisations" in page.locator("section[aria-labelledby=h-ranking]").inner_text()
    visit.assert_clean()


def test_every_chart_draws_offline_without_errors(visit, portal, http_get):
    page = visit.page
    visit.goto(f"/ta/{TA}/")
    charts = page.locator(".uptake-chart")
    ids = [charts.nth(i).get_attribute("id") for i in range(charts.count())]
    assert {"chart-funnel", "chart-deciles", "chart-diffusion"} <= set(ids), ids
    if _has_map(http_get, "icb"):
        assert "chart-map" in ids
    for i in range(charts.count()):
        chart = charts.nth(i)
        assert chart.get_attribute("data-rendered") == "true", (ids[i], chart.inner_text()[:300])
        assert chart.locator("svg").count() >= 1, ids[i]
        box = chart.locator("svg").first.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 100, (ids[i], box)
    assert not visit.page_errors, visit.page_errors
    assert not visit.console_errors, visit.console_errors
    assert len(visit.requests) > 5  # the page, its CSS, Vega's scripts, the map...
    assert all(u.startswith(portal) for u in visit.requests if not u.startswith("data:"))
    assert not visit.foreign_requests(), f"the portal must work with no internet: {visit.foreign_requests()}"


def test_clicking_a_funnel_point_opens_that_organisation(visit):
    page = visit.page
    visit.goto(f"/ta/{TA}/")
    page.locator("#chart-funnel").scroll_into_view_if_needed()
    # a point drawn by Vega: an SVG symbol whose aria-label (from the spec's description) names it;
    # take the first one not covered by another mark at its centre
    target = page.evaluate("""() => {
      const marks = document.querySelectorAll('#chart-funnel g.mark-symbol.role-mark path[aria-label]');
      for (const m of marks) {
        const r = m.getBoundingClientRect();
        const x = r.left + r.width / 2, y = r.top + r.height / 2;
        if (r.width > 0 && document.elementFromPoint(x, y) === m) return {x, y, label: m.getAttribute('aria-label')};
      }
      return null;
    }""")
    assert target, "no funnel point could be clicked"
    code = re.search(r"\(([A-Z0-9]+)\):", target["label"]).group(1)
    page.mouse.click(target["x"], target["y"])
    page.wait_for_url(f"**/org/{code}/")
    visit.settle()
    name = target["label"].split(f" ({code})")[0]
    assert page.locator("h1").inner_text().strip() == name
    assert code in page.locator(".nhsuk-caption-l").inner_text()
    visit.assert_clean()


def test_ranking_csv_download_equals_the_api(visit, api, tmp_path):
    page = visit.page
    visit.goto(f"/ta/{TA}/?level=icb")
    month = page.locator("#month").input_value()
    link = page.get_by_role("link", name="Download CSV").and_(page.locator("#download-ranking"))
    assert link.count() == 1
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    # the download is the ranking (with each organisation's gap), in the API's order; its values
    # are the scorecard's, fetched separately
    ranking = api(f"/api/v1/ranking/{TA}?level=icb&month={month}")
    card = api(f"/api/v1/scorecard/{TA}?level=icb&month={month}")
    assert ranking["month"] == card["month"] == month and ranking["level"] == card["level"] == "icb"
    assert [r["org"] for r in rows] == [r["org"] for r in ranking["rows"]]
    assert sorted(r["org"] for r in rows) == sorted(r["org"] for r in card["rows"]) and rows
    values = {r["org"]: r["value"] for r in card["rows"]}
    for got in rows:
        if values[got["org"]] is None:
            assert got["value"] == "", got
        else:
            assert float(got["value"]) == pytest.approx(values[got["org"]], rel=1e-12), got["org"]
    # and the table on the page shows the same numbers
    by_org = {r["org"]: r["value"] for r in card["rows"]}
    shown = page.locator("#ranking tbody tr")
    for i in range(shown.count()):
        org = shown.nth(i).get_attribute("data-org")
        value = shown.nth(i).locator("td[data-value]").get_attribute("data-value")
        assert (float(value) if value else None) == pytest.approx(by_org[org], rel=1e-9) \
            if by_org[org] is not None else value == "", org
    visit.assert_clean()


def _has_map(http_get, level: str) -> bool:
    return http_get(f"/maps/{level}.geojson")[0] == 200


def test_the_map_draws_every_area(visit, api, http_get):
    if not _has_map(http_get, "icb"):
        pytest.skip("no maps published: the real boundaries (UPTAKE_SHARED_DATA/geo/"
                    "sub_icb_locations_2022_buc.geojson) are absent")
    geo = api("/maps/icb.geojson")
    page = visit.page
    visit.goto(f"/ta/{TA}/?level=icb")
    areas = page.locator("#chart-map g.mark-shape.role-mark path")
    assert len(geo["features"]) > 0
    assert areas.count() == len(geo["features"])
    # each area carries its name (Vega's aria-label from the tooltip)
    labels = areas.evaluate_all("ps => ps.map(p => p.getAttribute('aria-label') || '')")
    names = {f["properties"]["name"] for f in geo["features"]}
    assert sum(any(n in label for n in names) for label in labels) == len(labels)
    visit.assert_clean()


def test_keyboard_skip_link_search_and_level_links(visit):
    page = visit.page
    visit.goto(f"/ta/{TA}/")
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")

    def focused() -> dict:
        return page.evaluate("() => ({tag: document.activeElement.tagName, id: document.activeElement.id,"
                             " cls: document.activeElement.className, text: document.activeElement.textContent.trim()})")

    page.keyboard.press("Tab")
    first = focused()
    assert "nhsuk-skip-link" in first["cls"] and first["text"] == "Skip to main content", first
    visit.screenshot(full_page=False)  # the skip link, shown when focused
    seen = []
    for _ in range(5):
        page.keyboard.press("Tab")
        now = focused()
        seen.append(now)
        if now["id"] == "search-field":
            break
    assert seen[-1]["id"] == "search-field", seen
    # only the logo's link comes between the skip link and the search box
    assert all("nhsuk-header__service-logo" in s["cls"] for s in seen[:-1]), seen
    page.locator(".uptake-levels a[data-level=region]").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"[?&]level=region(&|$)"))
    visit.settle()
    assert page.locator(".uptake-levels [aria-current=page]").inner_text() == LEVEL_NAMES["region"]
    visit.assert_clean()


def test_accessibility_axe_finds_nothing_serious(visit, api, axe):
    icbs = api("/api/v1/organisations?level=icb&limit=2")
    pages = ["/", f"/ta/{TA}/", f"/org/{icbs[0]['code']}/", "/search/?q=north", "/definitions/",
             f"/compare/?orgs={icbs[0]['code']},{icbs[1]['code']}"]
    found = {}
    for path in pages:
        visit.goto(path)
        violations = axe(visit)
        if violations:
            found[path] = violations
    assert not found, "axe-core found serious or critical violations:\n" + json.dumps(found, indent=1)
    visit.assert_clean()
