"""Saving and moderating joint working projects, and the interventions (organisation, TA, date)
whose effect the impact pages measure: published case studies with an implementation date and
published joint working projects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import transaction

from ...errors import UptakeError
from ..knowledge.models import CaseStudy
from ..knowledge.store import Invalid, judge, unique_slug
from .models import CHECKLIST, Implementation, JointWorkingProject

PROJECT_FIELDS = ("title", "summary", "nhs_partners", "industry_partners", "tas", "organisations", "started_on",
                  "ended_on", "description", "outcomes", "summary_url")


@dataclass(frozen=True)
class Intervention:
    kind: str  # "case study" | "joint working project"
    title: str
    url: str
    org: str
    ta: str
    when: date


@transaction.atomic
def save_project(author, fields: dict, *, project: JointWorkingProject | None = None,
                 submit: bool = False) -> JointWorkingProject:
    if fields.get("ended_on") and fields["ended_on"] < fields["started_on"]:
        raise Invalid("The end date is before the start date")
    p = project or JointWorkingProject(author=author)
    for k in PROJECT_FIELDS:
        if k in fields:
            setattr(p, k, fields[k])
    if project is None:
        p.slug = unique_slug(JointWorkingProject, p.title)
    p.status = JointWorkingProject.SUBMITTED if submit else JointWorkingProject.DRAFT
    p.save()
    return p


@transaction.atomic
def moderate_project(p: JointWorkingProject, moderator, *, action: str, checklist: dict[str, bool],
                     note: str = "") -> JointWorkingProject:
    """Publish (every governance check ticked) or return to the author with a note."""
    judge(p, CHECKLIST, moderator, action=action, checklist=checklist, note=note)
    p.save()
    return p


def set_implementation(cs: CaseStudy, when: date) -> Implementation:
    got, _ = Implementation.objects.update_or_create(case_study=cs, defaults={"implemented_on": when})
    return got


def case_study_interventions(cs: CaseStudy) -> list[Intervention]:
    impl = Implementation.objects.filter(case_study=cs).first()
    if impl is None:
        return []
    return [Intervention("case study", cs.title, f"/learning/case-studies/{cs.slug}/", org, ta, impl.implemented_on)
            for org in cs.organisations for ta in cs.tas]


def project_interventions(p: JointWorkingProject) -> list[Intervention]:
    return [Intervention("joint working project", p.title, f"/learning/joint-working/{p.slug}/", org, ta,
                         p.started_on) for org in p.organisation_list for ta in p.ta_list]


def org_interventions(code: str) -> list[Intervention]:
    """Published case studies (with an implementation date) and projects naming `code`."""
    out: list[Intervention] = []
    for cs in CaseStudy.objects.filter(status=CaseStudy.PUBLISHED, links__kind="org", links__code=code,
                                       implementation__isnull=False).prefetch_related("links").distinct():
        out += [i for i in case_study_interventions(cs) if i.org == code]
    for p in JointWorkingProject.objects.filter(status=JointWorkingProject.PUBLISHED, organisations__icontains=code):
        out += [i for i in project_interventions(p) if i.org == code]
    return out


def case_study_intervention(ref: str) -> tuple[str, date]:
    """(organisation, implementation date) of a case study named CS-<number> or by its slug."""
    key = ref.strip()
    cs = (CaseStudy.objects.filter(pk=int(key[3:])) if key.upper().startswith("CS-") and key[3:].isdigit()
          else CaseStudy.objects.filter(slug=key)).prefetch_related("links").first()
    if cs is None:
        raise UptakeError(f"no case study {key!r}: give CS-<number> or its slug (as in its address)")
    impl = Implementation.objects.filter(case_study=cs).first()
    if impl is None:
        raise UptakeError(f"case study {key!r} has no implementation date; give --date YYYY-MM")
    if not cs.organisations:
        raise UptakeError(f"case study {key!r} names no organisation")
    return cs.organisations[0], impl.implemented_on
