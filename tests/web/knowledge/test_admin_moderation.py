"""Issue 24.7: the Django admin goes through the same functions as the pages. A moderator could
publish a case study from the admin with no checklist, no log, no review date and absent from
search, and hide a barrier there that stayed in search. The moderation state is read-only in the
admin; hiding and restoring are actions that log and re-index, as the pages do."""

from __future__ import annotations

from html.parser import HTMLParser

from django.test import Client


class _Form(HTMLParser):
    """The fields of the admin's change form, as a browser would submit them unchanged."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, str] = {}
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.data[name] = a.get("value", "on")
            else:
                self.data[name] = a.get("value", "")
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and ("selected" in a or self._select not in self.data):
            self.data[self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data.lstrip("\n") if not self.data[self._textarea] else data


def _change_form(client: Client, url: str) -> dict[str, str]:
    r = client.get(url)
    assert r.status_code == 200, url
    form = _Form()
    form.feed(r.content.decode())
    return form.data


def test_the_admin_cannot_publish_a_case_study_around_moderation(as_, case_study_form):
    from uptake.web.knowledge import search
    from uptake.web.knowledge.models import CaseStudy, ModerationLog

    as_("member").post("/learning/case-studies/new/", {**case_study_form, "submit": "1"})
    cs = CaseStudy.objects.get(title=case_study_form["title"])
    moderator = as_("moderator")
    url = f"/admin/knowledge/casestudy/{cs.pk}/change/"
    data = _change_form(moderator, url)
    assert "status" not in data  # shown, not editable
    r = moderator.post(url, {**data, "status": "published", "published_on": "2022-01-01",
                             "summary": "Edited by a moderator in the admin."})
    assert r.status_code == 302, r.content.decode()[:2000]
    cs.refresh_from_db()
    assert cs.status == "submitted" and cs.published_on is None and cs.summary == "Edited by a moderator in the admin."
    assert not ModerationLog.objects.filter(item_kind="casestudy", item_id=cs.pk).exists()
    assert Client().get(f"/learning/case-studies/{cs.slug}/").status_code == 404
    assert search.search("anticoagulation reviews").total == 0


def test_a_barrier_hidden_from_the_admin_leaves_search_and_is_logged(as_, people):
    from uptake.web.knowledge import search
    from uptake.web.knowledge.models import Barrier, ModerationLog

    r = as_("member").post("/learning/barriers/new/", {"title": "Numbat clinics lack space", "type": "capacity",
                                                       "tas": "TA275", "organisations": "",
                                                       "description": "No room for numbat clinics.",
                                                       "evidence": "", "status": "open"})
    assert r.status_code == 302
    b = Barrier.objects.get(title="Numbat clinics lack space")
    assert search.search("numbat").total == 1
    moderator = as_("moderator")
    url = f"/admin/knowledge/barrier/{b.pk}/change/"
    data = _change_form(moderator, url)
    assert "hidden" not in data
    moderator.post(url, {**data, "hidden": "on"})
    b.refresh_from_db()
    assert not b.hidden and search.search("numbat").total == 1  # the field is not the way to hide
    r = moderator.post("/admin/knowledge/barrier/", {"action": "hide", "_selected_action": [b.pk]})
    assert r.status_code == 302
    b.refresh_from_db()
    assert b.hidden and search.search("numbat").total == 0
    assert ModerationLog.objects.filter(item_kind="barrier", item_id=b.pk, action="hide").exists()
