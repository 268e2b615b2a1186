"""The knowledge portal through its pages, as members and moderators use it: a case study from
submission to publication (and back to moderation when changed), attachments, the wiki's history,
diff, revert and edit conflicts, discussions with reports and hiding, and the barriers register
with its heatmap. Runs on SQLite here and on PostgreSQL (test_knowledge_postgresql.py)."""

from __future__ import annotations

import re
from datetime import timedelta

from django.test import Client


ALL_CHECKS = {f"check_{k}": "on" for k in ("useful", "plain_english", "guidance", "evaluation", "baseline", "industry",
                                            "contact", "no_patient_data")}


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_a_case_study_is_published_only_after_moderation(as_, people, case_study_form):
    from uptake.web.knowledge import search
    from uptake.web.knowledge.models import CaseStudy, ModerationLog
    member, moderator = as_("member"), as_("moderator")
    r = member.post("/learning/case-studies/new/", {**case_study_form, "submit": "1"})
    assert r.status_code == 302
    cs = CaseStudy.objects.get(title=case_study_form["title"])
    assert cs.status == "submitted" and cs.author == people["member"] and sorted(cs.tas) == ["TA249", "TA275"]
    url = f"/learning/case-studies/{cs.slug}/"
    # nobody but the author and the moderators sees it yet, and search does not find it
    assert Client().get(url).status_code == 404
    assert as_("editor").get(url).status_code == 404
    assert "Awaiting moderation" in _text(member.get(url))
    assert search.search("anticoagulation reviews").total == 0
    assert cs.slug in moderator.get("/learning/moderation/").content.decode()

    # publishing needs every check of the list
    some = dict(list(ALL_CHECKS.items())[:-1])
    r = moderator.post(f"{url}moderate/", {"action": "publish", **some}, follow=True)
    assert "Publishing needs every check ticked" in _text(r)
    cs.refresh_from_db()
    assert cs.status == "submitted"
    moderator.post(f"{url}moderate/", {"action": "publish", **ALL_CHECKS})
    cs.refresh_from_db()
    assert cs.status == "published" and cs.moderated_by == people["moderator"]
    assert cs.review_on - cs.published_on == timedelta(days=730)  # NICE keeps examples two years
    assert ModerationLog.objects.filter(item_kind="casestudy", item_id=cs.pk, action="publish").exists()

    page = _text(Client().get(url))
    assert "Offer a DOAC to everyone with AF on warfarin." in page and "Industry-sponsored" not in page
    ta_page = Client().get("/ta/TA275/").content.decode()
    assert f'data-case-study="{cs.slug}"' in ta_page
    found = search.search("anticoagulation reviews")
    assert [r.key for r in found.results] == [cs.slug]

    # the author changes it: back to the moderators, out of public view and search
    member.post(f"{url}edit/", {**case_study_form, "summary": "Changed.", "submit": "1"})
    cs.refresh_from_db()
    assert cs.status == "submitted" and cs.summary == "Changed."
    assert Client().get(url).status_code == 404
    assert search.search("anticoagulation reviews").total == 0


def test_a_returned_case_study_carries_the_moderators_note(as_, case_study_form):
    from uptake.web.knowledge.models import CaseStudy
    as_("member").post("/learning/case-studies/new/", {**case_study_form, "submit": "1"})
    cs = CaseStudy.objects.get(title=case_study_form["title"])
    r = as_("moderator").post(f"/learning/case-studies/{cs.slug}/moderate/", {"action": "return", "note": ""},
                              follow=True)
    assert "Say what the author should change" in _text(r)
    as_("moderator").post(f"/learning/case-studies/{cs.slug}/moderate/",
                          {"action": "return", "note": "Add the baseline figures"})
    page = _text(as_("member").get(f"/learning/case-studies/{cs.slug}/"))
    assert "Returned to the author" in page and "Add the baseline figures" in page


