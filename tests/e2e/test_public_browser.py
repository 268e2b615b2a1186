"""The public view in headless Chromium, as a member of the public: find a GP practice by a
misspelt name and by a home postcode, read its page and a medicine's page, follow a trial to its
registry record; axe-core finds nothing serious or critical; the pages work at 200% zoom, by
keyboard, and print without their forms. Fixtures in conftest.py."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e

REGISTRY = "https://clinicaltrials.gov/study/NCT05647226"


@pytest.fixture(scope="module")
def practice(public_warehouse, pub) -> dict:
    """A tiny-NHS practice with figures whose postcode is in the loaded lookup."""
    codes = {o["code"] for o in pub.organisations() if o["level"] == "practice"}
    rows = public_warehouse.connect().execute(
        "SELECT o.code, max(o.name) AS name, max(o.postcode) AS postcode FROM organisations o "
        "JOIN postcodes p ON p.postcode = o.postcode WHERE o.type = 'practice' AND o.closed IS NULL "
        "GROUP BY o.code ORDER BY o.code").fetchall()
    found = [dict(zip(("code", "name", "postcode"), r)) for r in rows if r[0] in codes]
    assert found, "no tiny-NHS practice lies in the 9 loaded postcode areas"
    return found[0]


def _misspell(name: str) -> str:
    words = name.title().split()
    first = words[0]
    return " ".join([first[:2] + first[3:], *words[1:]])  # one letter left out


def test_a_person_finds_their_practice_by_a_misspelt_name_and_follows_a_trial(visit, practice):
    page = visit.page
    visit.goto("/", charts=False)
    # each step waits for its page to load before reading it (no race with the page before)
    with page.expect_navigation():
        page.get_by_role("link", name="medicines in my area, and trials I could join").click()
    visit.settle(charts=False)
    assert page.get_by_role("heading", level=1).inner_text() == "Medicines in my area"
    page.get_by_label("Name of your GP practice, or its postcode").fill(_misspell(practice["name"]))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    visit.settle(charts=False)
    with page.expect_navigation():
        page.locator(f'a[href="/my-area/{practice["code"]}/"]').click()
    visit.settle(charts=False)
    assert page.get_by_role("heading", level=1).inner_text().upper() == practice["name"]
    assert page.get_by_role("link", name="See the full figures for NHS staff").count() == 1
    with page.expect_navigation():
        page.locator(f'a[href="/my-area/{practice["code"]}/TA390/"]').click()
    visit.settle(charts=False)
    assert "type 2 diabetes" in page.get_by_role("heading", level=1).inner_text()
    assert page.get_by_role("heading", name="Trials you could join").count() == 1
    visit.assert_clean()
    # The registry is outside: answer it here, so the browser never leaves 127.0.0.1 in a test
    page.route("https://clinicaltrials.gov/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<title>NCT05647226</title><h1>Digital Diabetes Remission Trial</h1>"))
    link = page.get_by_role("link", name="Read about this trial on ClinicalTrials.gov (NCT05647226)")
    assert link.get_attribute("href") == REGISTRY
    link.click()
    page.wait_for_url(REGISTRY)
    assert page.title() == "NCT05647226"
    assert visit.foreign_requests() == [REGISTRY]


def test_a_person_finds_practices_near_their_home_postcode(visit, practice):
    page = visit.page
    visit.goto("/my-area/", charts=False)
    page.get_by_label("Your postcode").fill(practice["postcode"].lower().replace(" ", ""))
    page.get_by_role("button", name="Find practices").click()
    visit.settle(charts=False)
    nearest = page.locator("#near-title + ol li").first
    assert nearest.locator("a").get_attribute("href").startswith(f"/my-area/{practice['code']}/?from=")
    assert "0.0 miles away" in nearest.inner_text()
    nearest.locator("a").click()
    visit.settle(charts=False)
    page.locator(f'a[href^="/my-area/{practice["code"]}/TA390/"]').click()
    visit.settle(charts=False)
    assert f"Distances are from {practice['postcode']}." in page.locator("main").inner_text()
    visit.assert_clean()


def test_a_postcode_we_do_not_know_is_said_plainly(visit):
    page = visit.page
    visit.goto("/my-area/?postcode=B1+1AA", charts=False)
    alert = page.get_by_role("alert")
    assert "We cannot find B1 1AA in our list of postcodes" in alert.inner_text()
    assert page.locator("#near-title").count() == 0


def test_the_public_pages_pass_axe_work_zoomed_by_keyboard_and_print(visit, axe, practice):
    page = visit.page
    paths = ["/my-area/", f"/my-area/?q={_misspell(practice['name'])}", "/my-area/?postcode=B1+1AA",
             f"/my-area/?postcode={practice['postcode']}", f"/my-area/{practice['code']}/",
             f"/my-area/{practice['code']}/TA390/?from=HG1+1AA"]
    found = {}
    for path in paths:
        visit.goto(path, charts=False)
        violations = axe(visit)
        if violations:
            found[path] = violations
    assert not found, "axe-core found serious or critical violations:\n" + json.dumps(found, indent=1)
    # 200% zoom: the page at half the width, nothing wider than the window
    page.set_viewport_size({"width": 640, "height": 900})
    for path in paths[::2]:
        visit.goto(path, charts=False)
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1"), path
    # keyboard only: the skip link first, then the search field
    visit.goto("/my-area/", charts=False)
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "q"
    page.keyboard.type("Castle Surgery")
    page.keyboard.press("Enter")
    page.wait_for_url("**/my-area/?q=Castle+Surgery")
    # print: the forms are left out, the page's words stay
    page.emulate_media(media="print")
    assert not page.locator("form").first.is_visible()
    assert page.get_by_role("heading", level=1).is_visible()
    visit.assert_clean()
