"""Who may do what: every role × every action, asserted allowed or denied through the pages (and
the formulary API for "edit another organisation's decisions"). Denied means: the public is sent
to sign in (302 to the sign-in page), a signed-in user without the role gets 403 (or 404 where the
item must not be seen to exist), and nothing changes."""

from __future__ import annotations

import pytest


ROLES = ["public", "member", "editor", "moderator", "admin"]
ALLOWED = {
    "view": {"public", "member", "editor", "moderator", "admin"},
    "submit": {"member", "editor", "moderator", "admin"},
    "edit_wiki": {"member", "editor", "moderator", "admin"},
    "post": {"member", "editor", "moderator", "admin"},
    "report_barrier": {"member", "editor", "moderator", "admin"},
    "moderate": {"moderator", "admin"},
    "publish": {"moderator", "admin"},
    "admin_site": {"moderator", "admin"},
    "edit_own_organisation_decisions": {"editor", "admin"},
    "edit_another_organisations_decisions": {"admin"},
}


@pytest.fixture
def world(as_, people, case_study_form):
    """A published case study, a submitted one, a wiki page and a post, made by the member."""
    from uptake.web.knowledge import store
    from uptake.web.knowledge.models import CHECKLIST

    member = people["member"]
    fields = {k: v for k, v in case_study_form.items() if k not in ("tas", "organisations")}
    published = store.save_case_study(member, {**fields, "title": "Published one"}, tas=["TA275"], organisations=[],
                                      submit=True)
    store.moderate_case_study(published, people["moderator"], action="publish",
                              checklist={k: True for k, _ in CHECKLIST})
    waiting = store.save_case_study(member, {**fields, "title": "Waiting one"}, tas=["TA275"], organisations=[],
                                    submit=True)
    page = store.save_wiki(member, title="A page", body="text")
    thread = store.start_thread(member, kind="ta", key="TA275", title="A thread", body="first post")
    return {"published": published, "waiting": waiting, "page": page, "post": thread.posts.get(),
            "icbs": people["icbs"]}


def _signed_out(r) -> bool:
    return r.status_code == 302 and "/accounts/sign-in/" in r["Location"]


def attempt(action: str, client, w) -> bool:
    """Try the action; True if it was done, False if it was refused (and then nothing changed)."""
    from uptake.web.knowledge.models import CHECKLIST, CaseStudy, Post, WikiPage

    if action == "view":
        return client.get(f"/learning/case-studies/{w['published'].slug}/").status_code == 200
    if action == "submit":
        before = CaseStudy.objects.count()
        client.post("/learning/case-studies/new/", {
            "title": "New one", "summary": "s", "scope": "general", "tas": "", "organisations_text": "o",
            "organisations": "", "sector": "policy", "aims": "a", "how": "h", "learning": "l", "submit": "1"})
        return CaseStudy.objects.count() == before + 1
    if action == "edit_wiki":
        page = w["page"]
        client.post(f"/learning/wiki/{page.slug}/edit/", {"title": "A page", "body": "changed", "summary": "",
                                                          "base_version": page.version})
        return WikiPage.objects.get(pk=page.pk).version == page.version + 1
    if action == "post":
        before = Post.objects.count()
        client.post(f"/learning/threads/{w['post'].thread_id}/", {"body": "a reply"})
        return Post.objects.count() == before + 1
    if action == "report_barrier":
        r = client.post("/learning/barriers/new/", {"title": "B", "type": "capacity", "tas": "TA275",
                                                    "organisations": "", "description": "d", "status": "open"})
        return r.status_code == 302 and "/learning/barriers/" in r["Location"] and not _signed_out(r)
    if action == "moderate":
        r = client.post(f"/learning/posts/{w['post'].pk}/hide/", {"reason": "test"})
        return Post.objects.get(pk=w["post"].pk).hidden
    if action == "publish":
        checks = {f"check_{k}": "on" for k, _ in CHECKLIST}
        client.post(f"/learning/case-studies/{w['waiting'].slug}/moderate/", {"action": "publish", **checks})
        return CaseStudy.objects.get(pk=w["waiting"].pk).status == "published"
    if action == "admin_site":
        return client.get("/admin/knowledge/casestudy/").status_code == 200
    if action in ("edit_own_organisation_decisions", "edit_another_organisations_decisions"):
        icb = w["icbs"][0] if action == "edit_own_organisation_decisions" else w["icbs"][1]
        r = client.post(f"/compliance/{icb}/TA275/", {"decision": "included", "decision_date": "2013-06-01",
                                                      "restrictions": "", "reason": "", "evidence": "test"})
        return r.status_code == 302 and "sign-in" not in r["Location"]
    raise AssertionError(action)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(ALLOWED))
def test_authorisation_matrix(action, role, as_, world):
    client = as_(role)
    assert attempt(action, client, world) is (role in ALLOWED[action]), f"{role} → {action}"


def test_refusals_say_why(as_, world):
    slug = world["waiting"].slug
    assert _signed_out(as_("public").get("/learning/case-studies/new/"))
    assert as_("member").post(f"/learning/case-studies/{slug}/moderate/", {"action": "publish"}).status_code == 403
    assert as_("member").get("/learning/moderation/").status_code == 403
    assert _signed_out(as_("public").get("/learning/moderation/"))
    # an unpublished case study is not seen to exist by those who may not see it
    assert as_("editor").get(f"/learning/case-studies/{slug}/").status_code == 404
    assert as_("member").get(f"/learning/case-studies/{slug}/").status_code == 200  # its author