def test_industry_sponsorship_is_shown_prominently(as_, case_study_form):
    from uptake.web.knowledge import search
    from uptake.web.knowledge.models import CaseStudy
    as_("member").post("/learning/case-studies/new/", {**case_study_form, "industry_sponsored": "on", "submit": "1"})
    cs = CaseStudy.objects.get(title=case_study_form["title"])
    as_("moderator").post(f"/learning/case-studies/{cs.slug}/moderate/", {"action": "publish", **ALL_CHECKS})
    html = Client().get(f"/learning/case-studies/{cs.slug}/").content.decode()
    assert 'id="industry"' in html and html.index('id="industry"') < html.index("Aims and objectives")
    assert search.search("anticoagulation", {"industry": ["yes"]}).total == 1
    assert search.search("anticoagulation", {"industry": ["no"]}).total == 0


def test_a_specific_case_study_must_name_a_ta(as_, case_study_form):
    from uptake.web.knowledge.models import CaseStudy
    r = as_("member").post("/learning/case-studies/new/", {**case_study_form, "tas": "", "submit": "1"})
    assert r.status_code == 200 and "Name the NICE TA" in _text(r)
    assert not CaseStudy.objects.filter(title=case_study_form["title"]).exists()
    as_("member").post("/learning/case-studies/new/", {**case_study_form, "tas": "", "scope": "general"})
    assert CaseStudy.objects.get(title=case_study_form["title"]).status == "draft"


def test_case_studies_past_their_review_date_are_flagged(as_, case_study_form):
    from uptake.web.knowledge import store
    from uptake.web.knowledge.models import CaseStudy

    as_("member").post("/learning/case-studies/new/", {**case_study_form, "submit": "1"})
    cs = CaseStudy.objects.get(title=case_study_form["title"])
    as_("moderator").post(f"/learning/case-studies/{cs.slug}/moderate/", {"action": "publish", **ALL_CHECKS})
    cs.refresh_from_db()
    assert cs not in store.due_for_review(cs.review_on)
    assert cs in store.due_for_review(cs.review_on + timedelta(days=1))
    CaseStudy.objects.filter(pk=cs.pk).update(review_on=store.today() - timedelta(days=1))
    assert "Due for re-review" in _text(Client().get(f"/learning/case-studies/{cs.slug}/"))
    assert cs.slug in as_("moderator").get("/learning/moderation/").content.decode()


# --- attachments --------------------------------------------------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _upload(name: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/pdf")


def test_only_real_pdfs_are_attached_and_they_download_safely(as_, case_study_form):
    from django.conf import settings

    from uptake.web.knowledge.models import CaseStudy
    member = as_("member")
    r = member.post("/learning/case-studies/new/", {**case_study_form, "attachment": _upload("evil.pdf", b"<html>")})
    assert "not a PDF" in _text(r)  # judged by content, not by the name
    assert not CaseStudy.objects.filter(title=case_study_form["title"]).exists()  # nothing half-saved
    r = member.post("/learning/case-studies/new/", {**case_study_form, "attachment": _upload("cut.pdf", PDF[:20])})
    assert "incomplete" in _text(r)
    big = PDF[:-6] + b" " * (10 * 1024 * 1024) + b"%%EOF\n"
    r = member.post("/learning/case-studies/new/", {**case_study_form, "attachment": _upload("big.pdf", big)})
    assert "up to 10 MB" in _text(r)

    member.post("/learning/case-studies/new/", {**case_study_form, "submit": "1",
                                                "attachment": _upload("../../Our results <b>.pdf", PDF)})
    cs = CaseStudy.objects.get(title=case_study_form["title"])
    att = cs.attachments.get()
    stored = settings.UPLOAD_ROOT / att.stored_as
    assert stored.read_bytes() == PDF and att.size == len(PDF)
    assert "/" not in att.name and "<" not in att.name and att.name.endswith(".pdf")
    static_root = settings.STATIC_ROOT or ""
    assert not str(stored).startswith(str(settings.WEB)) and (not static_root or static_root not in str(stored))
    url = f"/learning/attachments/{att.pk}/"
    assert Client().get(url).status_code == 404  # not published yet
    got = member.get(url)
    assert got.status_code == 200 and b"".join(got.streaming_content) == PDF
    assert got["Content-Type"] == "application/pdf" and got["Content-Disposition"].startswith("attachment;")
    assert got["X-Content-Type-Options"] == "nosniff" and "sandbox" in got["Content-Security-Policy"]


