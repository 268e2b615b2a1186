"""The compliance rules on hand-worked cases: day 90 vs 91, the 30-day TA733, decisions before
publication, changed decisions, closed and merged ICBs, due soon at 14 days, replay as of a date."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from uptake.catalogue import load_catalogue
from uptake.services.compliance import Decision, Icb, compliance, requirements, status_of

CAT = load_catalogue()
TA275 = next(r for r in requirements(CAT, date(2030, 1, 1)) if r.ta == "TA275")  # published 2013-02-27, 90 days
TA733 = next(r for r in requirements(CAT, date(2030, 1, 1)) if r.ta == "TA733")  # published 2021-10-06, 30 days


def day(req, n: int) -> date:
    return req.published + timedelta(days=n)


def dec(req, n: int, decision: str = "included", formulary: str = "F1") -> Decision:
    return Decision(formulary, req.ta, decision, day(req, n), reason="x" if decision in ("rejected", "not_applicable")
                    else "")


def test_the_catalogue_dates_used_here():
    assert (TA275.published, TA275.deadline_days, TA275.deadline) == (date(2013, 2, 27), 90, date(2013, 5, 28))
    assert (TA733.published, TA733.deadline_days, TA733.deadline) == (date(2021, 10, 6), 30, date(2021, 11, 5))


def test_day_90_is_on_time_and_day_91_is_one_day_late():
    s90 = status_of(TA275, [dec(TA275, 90)], date(2014, 1, 1))
    s91 = status_of(TA275, [dec(TA275, 91)], date(2014, 1, 1))
    assert (s90.status, s90.days_to_inclusion, s90.days_late) == ("on_time", 90, None)
    assert (s91.status, s91.days_to_inclusion, s91.days_late) == ("late", 91, 1)
    assert s90.compliant is True and s91.compliant is True


def test_thirty_day_ta_is_late_on_day_31():
    assert status_of(TA733, [dec(TA733, 30)], date(2022, 6, 1)).status == "on_time"
    late = status_of(TA733, [dec(TA733, 31)], date(2022, 6, 1))
    assert (late.status, late.days_late) == ("late", 1)
    # A decision on day 45 would be on time for a 90-day TA: the 30 days matter.
    assert status_of(TA733, [dec(TA733, 45)], date(2022, 6, 1)).days_late == 15


def test_no_decision_not_yet_due_due_soon_then_overdue():
    # Deadline 2013-05-28: 15 days before is not yet due, 14 days before is due soon.
    assert status_of(TA275, [], day(TA275, 75)).status == "not_yet_due"
    soon = status_of(TA275, [], day(TA275, 76))
    assert (soon.status, soon.days_left) == ("due_soon", 14)
    assert status_of(TA275, [], day(TA275, 90)).status == "due_soon"  # the deadline day itself
    over = status_of(TA275, [], day(TA275, 91))
    assert (over.status, over.days_overdue, over.compliant) == ("overdue", 1, False)


def test_decision_before_publication_counts_as_day_0():
    s = status_of(TA275, [dec(TA275, -10)], day(TA275, 5))
    assert (s.status, s.days_to_inclusion, s.included_on) == ("on_time", 0, day(TA275, -10))


def test_changed_decisions_rejected_then_included_late():
    history = [dec(TA275, 20, "rejected"), dec(TA275, 120)]
    assert status_of(TA275, history, day(TA275, 60)).status == "rejected"
    s = status_of(TA275, history, day(TA275, 200))
    assert (s.status, s.days_to_inclusion, s.days_late) == ("late", 120, 30)


def test_included_then_withdrawn_is_rejected_and_reinclusion_counts_from_the_new_run():
    history = [dec(TA275, 10), dec(TA275, 50, "included_with_restrictions"), dec(TA275, 300, "rejected"),
               dec(TA275, 400)]
    assert status_of(TA275, history, day(TA275, 100)).days_to_inclusion == 10  # the run starts on day 10
    assert status_of(TA275, history, day(TA275, 350)).status == "rejected"
    assert status_of(TA275, history, day(TA275, 450)).days_late == 310


def test_not_applicable_needs_no_inclusion():
    s = status_of(TA275, [dec(TA275, 200, "not_applicable")], day(TA275, 300))
    assert (s.status, s.compliant) == ("not_applicable", None)
    # ... but until it is recorded, the TA was overdue.
    assert status_of(TA275, [dec(TA275, 200, "not_applicable")], day(TA275, 150)).status == "overdue"


def test_decisions_after_as_of_are_ignored_so_history_replays():
    history = [dec(TA275, 100)]
    assert status_of(TA275, history, day(TA275, 99)).status == "overdue"
    assert status_of(TA275, history, day(TA275, 100)).status == "late"


def test_closed_and_merged_icbs_and_shared_formularies():
    icbs = [Icb("QAA", "Old ICB", "F-OLD", opened=date(2022, 7, 1), closed=date(2023, 3, 31)),
            Icb("QBB", "Successor ICB", "F-NEW", opened=date(2023, 4, 1)),
            Icb("QCC", "Sharing ICB", "F-NEW"),
            Icb("QDD", "No formulary recorded", None)]
    decisions = [Decision("F-OLD", "TA275", "included", date(2013, 4, 1)),
                 Decision("F-NEW", "TA275", "included", date(2013, 7, 1))]
    before = compliance(CAT, icbs, decisions, date(2023, 1, 1), tas=["TA275"])
    assert {s.icb: s.status for s in before.statuses} == {"QAA": "on_time", "QCC": "late", "QDD": "overdue"}
    after = compliance(CAT, icbs, decisions, date(2023, 6, 1), tas=["TA275"])
    assert {s.icb: s.status for s in after.statuses} == {"QBB": "late", "QCC": "late", "QDD": "overdue"}


def test_requirements_cover_positive_published_tas_only():
    reqs = {r.ta for r in requirements(CAT, date(2022, 9, 30))}
    assert "TA275" in reqs and "TA810" in reqs
    assert "TA836" not in reqs  # not recommended (and published after the date)
    assert not any(CAT.ta(t).recommendation in ("not_recommended", "terminated", "only_in_research") for t in reqs)
    assert all(CAT.ta(t).published <= date(2022, 9, 30) for t in reqs)


def test_summaries_rank_by_percent_on_time_then_median_days():
    icbs = [Icb("QA1", "A", "FA"), Icb("QB1", "B", "FB"), Icb("QC1", "C", "FC")]
    r = TA275
    decisions = [Decision("FA", "TA275", "included", day(r, 80)), Decision("FB", "TA275", "included", day(r, 10)),
                 Decision("FC", "TA275", "included", day(r, 100))]
    c = compliance(CAT, icbs, decisions, date(2014, 1, 1), tas=["TA275", "TA733"])
    # TA733 is not yet published on 2014-01-01.
    assert [s.ta for s in c.statuses] == ["TA275"] * 3
    ranked = c.summaries()
    assert [(s.icb, s.rank, s.on_time_pct, s.median_days) for s in ranked] == [
        ("QB1", 1, 100.0, 10.0), ("QA1", 2, 100.0, 80.0), ("QC1", 3, 0.0, 100.0)]
    nat = c.national()
    assert nat["on_time_pct"] == pytest.approx(200 / 3) and nat["median_days"] == 80.0
