"""Run charts: the XmR chart of one organisation's monthly series, on the tiny synthetic NHS (the
engine and the published tables), with limits checked against numpy, and constructed series
worked by hand that set off each "Making Data Count" rule."""

from __future__ import annotations

import numpy as np
import pytest

from uptake.errors import UptakeError
from uptake.services.analysis import open_analysis
from uptake.services.runchart import run_chart, runchart


@pytest.fixture(scope="module")
def an(tiny_warehouse):
    with open_analysis(tiny_warehouse) as a:
        yield a


MONTHS = [f"{y}-{m:02d}" for y in (2021, 2022) for m in range(1, 13)]
# a baseline of six months alternating 10 and 12: mean 11, every moving range 2, so MR̄ = 2,
# process limits 11 ± 2.66 × 2 = 5.68 and 16.32, and the 2σ lines 11 ± (2/3)(5.32) = 7.4533 and 14.5467
BASE = [10.0, 12.0, 10.0, 12.0, 10.0, 12.0]


def chart(values, **kw):
    return run_chart(MONTHS[: len(values)], list(values), baseline=6, **kw)


def flagged(c, rule=None):
    return [p.month for p in c.points if (p.special_cause if rule is None else rule in p.rules)]


def test_limits_by_hand():
    c = chart(BASE + [11.0])
    assert (c.mean, c.mr_bar) == (pytest.approx(11.0), pytest.approx(2.0))
    assert c.upper_limit == pytest.approx(16.32) and c.lower_limit == pytest.approx(5.68)
    assert c.upper_2sigma == pytest.approx(11 + 2 / 3 * 5.32) and c.lower_2sigma == pytest.approx(11 - 2 / 3 * 5.32)
    assert c.sigma == pytest.approx(2 / 1.128)
    assert (c.baseline, c.baseline_from, c.baseline_to) == (6, "2021-01", "2021-06")
    assert c.points[0].moving_range is None and c.points[6].moving_range == pytest.approx(1.0)
    assert flagged(c) == [] and c.signals == []
    assert c.summary.startswith("No special cause") and "Latest month (2021-07): common cause" in c.summary


def test_a_point_outside_the_limits():
    c = chart(BASE + [11.0, 20.0, 11.0, 10.0])  # 20 > 16.32
    assert flagged(c) == ["2021-08"] and c.points[7].rules == ["outside"]
    assert c.points[7].label == "improvement" and c.points[7].side == 1
    (s,) = c.signals
    assert (s.rule, s.start, s.end, s.points, s.ongoing) == ("outside", "2021-08", "2021-08", 1, False)
    assert s.text == "above the upper process limit in 2021-08 (improvement)"
    low = chart(BASE + [11.0, 5.0], improvement="increase")  # 5 < 5.68: lower uptake is a concern
    assert low.points[7].label == "concern" and low.signals[0].text.startswith("below the lower process limit in 2021-08")
    assert low.signals[0].ongoing


def test_a_run_of_seven_on_one_side():
    # below the mean (the baseline ends above it), inside the 2σ lines, flat
    c = chart(BASE + [10.5] * 7, improvement="decrease")
    assert flagged(c) == MONTHS[6:13] and all(p.rules == ["run"] for p in c.points[6:13])
    assert {p.label for p in c.points[6:13]} == {"improvement"}  # lower is better for this measure
    (s,) = c.signals
    assert s.text == "7 months in a row below the mean since 2021-07 (improvement)" and s.ongoing
    assert chart(BASE + [10.5] * 7).points[12].label == "concern"  # lower uptake
    six = chart(BASE + [10.5] * 6)
    assert flagged(six) == []  # six is not a run
    broken = chart(BASE + [10.5] * 3 + [11.0] + [10.5] * 3)  # a point on the mean breaks it
    assert flagged(broken) == []


