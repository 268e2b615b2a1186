"""Issue 23 in Chromium, as an ICB medicines lead: from my ICB's page to its practices' ranking
on a TA (filtered, with each one's gap, worst first), to a TA page with my ICB highlighted on
every chart that the browser draws (the funnel names it, the map outlines it in red, the deciles
draw its line), remembered on the next page; and a TA with nothing measurable says why in one
line instead of drawing empty charts."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e

TA = "TA355"
RED = "#DA291C"


def test_a_lead_ranks_the_practices_of_their_icb_and_sees_it_on_every_chart(visit, api, portal):
    page = visit.page
    icbs = api("/api/v1/organisations?level=icb&limit=100")
    # an ICB whose own figure is shown (not suppressed), so the funnel can ring it, with practices
    shown = {r["org"] for r in api(f"/api/v1/scorecard/{TA}?level=icb")["rows"] if r["value"] is not None}
    icb = next(o for o in icbs if o["code"] in shown
               and len(api(f"/api/v1/ranking/{TA}?level=practice&parent={o['code']}")["rows"]) >= 2)
    want = api(f"/api/v1/ranking/{TA}?level=practice&parent={icb['code']}")

    visit.goto(f"/org/{icb['code']}/")
    page.locator(f'tr[data-ta="{TA}"] a.uptake-practices-link').click()
    page.wait_for_url(re.compile(rf"/ta/{TA}/\?level=practice&parent={icb['code']}"))
    visit.settle()
    assert page.locator("#h-ranking").inner_text().startswith(f"GP practices in {icb['name']}")
    assert page.locator("#ranking tbody tr").count() == len(want["rows"])
    page.locator("#ranking thead a", has_text="Gap (patients)").click()
    page.wait_for_url(re.compile(r"sort=gap_patients"))
    visit.settle()
    gaps = [float(g) for g in page.locator("#ranking tbody td[data-gap]").evaluate_all(
        "cells => cells.map(c => c.dataset.gap)") if g]
    assert gaps == sorted(gaps, reverse=True)

    # the ICB's TA link chooses it: every chart draws, and the browser shows it on them
    visit.goto(f"/org/{icb['code']}/")
    page.locator(f'tr[data-ta="{TA}"] td a[href^="/ta/{TA}/"]').first.click()
    page.wait_for_url(re.compile(rf"org={icb['code']}"))
    visit.settle()
    assert f"{icb['name']} ({icb['code']}) is highlighted on the charts" in page.locator("#my-org").inner_text()
    assert icb["name"] in page.locator("#chart-funnel svg.marks").text_content()  # ringed and named
    red = page.locator(f'#chart-deciles svg.marks path[stroke="{RED}"]').count()
    assert red >= 1, "no red line for the ICB on the deciles"
    if page.locator("#chart-map").count():  # maps need the real boundaries (../shared/data)
        assert page.locator(f'#chart-map svg.marks path[stroke="{RED}"]').count() == 1
    # remembered: the same TA at ICB level without ?org= still names it
    visit.goto(f"/ta/{TA}/?level=icb")
    assert icb["name"] in page.locator("#my-org").inner_text()
    assert icb["name"] in page.locator("#chart-funnel svg.marks").text_content()

    # a TA with nothing measurable: one line, no empty charts
    unmeasured = next(t["id"] for t in api("/api/v1/tas")
                      if api(f"/api/v1/scorecard/{t['id']}?level=icb")["headline"] == "none")
    visit.goto(f"/ta/{unmeasured}/")
    assert f"{unmeasured} is not measured" in page.locator("#not-measured").inner_text()
    for chart in ("chart-map", "chart-funnel", "chart-deciles"):
        assert page.locator(f"#{chart}").count() == 0
    visit.assert_clean()
