"""The demo's example content (data/examples.yaml): case studies (published, as if moderated),
guides, wiki pages, barriers and discussions, every one stored with example=True so the portal
shows it tagged "Example". Loading twice changes nothing."""

from __future__ import annotations

from pathlib import Path

import yaml
from django.db import transaction

from . import documents, store
from .models import Barrier, CaseStudy, CHECKLIST, Guide, GuideStep, Thread, WikiPage

EXAMPLES = Path(__file__).with_name("data") / "examples.yaml"


@transaction.atomic
def clear_examples() -> None:
    """Remove the example content (and anything members added to it), before loading it afresh."""
    from .models import SearchDocument

    Thread.objects.filter(example=True).delete()
    for model in (Guide, CaseStudy, WikiPage, Barrier):
        model.objects.filter(example=True).delete()
    SearchDocument.objects.filter(example=True).delete()


@transaction.atomic
def load_examples(author, moderator, path: Path = EXAMPLES) -> dict[str, int]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    made = {"case_studies": 0, "guides": 0, "wiki": 0, "barriers": 0, "threads": 0}
    for item in data.get("case_studies", []):
        if CaseStudy.objects.filter(title=item["title"]).exists():
            continue
        fields = {k: item.get(k, "") for k in store.CASE_STUDY_FIELDS}
        fields["industry_sponsored"] = bool(item.get("industry_sponsored"))
        cs = store.save_case_study(author, fields, tas=item.get("tas", []),
                                   organisations=item.get("organisations", []), submit=True)
        cs.example = True
        cs.save(update_fields=["example"])
        store.moderate_case_study(cs, moderator, action="publish", checklist={k: True for k, _ in CHECKLIST},
                                  note="Example content")
        made["case_studies"] += 1
    for item in data.get("guides", []):
        if Guide.objects.filter(slug=item["slug"]).exists():
            continue
        g = Guide.objects.create(slug=item["slug"], title=item["title"], ta=item.get("ta", ""),
                                 area=item.get("area", ""), summary=item["summary"], author=moderator, example=True)
        for n, step in enumerate(item.get("steps", []), start=1):
            GuideStep.objects.create(guide=g, number=n, title=step["title"], owner=step.get("owner", ""),
                                     body=step.get("body", ""), resources=step.get("resources", ""))
        g.case_studies.set(CaseStudy.objects.filter(slug__in=item.get("case_studies", [])))
        documents.index_guide(g)
        made["guides"] += 1
    for item in data.get("wiki", []):
        if WikiPage.objects.filter(title=item["title"]).exists():
            continue
        page = store.save_wiki(author, title=item["title"], body=item["body"], summary=item.get("summary", ""))
        page.example = True
        page.save(update_fields=["example"])
        documents.index_wiki(page)
        made["wiki"] += 1
    for item in data.get("barriers", []):
        if Barrier.objects.filter(title=item["title"]).exists():
            continue
        addressed = CaseStudy.objects.filter(slug=item.get("addressed_by", "")).first()
        b = store.save_barrier(author, {"title": item["title"], "type": item["type"],
                                        "description": item["description"], "evidence": item.get("evidence", ""),
                                        "status": item.get("status", "open"), "addressed_by_case_study": addressed},
                               tas=item["tas"], organisations=item.get("organisations", []))
        b.example = True
        b.save(update_fields=["example"])
        documents.index_barrier(b)
        made["barriers"] += 1
    for item in data.get("threads", []):
        kind, key = item["subject"]
        if kind == "barrier":
            key = str(Barrier.objects.get(title=key).pk)
        if Thread.objects.filter(subject_kind=kind, subject_key=key, title=item["title"]).exists():
            continue
        first, *rest = item["posts"]
        t = store.start_thread(author, kind=kind, key=key, title=item["title"], body=first)
        for body in rest:
            store.reply(moderator, t, body)
        t.example = True
        t.save(update_fields=["example"])
        documents.index_thread(t)
        made["threads"] += 1
    return made
