"""The joint working register (moderated like case studies, with its governance checklist) and
the measured effect on uptake shown on a case study and a project, on the tiny synthetic NHS,
which plants a 1.5× step in QHM's DOAC prescribing (TA249/256/275/355) from October 2021
(sources/synthetic/data/assumptions.yaml). The estimate is checked against the planted effect
and against pandas on the published figures."""

from __future__ import annotations

import re
from datetime import date

import pandas as pd
import pytest
from django.test import Client
from scipy import stats

PROJECT = {"title": "AF case finding with a manufacturer", "summary": "Pharmacists review people with AF.",
           "nhs_partners": "An ICB", "industry_partners": "A company", "tas": "TA275", "organisations": "QHM",
           "started_on": "2021-10-01", "ended_on": "", "description": "Reviews in every practice.",
           "outcomes": "People reviewed.", "summary_url": "https://example.org/summary"}
ALL_CHECKS = {f"check_{k}": "on" for k in ("written_agreement", "nhs_signoff", "executive_summary", "benefits",
                                            "contributions", "exit", "outcomes")}


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def _did_by_pandas(pub, org: str, ta: str, start: date, peers: list[str]) -> tuple[float, float, float, float]:
    """Difference-in-differences written out from the published values: (effect, low, high, mean after)."""
    t = pub.query("SELECT org, month, value, items FROM ta_scorecard WHERE ta = ? AND level = 'icb'", [ta]).to_pandas()
    t = t[(t["items"].isna()) | (t["items"] == 0) | (t["items"] >= 5)]
    wide = t.pivot(index="month", columns="org", values="value")
    wide.index = pd.to_datetime(wide.index)
    gap = wide[org] - wide[peers].mean(axis=1)
    s = pd.Timestamp(start)
    before = gap[(gap.index < s) & (gap.index >= s - pd.DateOffset(months=12))].dropna()
    after = gap[(gap.index >= s) & (gap.index < s + pd.DateOffset(months=12))].dropna()
    r = stats.ttest_ind(after, before, equal_var=False)
    ci = r.confidence_interval(0.95)
    mine_after = wide[org][(wide.index >= s) & (wide.index < s + pd.DateOffset(months=12))].mean()
    return after.mean() - before.mean(), ci.low, ci.high, mine_after


def test_a_case_study_shows_its_measured_effect(as_, people, case_study_form):
    from uptake.services.peers import peers_of
    from uptake.web.knowledge import store
    from uptake.web.knowledge.models import CHECKLIST
    from uptake.web.store import published

    cs = store.save_case_study(people["member"], {k: case_study_form[k] for k in store.CASE_STUDY_FIELDS
                                                  if k in case_study_form},
                               tas=["TA275"], organisations=["QHM"], submit=True)
    store.moderate_case_study(cs, people["moderator"], action="publish", checklist={k: True for k, _ in CHECKLIST})
    url = f"/learning/case-studies/{cs.slug}/"
    assert "No implementation date recorded" in _text(Client().get(url))
    # the author records when the work began, through the page's form
    r = as_("member").post(f"/learning/joint-working/case-study/{cs.slug}/implemented/", {"implemented_on": "2021-10-01"})
    assert r.status_code == 302
    assert as_("editor").post(f"/learning/joint-working/case-study/{cs.slug}/implemented/",
                              {"implemented_on": "2020-01-01"}).status_code == 404  # not theirs
    page = Client().get(url).content.decode()
    row = re.search(r'<tr class="nhsuk-table__row" data-ta="TA275" data-org="QHM">(.*?)</tr>', page, re.S).group(1)
    did = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.search(r'uptake-did">(.*?)</td>', row, re.S).group(1)))
    m = re.match(r" ?difference-in-differences: ([+-][\d.]+) index \(95% interval ([+-][\d.]+) to ([+-][\d.]+); "
                 r"6 months before, 12 after\)", did)
    assert m, did
    effect, low, high = map(float, m.groups())
    pub = published()
    peers = [p.peer for p in peers_of(pub, "QHM", "icb")]
    want, wlow, whigh, after = _did_by_pandas(pub, "QHM", "TA275", date(2021, 10, 1), peers)
    assert (effect, low, high) == pytest.approx((want, wlow, whigh), abs=6e-3)  # the page shows 3 significant figures
    # The planted effect: from October 2021 QHM's expected patients are 1.5× what they would be,
    # so a third of its after-months index is the planted change (its peers had nothing planted).
    planted = after / 3
    assert low <= planted <= high and low > 0
    assert "an association, not proof of cause" in _text(Client().get(url))


