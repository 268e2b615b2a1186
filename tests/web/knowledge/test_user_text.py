"""User text is Markdown through a sanitiser: every XSS payload, through every user-text field,
leaves nothing that can run in the page's HTML; ordinary Markdown still works."""

from __future__ import annotations

import pytest
from xss_payloads import PAYLOADS, dangerous


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_payload_survives_the_sanitiser(payload):
    from uptake.web.knowledge.text import render
    assert dangerous(str(render(payload))) == []


def test_markdown_still_works():
    from uptake.web.knowledge.text import render
    html = str(render("# Heading\n\n**bold** _it_ [NICE](https://www.nice.org.uk) `code`\n\n| a | b |\n|---|---|\n| 1 | 2 |"))
    assert "<h2>Heading</h2>" in html and "<strong>bold</strong>" in html and "<em>it</em>" in html
    assert '<a href="https://www.nice.org.uk" rel="nofollow noopener noreferrer">NICE</a>' in html
    assert "<table>" in html and "<td>2</td>" in html and "<h1>" not in html


def test_every_user_text_field_is_sanitised_on_its_page(as_, people):
    """All payloads in every field of a case study, wiki page, thread, reply and barrier; then each
    page as the public (or the author) sees it has nothing dangerous in it."""
    from uptake.web.knowledge import store
    from uptake.web.knowledge.models import CHECKLIST
    text = "\n\n".join(PAYLOADS)
    member = people["member"]
    cs = store.save_case_study(member, {
        "title": PAYLOADS[0][:200], "summary": PAYLOADS[2][:300], "scope": "specific", "sector": "policy",
        "organisations_text": PAYLOADS[4][:300], "aims": text, "reasons": text, "how": text, "findings": text,
        "learning": text, "results": text, "contact": PAYLOADS[9][:200]}, tas=["TA275"], organisations=[], submit=True)
    store.moderate_case_study(cs, people["moderator"], action="publish", checklist={k: True for k, _ in CHECKLIST})
    page = store.save_wiki(member, title=PAYLOADS[30][:200], body=text, summary=PAYLOADS[3][:200])
    thread = store.start_thread(member, kind="ta", key="TA275", title=PAYLOADS[29][:200], body=text)
    store.reply(member, thread, text)
    b = store.save_barrier(member, {"title": PAYLOADS[10][:200], "type": "capacity", "description": text,
                                    "evidence": text, "status": "open"}, tas=["TA275"], organisations=[])
    public = as_("public")
    urls = [f"/learning/case-studies/{cs.slug}/", "/learning/", "/learning/case-studies/", "/ta/TA275/",
            f"/learning/wiki/{page.slug}/", f"/learning/wiki/{page.slug}/history/", f"/learning/threads/{thread.pk}/",
            f"/learning/barriers/{b.pk}/", "/learning/barriers/", "/search/?q=script", "/search/?q=xss"]
    # the check can fail: a page with a payload rendered raw is caught
    assert dangerous(f"<html><body>{PAYLOADS[2]}</body></html>", page=True) == ["<img onerror>"]
    for url in urls:
        html = public.get(url).content.decode()
        assert dangerous(html, page=True) == [], url
    shown = public.get(f"/learning/case-studies/{cs.slug}/").content.decode()
    assert "window.__xss(1)" in shown  # the text is there, shown as text
    assert "&lt;script&gt;window.__xss(1)&lt;/script&gt;" in shown