def test_a_trend_of_seven():
    rising = [9.0, 9.5, 10.0, 10.5, 11.5, 12.0, 12.5]  # 12 → 9 falls, then six rises: seven points
    c = chart(BASE + rising)
    assert flagged(c) == MONTHS[6:13] and all(p.rules == ["trend"] for p in c.points[6:13])
    assert c.signals[0].text == "7 months in a row rising since 2021-07 (improvement)"
    c2 = chart(BASE + rising + [11.0])
    assert c2.signals[0].text == "7 months in a row rising from 2021-07 to 2022-01 (improvement)"
    six = chart(BASE + rising[1:] + [10.0])
    assert "trend" not in {r for p in six.points for r in p.rules}


def test_two_of_three_beyond_two_sigma():
    c = chart(BASE + [15.0, 11.0, 15.5, 11.0, 7.0, 7.2, 11.0])  # 15, 15.5 > 14.5467; 7, 7.2 < 7.4533
    assert flagged(c) == ["2021-07", "2021-09", "2021-11", "2021-12"]
    assert all(c.points[i].rules == ["two_of_three"] for i in (6, 8, 10, 11))
    assert [p.label for p in c.points if p.special_cause] == ["improvement", "improvement", "concern", "concern"]
    assert [s.text for s in c.signals] == [
        "2 of 3 months above the upper 2σ line, close to the limit, from 2021-07 to 2021-09 (improvement)",
        "2 of 2 months below the lower 2σ line, close to the limit, from 2021-11 to 2021-12 (concern)"]
    one = chart(BASE + [15.0, 11.0, 11.0, 15.5])  # two beyond, but not within any 3 consecutive
    assert flagged(one) == []


def test_no_direction_labels_high_and_low_and_missing_months_are_noted():
    c = run_chart(MONTHS[:9], BASE + [None, 20.0, 11.0], improvement=None, baseline=6)
    assert c.points[6].charted is False and c.points[6].label == "not charted"
    assert c.points[7].label == "special cause high" and c.points[7].moving_range == pytest.approx(8.0)
    assert any("No value in 2021-07" in n for n in c.notes)
    few = run_chart(MONTHS[:1], [3.0])
    assert few.mean is None and few.summary.startswith("Too few months")
    with pytest.raises(UptakeError, match="--baseline 1"):
        run_chart(MONTHS[:5], [1.0, 2, 3, 4, 5], baseline=1)


# --- the service on the tiny synthetic NHS -------------------------------------------------------


def _engine_series(an, ta, level, org):
    rows = an.ta_table([ta], an.months(), (level,)).to_pylist()
    mine = sorted((r for r in rows if r["level"] == level and r["org"] == org), key=lambda r: r["month"])
    return [f"{r['month']:%Y-%m}" for r in mine], np.array([r["value"] for r in mine], dtype=float)


def test_an_icb_chart_equals_numpy_on_the_engine_values(an):
    icb = "QHM"
    months, v = _engine_series(an, "TA275", "icb", icb)
    c = runchart(an, "TA275", icb)
    assert (c.level, c.kind, c.headline, c.improvement) == ("icb", "ta", "index", "increase")
    assert [p.month for p in c.points] == months and len(months) == 18
    np.testing.assert_allclose([p.value for p in c.points], v, rtol=1e-12)
    mr = np.abs(np.diff(v)).mean()
    assert c.mean == pytest.approx(v.mean(), rel=1e-12) and c.mr_bar == pytest.approx(mr, rel=1e-12)
    assert c.upper_limit == pytest.approx(v.mean() + 2.66 * mr, rel=1e-12)
    assert c.lower_limit == pytest.approx(v.mean() - 2.66 * mr, rel=1e-12)
    outside = (v > v.mean() + 2.66 * mr) | (v < v.mean() - 2.66 * mr)
    assert [("outside" in p.rules) for p in c.points] == list(outside)
    assert c.name and "Latest month (2022-09)" in c.summary
    base = runchart(an, "TA275", icb, baseline=12)
    assert base.mean == pytest.approx(v[:12].mean(), rel=1e-12)
    assert base.mr_bar == pytest.approx(np.abs(np.diff(v[:12])).mean(), rel=1e-12)