def test_a_joint_working_project_is_published_only_with_its_governance_checked(as_, people):
    from uptake.web.impact.models import JointWorkingProject

    member, moderator = as_("member"), as_("moderator")
    assert Client().get("/learning/joint-working/new/").status_code == 302  # sign in first
    r = member.post("/learning/joint-working/new/", {**PROJECT, "submit": "1"})
    assert r.status_code == 302
    p = JointWorkingProject.objects.get(title=PROJECT["title"])
    url = f"/learning/joint-working/{p.slug}/"
    assert p.status == "submitted" and p.author == people["member"]
    assert Client().get(url).status_code == 404
    assert PROJECT["title"] not in _text(Client().get("/learning/joint-working/"))
    assert member.post(f"{url}moderate/", {"action": "publish", **ALL_CHECKS}).status_code in (302, 403)
    p.refresh_from_db()
    assert p.status == "submitted"  # a member cannot publish
    r = moderator.post(f"{url}moderate/", {"action": "publish", **dict(list(ALL_CHECKS.items())[:-1])}, follow=True)
    assert "Publishing needs every check ticked; not yet: Outcomes to be measured" in _text(r)
    moderator.post(f"{url}moderate/", {"action": "publish", **ALL_CHECKS})
    p.refresh_from_db()
    assert p.status == "published" and p.published_on is not None
    page = _text(Client().get(url))
    assert "A formal written joint working agreement" in page and "✓" in page and "✗" not in page
    assert re.search(r"difference-in-differences: \+[\d.]+ index \(95% interval \+[\d.]+ to \+[\d.]+; 6 months before, "
                     r"12 after\)", page)
    assert PROJECT["title"] in _text(Client().get("/learning/joint-working/"))
    # an end before the start is refused
    r = member.post("/learning/joint-working/new/", {**PROJECT, "title": "Backwards", "ended_on": "2020-01-01"})
    assert "The end date is before the start date" in _text(r)


def test_not_enough_data_is_said_on_the_page(as_, people):
    from uptake.web.impact import store

    p = store.save_project(people["member"], {**PROJECT, "started_on": date(2022, 6, 1), "ended_on": None}, submit=True)
    store.moderate_project(p, people["moderator"], action="publish", checklist={k[6:]: True for k in ALL_CHECKS})
    page = _text(Client().get(f"/learning/joint-working/{p.slug}/"))
    # the tiny NHS ends in September 2022: 4 months after June
    assert "not enough data: 12 month(s) before and 4 after" in page


def test_the_demos_examples_carry_dates_and_a_project(people):
    from uptake.web.impact.models import Implementation, JointWorkingProject
    from uptake.web.impact.seed import load_examples as load_impact
    from uptake.web.knowledge.models import CaseStudy
    from uptake.web.knowledge.seed import load_examples

    load_examples(people["member"], people["moderator"])
    made = load_impact(people["member"], people["moderator"])
    assert made == {"implementations": 5, "projects": 1}
    doac = CaseStudy.objects.get(title="Switching to a DOAC at the anticoagulation clinic's annual review")
    assert Implementation.objects.get(case_study=doac).implemented_on == date(2021, 10, 1)
    project = JointWorkingProject.objects.get(example=True)
    assert project.status == "published" and all(project.checklist.values())
    page = _text(Client().get(f"/learning/case-studies/{doac.slug}/"))
    # the planted step: every DOAC TA of QHM rises against its peers from October 2021
    for ta in ("TA249", "TA256", "TA275", "TA355"):
        assert re.search(rf"{ta} QHM October 2021 difference-in-differences: \+[\d.]+ index \(95% interval \+", page), ta
    assert load_impact(people["member"], people["moderator"]) == {"implementations": 5, "projects": 0}
