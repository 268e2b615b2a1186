"""Findings of the independent attack (issue 24) and issue 23.4, in Chromium on the real server:
registration works from every fresh browser (no page holding a CSRF token is ever cached, 24.2);
an editor's text cannot blank a TA page's charts (JSON in HTML escapes <, > and &, 24.4); the
API's interactive docs render from the portal's own files under its CSP with the network blocked
(23.4, 24.11)."""

from __future__ import annotations

import pytest

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.e2e

PASSWORD = "a wombat crosses the ward 31"


def test_several_fresh_browsers_each_register(browser, portal, mailbox):
    """The attack: 3 of 4 fresh browsers got "403 CSRF verification failed", served the first
    visitor's cached form. Each context here is a new browser with no cookies."""
    for n in range(4):
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(f"{portal}/accounts/register/", wait_until="load")
            email = f"fresh.{n}@example.org"
            page.fill("#id_name", f"Fresh Visitor {n}")
            page.fill("#id_email", email)
            page.fill("#id_password", PASSWORD)
            page.fill("#id_password_again", PASSWORD)
            since = len(mailbox.messages)
            page.locator("#register-submit").click()
            page.wait_for_load_state("load")
            assert page.locator("h1").inner_text() == "Check your e-mail", (n, page.content()[:500])
            mailbox.wait_for(email, subject="Confirm your e-mail address", since=since, timeout=30)
        finally:
            context.close()


def test_a_formulary_reason_cannot_swallow_the_page(visit, editor_icb, editor_login, today):
    """A reason containing `<!--<script` once opened an HTML comment inside the map's JSON and
    swallowed every chart after it and the footer (0 of 5 charts drawn)."""
    page, base = visit.page, visit.base
    reason = "Not for us <!--<script> yet </script> & <b>bold</b> -->"
    page.goto(f"{base}/accounts/sign-in/?next=/compliance/{editor_icb}/TA275/")
    page.fill("#id_username", editor_login[0])
    page.fill("#id_password", editor_login[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")
    page.get_by_text("Not applicable", exact=True).first.click()
    page.fill("#id_decision_date", today)
    page.fill("#id_reason", reason)
    page.get_by_role("button", name="Save decision").click()
    page.wait_for_load_state("load")
    assert "Decision on TA275 recorded." in page.locator("[role=status]").inner_text()

    visit.goto("/ta/TA275/")
    charts = page.locator(".uptake-chart")
    if page.locator("#chart-formulary-map").count() == 0:
        pytest.skip("no formulary map: the sub-ICB boundaries are absent from the shared data")
    assert charts.count() >= 5
    assert [charts.nth(i).get_attribute("data-rendered") for i in range(charts.count())] == ["true"] * charts.count()
    expect(page.locator("footer")).to_be_visible()
    spec = page.evaluate("() => document.getElementById('chart-formulary-map-spec').textContent")
    assert "<" not in spec and reason in page.evaluate(  # escaped in the page, intact in the chart
        "() => JSON.stringify(JSON.parse(document.getElementById('chart-formulary-map-spec').textContent))")
    assert page.locator("main b", has_text="bold").count() == 0
    visit.assert_clean()


def test_api_docs_render_offline_under_the_csp(visit):
    """Swagger UI came from a CDN with the CSP removed: blank offline, and an unpinned script."""
    page = visit.page
    page.context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(visit.base)
                       else route.abort())
    resp = visit.goto("/api/v1/docs", charts=False)
    assert "script-src 'self'" in resp.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("uptake API")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    assert page.locator(".opblock-summary-path").count() >= 10
    visit.assert_clean()