# --- wiki ----------------------------------------------------------------------------------------------


def _wiki_save(client, page, title: str, body: str, base: int, summary: str = ""):
    url = f"/learning/wiki/{page.slug}/edit/" if page else "/learning/wiki/new/"
    return client.post(url, {"title": title, "body": body, "summary": summary, "base_version": base})


def test_wiki_keeps_every_revision_and_shows_a_diff(as_, people):
    from uptake.web.knowledge.models import WikiPage
    member = as_("member")
    _wiki_save(member, None, "Running a formulary", "line one\nline two", 0, "start")
    page = WikiPage.objects.get(title="Running a formulary")
    _wiki_save(as_("editor"), page, "Running a formulary", "line one\nline 2\nline three", 1, "tidy")
    page.refresh_from_db()
    assert page.version == 2
    revs = list(page.revisions.order_by("number").values_list("number", "author__email", "summary"))
    assert revs == [(1, "member@test.example", "start"), (2, "editor@test.example", "tidy")]
    diff = member.get(f"/learning/wiki/{page.slug}/diff/?a=1&b=2").content.decode()
    assert re.search(r'uptake-diff-removed">.*?line two', diff) and re.search(r'uptake-diff-added">.*?line 2', diff)
    assert re.search(r'uptake-diff-added">.*?line three', diff)
    assert "line two" in _text(Client().get(f"/learning/wiki/{page.slug}/?revision=1"))

    member.post(f"/learning/wiki/{page.slug}/revert/1/", {"base_version": 2})
    page.refresh_from_db()
    assert page.version == 3 and page.current.body == "line one\nline two" and page.current.reverted_to == 1
    assert page.revisions.count() == 3  # reverting adds a revision; none is lost


def test_two_editors_on_the_same_revision_the_second_is_told_and_loses_nothing(as_):
    from uptake.web.knowledge.models import WikiPage
    first, second = as_("member"), as_("editor")
    _wiki_save(first, None, "Shared page", "original", 0)
    page = WikiPage.objects.get(title="Shared page")
    # both opened revision 1
    assert 'name="base_version" value="1"' in first.get(f"/learning/wiki/{page.slug}/edit/").content.decode()
    assert _wiki_save(first, page, "Shared page", "first editor's text", 1).status_code == 302
    r = _wiki_save(second, page, "Shared page", "second editor's text", 1)
    assert r.status_code == 409
    html = r.content.decode()
    assert "Someone saved this page while you were editing it" in html
    assert "second editor&#x27;s text" in html  # theirs is kept in the form …
    assert "first editor&#x27;s text" in html  # … beside what was saved
    assert 'name="base_version" value="2"' in html  # saving again is a deliberate choice
    page.refresh_from_db()
    assert page.version == 2 and page.current.body == "first editor's text"
    assert _wiki_save(second, page, "Shared page", "merged text", 2).status_code == 302
    page.refresh_from_db()
    assert [r.body for r in page.revisions.order_by("number")] == [
        "original", "first editor's text", "merged text"]


# --- discussion ------------------------------------------------------------------------------------------


