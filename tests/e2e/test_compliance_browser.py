"""Formulary compliance in the browser: the national table, an ICB's overdue list, the TA page's
status map, and an editor who signs in and records a decision that then shows in the history —
on the real server with the tiny NHS's formulary decisions loaded by `uptake ingest`."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e


def test_national_table_then_an_icb_then_its_overdue_ta(visit, api, today):
    TODAY = today
    icbs = api(f"/api/v1/compliance/icbs?as_of={TODAY}")
    visit.goto(f"/compliance/?as_of={TODAY}", charts=False)
    page = visit.page
    rows = page.locator("#compliance-table tbody tr")
    assert rows.count() == len(icbs) == len(api("/api/v1/organisations?level=icb&limit=100"))
    assert rows.first.get_attribute("data-icb") == icbs[0]["icb"] and icbs[0]["rank"] == 1
    worst = max((i for i in icbs if i["overdue"] + i["rejected"]), key=lambda i: i["overdue"] + i["rejected"])
    page.locator(f'#compliance-table tr[data-icb="{worst["icb"]}"] a').first.click()
    visit.settle(charts=False)
    listed = page.locator("#overdue-list li")
    assert listed.count() == worst["overdue"] + worst["rejected"]
    listed.first.locator("a").click()
    visit.settle(charts=False)
    assert page.locator("#status strong").inner_text() in ("Overdue", "Rejected (non-compliant)")
    assert page.locator("#decision-form").count() == 0  # not signed in: no form
    visit.assert_clean()


def test_ta_page_draws_the_formulary_map_and_table(visit, api, today):
    TODAY = today
    statuses = api(f"/api/v1/compliance?ta=TA275&as_of={TODAY}")
    visit.goto("/ta/TA275/")
    page = visit.page
    assert page.locator("#chart-formulary-map").get_attribute("data-rendered") == "ok" or \
        page.locator("#formulary .uptake-chart").count() == 0  # no maps when the boundaries are absent
    page.locator("#formulary-details summary").click()
    shown = {r.get_attribute("data-icb"): r.get_attribute("data-status")
             for r in page.locator("#formulary-table tbody tr").all()}
    assert shown == {s["icb"]: s["status"] for s in statuses}
    visit.assert_clean()


def test_an_editor_signs_in_and_records_a_decision(visit, editor_icb, api, editor_login, today):
    EDITOR, TODAY = editor_login, today
    page = visit.page
    open_pairs = [s for s in api(f"/api/v1/compliance?icb={editor_icb}")
                  if s["status"] in ("overdue", "due_soon", "not_yet_due", "rejected")]
    ta = open_pairs[0]["ta"] if open_pairs else "TA275"
    visit.goto(f"/compliance/{editor_icb}/{ta}/", charts=False)
    page.locator("#main-content, main").get_by_role("link", name="Sign in").click()
    page.fill("#id_username", EDITOR[0])
    page.fill("#id_password", EDITOR[1])
    page.get_by_role("button", name="Sign in").click()
    visit.settle(charts=False)
    assert page.url.endswith(f"/compliance/{editor_icb}/{ta}/")
    page.get_by_text("Included with restrictions matching NICE", exact=True).click()  # as a person does: the label
    assert page.get_by_label("Included with restrictions matching NICE").is_checked()
    page.fill("#id_decision_date", "2022-09-29")
    page.get_by_role("button", name="Save decision").click()
    visit.settle(charts=False)
    # the form asks for the restrictions, keeps what was typed, and loses nothing
    assert page.locator(".nhsuk-error-summary").is_visible()
    page.fill("#id_restrictions", "Specialist initiation, as NICE recommends")
    page.fill("#id_evidence", "APC minutes 2022-09 item 3")
    page.get_by_role("button", name="Save decision").click()
    visit.settle(charts=False)
    assert f"Decision on {ta} recorded." in page.locator("[role=status]").inner_text()
    assert "29 Sep 2022" in page.locator("#decision-table").inner_text()
    history = page.locator("#history-table tbody tr").first.inner_text()
    assert f"Editor of {editor_icb}" in history and "web form" in history and "created" in history
    assert EDITOR[0] not in history  # a display name, never the address (issue 23.5)
    got = [s for s in api(f"/api/v1/compliance?icb={editor_icb}&ta={ta}&as_of={TODAY}")]
    assert got[0]["decision"] == "included_with_restrictions" and got[0]["decision_date"] == "2022-09-29"
    visit.assert_clean()


def test_compliance_pages_pass_axe(visit, api, axe, editor_icb, today):
    TODAY = today
    found = {}
    for path in (f"/compliance/?as_of={TODAY}", f"/compliance/{editor_icb}/?as_of={TODAY}",
                 f"/compliance/{editor_icb}/TA275/", "/accounts/sign-in/"):
        visit.goto(path, charts=False)
        violations = axe(visit)
        if violations:
            found[path] = violations
    assert not found, "axe-core found serious or critical violations:\n" + json.dumps(found, indent=1)
    visit.assert_clean()
