"""What people do to the knowledge portal's content, each in one transaction, keeping the search
index and the moderation log in step. Permission checks are the callers' (views, admin, CLI),
through accounts.roles; these functions trust who they are told is acting."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from ... import config
from .. import limits
from ..store import published
from . import documents
from .models import (
    CHECKLIST, REVIEW_AFTER, Barrier, BarrierSupport, CaseStudy, Link, ModerationLog, Post, Report, Thread,
    WikiPage, WikiRevision,
)


class Invalid(ValueError):
    """A change that breaks a rule (a message for the person making it)."""


@dataclass
class Conflict(Exception):
    """A wiki save based on a revision that is no longer the latest."""

    page: WikiPage
    latest: WikiRevision
    base_version: int
    title: str
    body: str

    def __str__(self) -> str:
        return (f"{self.page.slug}: you edited revision {self.base_version}, but revision {self.latest.number} "
                f"was saved since")


# Fields of fewer characters than limits.LONG_TEXT (the models' own lengths)
LIMITS = {"title": 200, "summary": 300, "organisations_text": 300, "contact": 200}


def _bounded(texts: dict[str, tuple[str, int]]) -> None:
    """Refuse text beyond the portal's limits (web/limits.py), whichever way it came in."""
    problem = limits.first_problem(texts)
    if problem is not None:
        raise Invalid(problem[0].upper() + problem[1:])


def today() -> date:
    return config.today()


def unique_slug(model, text: str, *, current=None) -> str:
    base = slugify(text)[:70] or "item"
    slug, n = base, 2
    while model.objects.filter(slug=slug).exclude(pk=getattr(current, "pk", None)).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _set_links(item, field: str, tas: list[str], orgs: list[str]) -> None:
    Link.objects.filter(**{field: item}).delete()
    Link.objects.bulk_create([Link(kind="ta", code=t.strip().upper(), **{field: item}) for t in dict.fromkeys(tas)
                              if t.strip()]
                             + [Link(kind="org", code=o.strip().upper(), **{field: item})
                                for o in dict.fromkeys(orgs) if o.strip()])


def _log(moderator, action: str, item, reason: str = "") -> None:
    ModerationLog.objects.create(moderator=moderator, action=action, item_kind=item._meta.model_name,
                                 item_id=item.pk, reason=reason[:300])


# --- case studies -----------------------------------------------------------------------------------

CASE_STUDY_FIELDS = ("title", "summary", "scope", "sector", "industry_sponsored", "organisations_text", "aims",
                     "reasons", "how", "findings", "learning", "results", "contact")


@transaction.atomic
def save_case_study(author, fields: dict, *, tas: list[str], organisations: list[str],
                    case_study: CaseStudy | None = None, submit: bool = False) -> CaseStudy:
    """Create or change a draft; `submit` sends it to the moderators. A published case study
    changed by its author goes back to moderation (and out of search) until published again."""
    cs = case_study or CaseStudy(author=author)
    for name in CASE_STUDY_FIELDS:
        if name in fields:
            setattr(cs, name, fields[name])
    _bounded({name: (str(getattr(cs, name) or ""), LIMITS.get(name, limits.LONG_TEXT))
              for name in CASE_STUDY_FIELDS})
    if cs.scope == "specific" and not tas:
        raise Invalid("Name the NICE TA(s) this relates to, or choose 'general implementation of all NICE guidance'")
    if not cs.slug:
        cs.slug = unique_slug(CaseStudy, cs.title)
    if submit or cs.status == CaseStudy.PUBLISHED:
        cs.status = CaseStudy.SUBMITTED
    cs.save()
    _set_links(cs, "case_study", tas, organisations)
    documents.index_case_study(cs)
    return cs


@transaction.atomic
def moderate_case_study(cs: CaseStudy, moderator, *, action: str, checklist: dict[str, bool],
                        note: str = "") -> CaseStudy:
    """Publish (every checklist item ticked) or return to the author with a note."""
    if judge(cs, CHECKLIST, moderator, action=action, checklist=checklist, note=note):
        cs.review_on = cs.published_on + REVIEW_AFTER
    cs.save()
    _log(moderator, action, cs, note)
    documents.index_case_study(cs)
    return cs