def test_the_published_tables_give_the_same_chart(an, pub):
    for org, level in (("QHM", None), ("ENG", None), ("Y60", "region")):
        a, p = runchart(an, "TA275", org, level), runchart(pub, "TA275", org, level)
        assert [x.month for x in a.points] == [x.month for x in p.points]
        np.testing.assert_allclose([x.value for x in a.points], [x.value for x in p.points], rtol=1e-12)
        assert (a.mean, a.upper_limit) == (pytest.approx(p.mean, rel=1e-12), pytest.approx(p.upper_limit, rel=1e-12))
        assert [x.label for x in a.points] == [x.label for x in p.points] and a.summary == p.summary


def test_england_and_measures(an):
    eng = runchart(an, "TA275", "eng")
    months, v = _engine_series(an, "TA275", "icb", "QHM")
    table = an.ta_table(["TA275"], an.months(), ("icb",)).to_pylist()
    england = np.array([r["value"] for r in sorted((r for r in table if r["level"] == "england"),
                                                   key=lambda r: r["month"])], dtype=float)
    assert (eng.level, eng.org, eng.name) == ("england", "ENG", "England")
    assert eng.mean == pytest.approx(england.mean(), rel=1e-12)
    best = runchart(an, "doacs_best_value", "Y60")  # lower is better
    assert (best.kind, best.level, best.improvement) == ("measure", "region", "decrease")
    rows = [r for r in an.measure_table(["doacs_best_value"], an.months(), ("region",)).to_pylist()
            if r["org"] == "Y60"]
    assert best.mean == pytest.approx(np.mean([r["numerator"] / r["denominator"] for r in rows]), rel=1e-12)
    context = runchart(an, "antidepressant_items_per_1000", "Y60")
    assert context.improvement is None and any("no better direction" in n for n in context.notes)
    assert {p.label for p in context.points} <= {"common cause", "special cause high", "special cause low"}


def test_small_counts_are_left_out_of_a_practice_chart(an):
    rows = an.ta_table(["TA288"], an.months(), ("practice",)).to_pylist()
    small = sorted({r["org"] for r in rows if r["level"] == "practice" and 0 < r["items"] < 5})
    assert small, "the tiny NHS has practices with 1-4 items in some month"
    code = small[0]
    mine = {f"{r['month']:%Y-%m}": r for r in rows if r["org"] == code}
    c = runchart(an, "TA288", code, "practice", min_items=5)
    hidden = [p.month for p in c.points if p.suppressed]
    assert hidden == sorted(m for m, r in mine.items() if 0 < r["items"] < 5)
    assert all(p.value is None and not p.charted for p in c.points if p.suppressed)
    shown = [mine[p.month]["value"] for p in c.points if p.charted]
    assert c.mean == pytest.approx(np.mean(shown), rel=1e-12)
    assert any(n.startswith(f"{len(hidden)} month(s) with fewer than 5 items are suppressed") for n in c.notes)
    everything = runchart(an, "TA288", code, "practice", min_items=0)
    assert not any(p.suppressed for p in everything.points)


def test_clear_errors(an):
    with pytest.raises(UptakeError, match="no organisation 'ZZZ99'"):
        runchart(an, "TA275", "ZZZ99")
    with pytest.raises(UptakeError, match="QHM is not a region"):
        runchart(an, "TA275", "QHM", "region")
    with pytest.raises(UptakeError, match="level 'ward'"):
        runchart(an, "TA275", "QHM", "ward")
    with pytest.raises(UptakeError, match="--baseline 40"):
        runchart(an, "TA275", "QHM", baseline=40)
    with pytest.raises(UptakeError, match="no headline value"):
        runchart(an, "TA151", "QHM")  # insulin pumps: no presentation, no VMP with a daily dose