def test_discussion_report_and_moderation(as_, people):
    from uptake.web.knowledge import search
    from uptake.web.knowledge.models import ModerationLog, Post
    member, moderator = as_("member"), as_("moderator")
    r = member.post("/learning/discuss/ta/TA275/", {"title": "Dosing at low weight", "body": "How do you dose?"})
    thread_url = r["Location"]
    member.post(thread_url, {"body": "We follow the SPC."})
    post = Post.objects.get(body="We follow the SPC.")
    assert "We follow the SPC." in _text(Client().get(thread_url))
    assert search.search("dosing weight").results[0].kind == "thread"

    as_("editor").post(f"/learning/posts/{post.pk}/report/", {"reason": "Off topic"})
    assert "Off topic" in _text(moderator.get("/learning/moderation/"))
    assert member.post(f"/learning/posts/{post.pk}/hide/", {"reason": "x"}).status_code == 403
    r = moderator.post(f"/learning/posts/{post.pk}/hide/", {"reason": ""}, follow=True)
    assert "Give a reason" in _text(r)
    moderator.post(f"/learning/posts/{post.pk}/hide/", {"reason": "Advice outside the SPC"})
    public = _text(Client().get(thread_url))
    assert "Hidden by a moderator: Advice outside the SPC" in public and "We follow the SPC." not in public
    assert "We follow the SPC" not in " ".join(r.snippet for r in search.search("spc").results)
    assert post.reports.get().resolved
    moderator.post(f"/learning/posts/{post.pk}/restore/", {"reason": "Checked: it is right"})
    assert "We follow the SPC." in _text(Client().get(thread_url))
    assert list(ModerationLog.objects.filter(item_id=post.pk).values_list("action", flat=True)) == ["restore", "hide"]


def test_a_discussion_needs_a_real_subject(as_):
    assert as_("member").get("/learning/discuss/ta/TA99999/").status_code == 404
    assert as_("member").get("/learning/discuss/nonsense/x/").status_code == 404


# --- barriers ---------------------------------------------------------------------------------------------


def _barrier(client, **fields):
    data = {"title": "No DXA capacity", "type": "capacity", "tas": "TA464", "organisations": "",
            "description": "Long waits.", "evidence": "", "status": "open", **fields}
    return client.post("/learning/barriers/new/", data)


def test_barriers_we_face_this_too_and_the_heatmap(as_, people):
    from uptake.web.knowledge import search
    from uptake.web.knowledge.models import BARRIER_TYPES, Barrier, Link
    member = as_("member")
    assert _barrier(member).status_code == 302
    _barrier(member, title="Injections need a clinic", type="service_configuration", tas="TA464, TA204")
    _barrier(as_("editor"), title="Budget worries", type="financial", tas="TA204")
    _barrier(member, title="Old news", type="financial", tas="TA204", status="being_addressed")
    b = Barrier.objects.get(title="No DXA capacity")
    for who in ("member", "editor", "editor"):  # once each
        as_(who).post(f"/learning/barriers/{b.pk}/support/", {"organisation": ""})
    assert b.supports.count() == 2
    r = _barrier(member, title="Done", status="addressed")
    assert "An addressed barrier links" in _text(r)

    html = Client().get("/learning/barriers/heatmap/").content.decode()
    types = [k for k, _ in BARRIER_TYPES]

    def row(ta):
        m = re.search(rf'<tr data-ta="{ta}">(.*?)</tr>', html, re.S)
        cells = re.findall(r"<td[^>]*>(.*?)</td>", m.group(1), re.S)
        return [int(re.sub(r"<[^>]+>", "", c).strip() or 0) for c in cells]

    # independently: count the open/being-addressed barriers per TA and type from the links
    for ta in ("TA464", "TA204", "TA161"):
        expected = [Link.objects.filter(kind="ta", code=ta, barrier__type=t, barrier__hidden=False,
                                        barrier__status__in=["open", "being_addressed"]).count() for t in types]
        assert row(ta) == [*expected, sum(expected)]
    assert row("TA204")[types.index("financial")] == 2 and row("TA464")[types.index("capacity")] == 1
    assert row("TA161") == [0] * (len(types) + 1)  # a row for every TA of the areas, even with none

    as_("moderator").post(f"/learning/barriers/{b.pk}/hide/", {"reason": "Duplicate"})
    assert Client().get(f"/learning/barriers/{b.pk}/").status_code == 404
    assert as_("moderator").get(f"/learning/barriers/{b.pk}/").status_code == 200
    assert search.search("dxa").total == 0