def judge(item, items: list[tuple[str, str]], moderator, *, action: str, checklist: dict[str, bool],
          note: str = "") -> bool:
    """A moderator's decision on an item with status, checklist, published_on, moderator_note and
    moderated_by (a case study, a joint working project), not yet saved: publish it when every
    check of `items` is ticked, or return it to its author with a note. True when published."""
    item.checklist = {key: bool(checklist.get(key)) for key, _ in items}
    if action == "publish":
        missing = [label for key, label in items if not item.checklist[key]]
        if missing:
            raise Invalid("Publishing needs every check ticked; not yet: " + "; ".join(missing))
        item.status = item.PUBLISHED
        item.published_on = today()
    elif action == "return":
        if not note.strip():
            raise Invalid("Say what the author should change")
        item.status = item.RETURNED
    else:
        raise Invalid(f"unknown action {action!r}")
    item.moderator_note = note
    item.moderated_by = moderator
    return action == "publish"


def due_for_review(on: date | None = None):
    """Published case studies past their review date (NICE keeps examples for two years)."""
    return CaseStudy.objects.filter(status=CaseStudy.PUBLISHED, review_on__lt=on or today())


# --- wiki ------------------------------------------------------------------------------------------


@transaction.atomic
def save_wiki(author, *, title: str, body: str, summary: str = "", page: WikiPage | None = None,
              base_version: int = 0, reverted_to: int | None = None) -> WikiPage:
    """A new revision of a page (or a new page). Refused with Conflict when the page has moved on
    from `base_version`: the caller shows the latest text beside the one that was not saved."""
    if not title.strip() or not body.strip():
        raise Invalid("A wiki page needs a title and some text")
    _bounded({"the title": (title, 200), "the text": (body, limits.PAGE_TEXT), "the summary": (summary, 200)})
    if page is None:
        page = WikiPage.objects.create(slug=unique_slug(WikiPage, title), title=title.strip())
    else:
        page = WikiPage.objects.select_for_update().get(pk=page.pk)
        if page.version != base_version:
            raise Conflict(page, page.current, base_version, title, body)
    number = page.version + 1
    WikiRevision.objects.create(page=page, number=number, title=title.strip(), body=body, summary=summary[:200],
                                author=author, reverted_to=reverted_to)
    # the version check and the increment are one UPDATE: a second saver on the same base matches no row
    updated = WikiPage.objects.filter(pk=page.pk, version=page.version).update(
        version=number, title=title.strip(), updated_at=timezone.now())
    if not updated:
        raise Conflict(page, WikiPage.objects.get(pk=page.pk).current, base_version, title, body)
    page.refresh_from_db()
    documents.index_wiki(page)
    return page


def revert_wiki(author, page: WikiPage, number: int, *, base_version: int) -> WikiPage:
    old = page.revisions.filter(number=number).first()
    if old is None:
        raise Invalid(f"{page.slug} has no revision {number}")
    return save_wiki(author, title=old.title, body=old.body, summary=f"Reverted to revision {number}", page=page,
                     base_version=base_version, reverted_to=number)


def diff(a: WikiRevision, b: WikiRevision) -> list[tuple[str, str]]:
    """Line by line from revision a to b: ('same'|'added'|'removed', line)."""
    out = []
    for line in difflib.ndiff(a.body.splitlines(), b.body.splitlines()):
        tag, text = line[:2], line[2:]
        if tag == "? ":
            continue
        out.append(({"  ": "same", "+ ": "added", "- ": "removed"}[tag], text))
    if a.title != b.title:
        out.insert(0, ("title", f"{a.title} → {b.title}"))
    return out


# --- discussion ------------------------------------------------------------------------------------


