"""Medicines optimisation opportunities in the browser: the national view, an opportunity, and
an ICB editor choosing five with reasons; axe on each page."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e


def test_an_editor_chooses_five_opportunities(visit, api, editor_icb, editor_login, axe):
    page = visit.page
    ranking = api(f"/api/v1/opportunities/icb/{editor_icb}")
    visit.goto("/opportunities/", charts=False)
    assert page.locator("#opportunity-table tbody tr").count() == 16
    found = {"/opportunities/": axe(visit)}
    measured = next(r for r in ranking if r["rank"] == 1)
    page.locator(f'tr[data-opportunity="{measured["opportunity"]}"] a').first.click()
    visit.settle(charts=False)
    assert page.locator("#icb-table tbody tr").count() == len(api("/api/v1/organisations?level=icb&limit=100"))
    found[page.url] = axe(visit)

    visit.goto(f"/opportunities/icb/{editor_icb}/", charts=False)
    shown = [r.get_attribute("data-opportunity") for r in page.locator("#ranked-table tbody tr").all()]
    assert shown == [r["opportunity"] for r in ranking]
    page.get_by_role("link", name="Sign in").last.click()
    page.fill("#id_username", editor_login[0])
    page.fill("#id_password", editor_login[1])
    page.get_by_role("button", name="Sign in").click()
    visit.settle(charts=False)
    assert page.url.endswith(f"/opportunities/icb/{editor_icb}/")
    five = shown[:5]
    for key in five:
        page.locator(f'label[for="choose-{key}"]').click()
        page.fill(f"#why-{key}", f"Our prescribing data put {key} high")
    page.get_by_role("button", name="Record our").click()
    visit.settle(charts=False)
    errors = page.locator(".nhsuk-error-summary")
    assert errors.count() == 0, errors.inner_text()
    assert "opportunities recorded" in page.locator("[role=status]").inner_text()
    chosen = api(f"/api/v1/opportunities/icb/{editor_icb}/choices")
    assert {c["opportunity"] for c in chosen} == set(five)
    # shown by display name (the editor has no name: the ICB they edit), never by address (issue 24.8)
    assert all(c["chosen_by"] == f"Editor of {editor_icb}" for c in chosen)
    found[page.url + " (editor)"] = axe(visit)
    found = {k: v for k, v in found.items() if v}
    assert not found, "axe-core found serious or critical violations:\n" + json.dumps(found, indent=1)
    visit.assert_clean()
