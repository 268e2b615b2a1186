"""Synthetic formulary decisions: readable, deterministic, realistic proportions, cut at 'today'."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import pytest

from uptake.catalogue import load_catalogue
from uptake.sources.formulary import DECISIONS, read_formulary_decisions
from uptake.sources.synthetic import formulary as synthetic_formulary
from uptake.sources.synthetic import generate
from uptake.sources.synthetic.reference import load as load_reference

# A short range keeps the generator fast; decisions are made for every catalogue TA published
# by the end, whenever the range starts.
START, END = "2022-04", "2022-09"
AS_OF = dt.date(2022, 9, 30)
POSITIVE = ("recommended", "optimised", "cancer_drugs_fund")


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, catalogue):
    out = tmp_path_factory.mktemp("formulary")
    result = generate(out, scale="tiny", seed=42, start=START, end=END, catalogue=catalogue)
    rows = read_formulary_decisions(result.formulary, known_tas=[t.id for t in catalogue])
    return result, rows


def _pairs(rows):
    out = defaultdict(list)
    for r in rows:
        out[(r.formulary, r.ta)].append(r)
    return {k: sorted(v, key=lambda r: r.decision_date) for k, v in out.items()}


def test_written_beside_the_warehouse_files_and_read_back(tiny, catalogue):
    result, rows = tiny
    out = result.files[0].parent.parent  # ods/icb_lookup.csv
    assert result.formulary == out / "formulary/formulary_decisions.csv"
    assert result.formulary not in result.files and all(p.parent.name != "formulary" for p in result.files)
    s = result.summary["formulary"]
    assert s["file"] == "formulary/formulary_decisions.csv"
    assert result.summary["formulary_as_of"] == AS_OF.isoformat()
    assert s["rows"] == len(rows) > 1000
    by_decision = Counter(r.decision for r in rows)
    assert s["decisions"] == {d: by_decision[d] for d in DECISIONS}
    assert s["formularies"] == len({r.formulary for r in rows})
    # Only positive recommendations are in formularies.
    positive = {t.id for t in catalogue if t.recommendation in POSITIVE}
    assert {r.ta for r in rows} <= positive
    assert "TA836" not in {r.ta for r in rows}  # not recommended (and published after the end)


def test_same_seed_same_bytes_another_seed_not(tiny, tmp_path, catalogue):
    result, _ = tiny
    again = generate(tmp_path / "again", scale="tiny", seed=42, start=START, end=END, catalogue=catalogue)
    assert again.formulary.read_bytes() == result.formulary.read_bytes()
    assert again.summary["formulary"] == result.summary["formulary"]
    other = generate(tmp_path / "other", scale="tiny", seed=7, start=START, end=END, catalogue=catalogue)
    assert other.formulary.read_bytes() != result.formulary.read_bytes()


def test_nothing_after_today_and_an_earlier_today_cuts_the_same_decisions(tiny, tmp_path, catalogue):
    _, rows = tiny
    assert max(r.decision_date for r in rows) <= AS_OF
    earlier = generate(tmp_path / "earlier", scale="tiny", seed=42, start="2021-07", end="2021-12",
                       catalogue=catalogue)
    cut = dt.date(2021, 12, 31)
    assert earlier.summary["formulary_as_of"] == cut.isoformat()
    strip = [(r.formulary, r.ta, r.decision, r.decision_date, r.restrictions, r.reason, r.evidence)
             for r in read_formulary_decisions(earlier.formulary)]
    assert strip == [(r.formulary, r.ta, r.decision, r.decision_date, r.restrictions, r.reason, r.evidence)
                     for r in rows if r.decision_date <= cut]
    published = {t.id: t.published for t in catalogue}
    assert all(published[ta] <= cut for _, ta, *_ in strip)


def test_one_formulary_per_icb_except_shared_ones_in_one_region(tiny):
    result, rows = tiny
    icbs_of = {r.formulary: r.icbs for r in rows}
    names = {r.formulary: r.formulary_name for r in rows}
    served = Counter(i for icbs in icbs_of.values() for i in icbs)
    assert len(served) == 42 and set(served.values()) == {1}
    shared = result.summary["formulary"]["shared"]
    assert 1 <= len(shared) <= 2 and len(icbs_of) == 42 - len(shared)
    region = {i.code: i.region for i in load_reference().icbs}
    for code, members in shared.items():
        assert len(members) == 2 and icbs_of[code] == tuple(members)
        assert code == f"SYN-{members[0]}-{members[1]}"
        assert region[members[0]] == region[members[1]]
        assert "joint formulary (synthetic)" in names[code]
    for code in icbs_of:
        assert code.startswith("SYN-") and names[code].endswith("(synthetic)")
    if "SYN-QHM" in names:
        assert names["SYN-QHM"] == "North East and North Cumbria formulary (synthetic)"


def test_most_on_time_a_late_tail_some_missing_rejected_and_changed(tiny, catalogue):
    result, rows = tiny
    s = result.summary["formulary"]
    tas = {t.id: t for t in catalogue if t.recommendation in POSITIVE and t.published <= AS_OF}
    pairs = _pairs(rows)
    formularies = {r.formulary for r in rows}
    status = Counter()
    for f in formularies:
        for ta_id, ta in tas.items():
            history = pairs.get((f, ta_id), [])
            if not history:  # overdue once the deadline has passed
                status["pending" if ta.funding_deadline > AS_OF else "missing"] += 1
            elif history[-1].decision in ("rejected", "not_applicable"):
                status[history[-1].decision] += 1
            else:  # included: from the first inclusion of the run in force
                status["on_time" if history[-1].decision_date <= ta.funding_deadline else "late"] += 1
    total = sum(status.values())
    assert total == len(formularies) * len(tas) == s["pairs"]
    assert {k: s[k] for k in status} == dict(status)
    judged = status["on_time"] + status["late"] + status["rejected"] + status["missing"]
    assert 0.78 < status["on_time"] / judged < 0.90
    assert 0.09 < status["late"] / judged < 0.17
    assert 0 < status["missing"] / judged < 0.04
    assert 0 < status["rejected"] < status["missing"]
    rejected = [r for r in rows if r.decision == "rejected"]
    assert 0.004 < len(rejected) / len(rows) < 0.03 and all(r.reason for r in rejected)
    changed = [k for k, h in pairs.items() if [r.decision for r in h][:2] == ["rejected", "included"]]
    assert changed and s["changed"] == len(changed)
    # Late decisions fall 91-250 days after publication for 90-day TAs.
    delays = [(h[0].decision_date - tas[ta].published).days for (f, ta), h in pairs.items()
              if ta in tas and tas[ta].funding_deadline_days == 90]
    late = [d for d in delays if d > 90]
    assert late and max(late) <= 250
    on_time = sorted(d for d in delays if d <= 90)
    assert on_time[len(on_time) // 2] < 45  # right-skewed: the median well inside the window
    # A few auto-added at final draft guidance, before publication.
    early = [r for r in rows if r.decision_date < catalogue.ta(r.ta).published]
    assert 0 < len(early) == s["before_publication"] < 0.05 * len(rows)
    assert all(r.decision_date >= catalogue.ta(r.ta).published - dt.timedelta(days=40) for r in early)


def test_a_30_day_ta_is_added_sooner(tiny, catalogue):
    _, rows = tiny
    first = {k: h[0] for k, h in _pairs(rows).items()}
    ta733 = catalogue.ta("TA733")
    assert ta733.funding_deadline_days == 30
    delays = sorted((r.decision_date - ta733.published).days for (f, ta), r in first.items() if ta == "TA733")
    on_time = [d for d in delays if 0 <= d <= 30]
    assert len(on_time) > 0.7 * len(delays) and max(on_time) <= 28


def test_laggard_icbs_formularies_are_later(tiny, catalogue):
    result, rows = tiny
    laggards = set(result.summary["laggards"])
    published = {t.id: t for t in catalogue}
    late = defaultdict(list)
    for (_, ta), h in _pairs(rows).items():
        t = published[ta]
        compliant = [r.decision_date for r in h if r.decision != "rejected"]
        is_late = not compliant or compliant[0] > t.funding_deadline
        late[bool(set(h[0].icbs) & laggards)].append(is_late)
    assert late[True] and late[False]
    assert sum(late[True]) / len(late[True]) > 2 * sum(late[False]) / len(late[False])


def test_nhs_england_and_hospital_only_tas_are_restricted_or_not_applicable(tiny, catalogue):
    _, rows = tiny
    hospital = {t.id for t in catalogue if t.commissioner == "nhs_england"
                or (t.products and all(p.setting == "secondary" for p in t.products))}
    decided = Counter(r.decision for r in rows if r.ta in hospital and r.decision != "rejected")
    assert (decided["included_with_restrictions"] + decided["not_applicable"]) / sum(decided.values()) > 0.85
    nhse = [r for r in rows if catalogue.ta(r.ta).commissioner == "nhs_england"]
    assert {r.reason for r in nhse if r.decision == "not_applicable"} == {synthetic_formulary.NHSE_REASON}
    assert {r.restrictions for r in nhse if r.decision == "included_with_restrictions"} == \
        {synthetic_formulary.NHSE_RESTRICTION}
    primary = Counter(r.decision for r in rows if r.ta not in hospital)
    assert primary["included"] > primary["included_with_restrictions"] and primary["not_applicable"] == 0


def test_evidence_and_recorders_are_clearly_synthetic(tiny):
    _, rows = tiny
    urls = [r.evidence for r in rows if r.evidence.startswith("http")]
    assert urls and all(u.startswith("https://formulary.example.org/") for u in urls)
    assert any(r.evidence.startswith("APC minutes ") for r in rows)
    assert {r.recorded_by for r in rows} <= {"", *synthetic_formulary.RECORDERS}
    assert all("(synthetic)" in r for r in synthetic_formulary.RECORDERS)