def subject_exists(kind: str, key: str) -> bool:
    if kind == "ta":
        try:
            published().catalogue.ta(key)
            return True
        except LookupError:
            return False
    if kind == "case_study":
        return CaseStudy.objects.filter(slug=key, status=CaseStudy.PUBLISHED).exists()
    if kind == "barrier":
        return key.isdigit() and Barrier.objects.filter(pk=int(key), hidden=False).exists()
    if kind == "wiki":
        return WikiPage.objects.filter(slug=key).exists()
    return False


@transaction.atomic
def start_thread(author, *, kind: str, key: str, title: str, body: str) -> Thread:
    if not subject_exists(kind, key):
        raise Invalid(f"nothing to discuss: {kind} {key!r} is not in the portal")
    if not title.strip() or not body.strip():
        raise Invalid("A discussion needs a title and a first post")
    _bounded({"the title": (title, 200), "the post": (body, limits.LONG_TEXT)})
    thread = Thread.objects.create(subject_kind=kind, subject_key=key, title=title.strip(), author=author)
    Post.objects.create(thread=thread, author=author, body=body)
    documents.index_thread(thread)
    return thread


@transaction.atomic
def reply(author, thread: Thread, body: str) -> Post:
    if not body.strip():
        raise Invalid("A reply needs some text")
    _bounded({"the reply": (body, limits.LONG_TEXT)})
    post = Post.objects.create(thread=thread, author=author, body=body)
    documents.index_thread(thread)
    return post


def report(reporter, post: Post, reason: str) -> Report:
    if not reason.strip():
        raise Invalid("Say why the moderators should look at this post")
    return Report.objects.create(post=post, reporter=reporter, reason=reason.strip()[:300])


@transaction.atomic
def set_post_hidden(moderator, post: Post, *, hidden: bool, reason: str) -> Post:
    if not reason.strip():
        raise Invalid("Give a reason (it is shown in place of a hidden post and kept in the log)")
    post.hidden, post.hidden_reason = hidden, reason.strip()[:300]
    post.hidden_by, post.hidden_at = moderator, timezone.now()
    post.save()
    post.reports.update(resolved=True)
    _log(moderator, "hide" if hidden else "restore", post, reason)
    documents.index_thread(post.thread)
    return post


# --- barriers --------------------------------------------------------------------------------------

BARRIER_FIELDS = ("title", "type", "description", "evidence", "status", "addressed_by_case_study",
                  "addressed_by_guide")


@transaction.atomic
def save_barrier(author, fields: dict, *, tas: list[str], organisations: list[str],
                 barrier: Barrier | None = None) -> Barrier:
    b = barrier or Barrier(author=author)
    for name in BARRIER_FIELDS:
        if name in fields:
            setattr(b, name, fields[name])
    _bounded({name: (str(getattr(b, name) or ""), LIMITS.get(name, limits.LONG_TEXT))
              for name in BARRIER_FIELDS if isinstance(getattr(b, name, None), str)})
    if not tas:
        raise Invalid("Name the NICE TA(s) this barrier affects")
    if b.status == "addressed" and not (b.addressed_by_case_study_id or b.addressed_by_guide_id):
        raise Invalid("An addressed barrier links the case study or guide that addressed it")
    b.save()
    _set_links(b, "barrier", tas, organisations)
    documents.index_barrier(b)
    return b


def support_barrier(user, barrier: Barrier, organisation: str = "") -> bool:
    """'We face this too': True when newly said, False when this user had said it already."""
    _, created = BarrierSupport.objects.get_or_create(barrier=barrier, user=user,
                                                      defaults={"organisation": organisation.strip().upper()})
    return created


@transaction.atomic
def set_barrier_hidden(moderator, barrier: Barrier, *, hidden: bool, reason: str) -> Barrier:
    if not reason.strip():
        raise Invalid("Give a reason")
    barrier.hidden, barrier.hidden_reason = hidden, reason.strip()[:300]
    barrier.save()
    _log(moderator, "hide" if hidden else "restore", barrier, reason)
    documents.index_barrier(barrier)
    return barrier
