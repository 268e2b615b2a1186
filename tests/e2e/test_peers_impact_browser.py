"""Peers and measured effects in the browser, on the real server and the tiny synthetic NHS: an
organisation's page shows its 10 peers (the API's) with its rank and the peers' median, and a
link to each; a case study, once its implementation date is recorded on its page, shows the
measured change in uptake (the synthetic NHS plants a 1.5× step in QHM's DOACs from October
2021), with its interval and months, as the API computes it."""

from __future__ import annotations

import pytest

from e2e.test_knowledge_browser import expect_message, sign_in, sign_out

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.e2e


def test_an_org_page_shows_its_peers(visit, api):
    page = visit.page
    want = api("/api/v1/peers/QHM")
    codes = [p["code"] for p in want["peers"]]
    assert len(codes) == 10
    visit.goto("/org/QHM/")
    section = page.locator("#peers")
    expect(section.locator("h2")).to_have_text("Against its 10 most similar organisations")
    shown = [a.get_attribute("data-peer") for a in section.locator("#peer-list a").all()]
    assert shown == codes
    row = page.locator('#peer-table tr[data-peer-ta="TA275"]')
    by_ta = {r["ta"]: r for r in want["by_ta"]}
    assert row.locator(".peer-rank").inner_text().startswith(f"{by_ta['TA275']['rank']} of {by_ta['TA275']['of']}")
    assert row.locator(".peer-median").inner_text().strip() not in ("", "—")
    section.locator("#peer-list a").first.click()
    visit.settle()
    assert page.url.endswith(f"/org/{codes[0]}/")
    expect(page.locator("#peers")).to_have_count(1)
    visit.assert_clean()


def test_a_case_study_shows_its_measured_effect(visit, api, moderator_login):
    page, base = visit.page, visit.base
    title = "DOAC reviews measured against their peers"
    sign_in(page, base, *moderator_login, next_path="/learning/case-studies/new/")
    visit.settle(charts=False)
    page.fill("#id_title", title)
    page.fill("#id_summary", "Pharmacists offered a DOAC at every annual review.")
    page.get_by_label("Implementing specific NICE guidance").check()
    page.fill("#id_tas", "TA275")
    page.fill("#id_organisations_text", "An example ICB")
    page.fill("#id_organisations", "QHM")
    page.select_option("#id_sector", label="Primary care")
    page.fill("#id_aims", "Offer a DOAC to everyone with AF on warfarin.")
    page.fill("#id_how", "Weekly review clinics.")
    page.fill("#id_learning", "Protected time mattered.")
    page.fill("#id_contact", "someone@example.org")
    page.locator("#submit-for-moderation").click()
    expect_message(page, "Sent to the moderators")
    visit.settle(charts=False)
    form = page.locator("#moderation-form")
    boxes = form.locator("input[type=checkbox]")
    for i in range(boxes.count()):
        boxes.nth(i).check()
    form.get_by_label("Publish", exact=True).check()
    form.get_by_role("button", name="Record the decision").click()
    expect_message(page, "Published.")
    expect(page.locator("#measured")).to_contain_text("No implementation date recorded")
    page.fill("#implemented_on", "2021-10-01")
    page.get_by_role("button", name="Save the implementation date").click()
    expect_message(page, "Implementation date saved.")
    path = page.url.removeprefix(base)
    sign_out(page)

    visit.goto(path, charts=False)  # as the public sees it
    measured = page.locator("#measured")
    expect(measured.locator("#implemented-on")).to_have_text("October 2021")
    did = measured.locator('tr[data-ta="TA275"][data-org="QHM"] .uptake-did').inner_text()
    want = api("/api/v1/impact/QHM?ta=TA275&month=2021-10")["did"]
    assert did == (f"difference-in-differences: {want['effect']:+.3g} index (95% interval {want['low']:+.3g} to "
                   f"{want['high']:+.3g}; 6 months before, 12 after)")
    assert want["low"] > 0  # the planted step is found
    assert "an association, not proof of cause" in measured.inner_text()
    visit.assert_clean()
