"""Issue 23.5 and 24.8: e-mail addresses are personal data. People are shown by their display name
on every page and in every API answer (`recorded_by`, `who`, `chosen_by`, wiki authors), and only
administrators see addresses. Old rows recorded with an address (before this rule, or read from a
formulary decision file) are shown by the display name of the account that has the address."""

from __future__ import annotations

import re
from collections import deque
from datetime import date
from urllib.parse import urljoin, urlsplit

import pytest
from django.test import Client

from uptake.web.accounts.privacy import EMAIL


@pytest.fixture
def world(db, pub):
    from uptake.services.opportunities import load_opportunities
    from uptake.web.accounts.users import add_user
    from uptake.web.compliance import store as compliance
    from uptake.web.knowledge import store as knowledge
    from uptake.web.opportunities import store as opportunities

    icb = sorted(o["code"] for o in pub.organisations() if o["level"] == "icb")[0]
    editor = add_user("quiet.editor@nhs.example", "x", editor_of=[icb], check_password=False)
    admin = add_user("the.admin@nhs.example", "x", admin=True, check_password=False)
    member = add_user("wiki.writer@nhs.example", "x", check_password=False)
    formulary = compliance.ensure_formulary(icb, "Test formulary")
    # as recorded before display names: the address itself
    compliance.record(formulary=formulary, ta="TA275", decision="included", decision_date=date(2013, 6, 1),
                      who=editor.email, user=editor, via="web")
    compliance.record(formulary=formulary, ta="TA249", decision="rejected", decision_date=date(2012, 6, 1),
                      reason="cost", who="not.an.account@elsewhere.example", via="file")
    opportunities.choose(icb, {o.id: "our priority" for o in load_opportunities()[:5]}, who=editor.email, user=editor)
    page = knowledge.save_wiki(member, title="Privacy drill", body="Some text.", summary="first")
    return {"icb": icb, "editor": editor, "admin": admin, "member": member, "wiki": page.slug,
            "addresses": ["quiet.editor@nhs.example", "the.admin@nhs.example", "wiki.writer@nhs.example",
                          "not.an.account@elsewhere.example"]}


def _addresses(text: str) -> set[str]:
    return {a.lower() for a in EMAIL.findall(text)}


def test_api_answers_show_display_names_not_addresses(world):
    icb, anonymous = world["icb"], Client()
    decisions = anonymous.get(f"/api/v1/compliance/decisions?icb={icb}").json()
    assert {d["ta"]: d["recorded_by"] for d in decisions} == {"TA275": f"Editor of {icb}", "TA249": "a member"}
    history = anonymous.get(f"/api/v1/compliance/decisions/{decisions[0]['id']}/history").json()
    assert history and all("@" not in str(h) for h in history)
    assert {h["who"] for h in history} <= {f"Editor of {icb}", "a member"}
    choices = anonymous.get(f"/api/v1/opportunities/icb/{icb}/choices").json()
    assert len(choices) == 5 and {c["chosen_by"] for c in choices} == {f"Editor of {icb}"}
    # an administrator sees the addresses
    admin = Client()
    admin.force_login(world["admin"], backend="django.contrib.auth.backends.ModelBackend")
    shown = {d["recorded_by"] for d in admin.get(f"/api/v1/compliance/decisions?icb={icb}").json()}
    assert shown == {"quiet.editor@nhs.example", "not.an.account@elsewhere.example"}


def test_decision_history_and_wiki_show_names_to_members_and_addresses_to_administrators(world):
    icb, slug = world["icb"], world["wiki"]
    member = Client()
    member.force_login(world["member"], backend="django.contrib.auth.backends.ModelBackend")
    for web, own in ((Client(), set()), (member, {"wiki.writer@nhs.example"})):  # a member sees their own
        for url in (f"/compliance/{icb}/TA275/", f"/compliance/{icb}/TA249/", f"/learning/wiki/{slug}/",
                    f"/learning/wiki/{slug}/history/"):
            r = web.get(url)
            assert r.status_code == 200, url
            page = r.content.decode()
            assert not _addresses(page) & (set(world["addresses"]) - own), url
    assert f"Editor of {icb}" in Client().get(f"/compliance/{icb}/TA275/").content.decode()
    assert "A member" in Client().get(f"/learning/wiki/{slug}/history/").content.decode()
    admin = Client()
    admin.force_login(world["admin"], backend="django.contrib.auth.backends.ModelBackend")
    assert "quiet.editor@nhs.example" in admin.get(f"/compliance/{icb}/TA275/").content.decode()
    assert "wiki.writer@nhs.example" in admin.get(f"/learning/wiki/{slug}/history/").content.decode()


SKIPPED = re.compile(r"\.(pdf|csv|parquet|geojson|css|js|png|svg)$|^/(admin|static|assets|accounts)/|/report\.")


def _shape(path: str) -> str:
    """A path with its codes and numbers generalised: the crawl visits a few of each kind of page."""
    return re.sub(r"/[A-Z0-9]{3,}[^/]*|/\d+", "/X", path)


def test_no_account_address_on_any_anonymous_page(world):
    """Crawls the portal from its home page as an anonymous visitor, following every link on the
    site (at most 3 pages of each shape, e.g. /org/X/, so that it ends), and the API answers those
    pages link to: no account's address appears anywhere."""
    web, seen, per_shape, pages = Client(), set(), {}, 0
    queue = deque(["/", f"/compliance/{world['icb']}/TA275/", f"/opportunities/icb/{world['icb']}/",
                   f"/learning/wiki/{world['wiki']}/history/", "/api/v1/compliance/decisions",
                   f"/api/v1/opportunities/icb/{world['icb']}/choices"])
    while queue:
        url = queue.popleft()
        path = urlsplit(url).path
        shape = _shape(path)
        if url in seen or SKIPPED.search(path) or per_shape.get(shape, 0) >= 3:
            continue
        seen.add(url)
        per_shape[shape] = per_shape.get(shape, 0) + 1
        r = web.get(url)
        if r.status_code != 200 or r.streaming:
            continue
        pages += 1
        text = r.content.decode("utf-8", "replace")
        leaked = _addresses(text) & set(world["addresses"])
        assert not leaked, f"{url} shows {sorted(leaked)}"
        for href in re.findall(r'href="([^"#]+)', text):
            target = urljoin(url, href.replace("&amp;", "&"))
            if target.startswith("/") and not target.startswith("//"):
                queue.append(target)
    assert pages > 40, f"the crawl reached only {pages} pages"
