"""The demo's example impact content (data/examples.yaml): implementation dates for the example
case studies and an example joint working project, published as if moderated."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml
from django.db import transaction

from ..knowledge.models import CaseStudy
from . import store
from .models import CHECKLIST, JointWorkingProject

EXAMPLES = Path(__file__).with_name("data") / "examples.yaml"


@transaction.atomic
def load_examples(author, moderator, path: Path = EXAMPLES) -> dict[str, int]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    made = {"implementations": 0, "projects": 0}
    for title, when in data.get("implementations", {}).items():
        cs = CaseStudy.objects.filter(title=title, example=True).first()
        if cs is not None:
            store.set_implementation(cs, when if isinstance(when, date) else date.fromisoformat(str(when)))
            made["implementations"] += 1
    for item in data.get("projects", []):
        if JointWorkingProject.objects.filter(title=item["title"]).exists():
            continue
        p = store.save_project(author, {k: item.get(k) for k in store.PROJECT_FIELDS}, submit=True)
        p.example = True
        p.save(update_fields=["example"])
        store.moderate_project(p, moderator, action="publish", checklist={k: True for k, _ in CHECKLIST},
                               note="Example content")
        made["projects"] += 1
    return made
