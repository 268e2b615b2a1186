"""The month an organisation reaches its expected use (engine.stats.forecast), checked against a
logistic curve fitted independently (scipy's curve_fit, Levenberg-Marquardt) on real national
apixaban prescribing (EPD via OpenPrescribing, ../shared/data/epd), and against what happened."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import curve_fit

from uptake.engine.stats.forecast import HORIZON, reach

PUBLISHED = pd.Timestamp("2013-02-01")  # TA275 apixaban, published 27 Feb 2013
# Expected patients on apixaban in England: AF register 1,174,959 (QOF 2018-19) x 0.77 x 0.454 (the
# catalogue's central figures for TA275); the range ends' shares 0.398 and 0.459 (0.78 and 0.90 x 0.5103).
EXPECTED = 1174959 * 0.77 * 0.454
LOW, HIGH = 0.398 / 0.454, 0.459 / 0.454


@pytest.fixture(scope="module")
def apixaban(shared_data: Path) -> tuple[np.ndarray, np.ndarray]:
    d = pd.read_csv(shared_data / "epd" / "doacs_warfarin_subicb_monthly_201710_202209.csv.gz")
    q = d[d.chemical == "Apixaban"].groupby("date").quantity.sum()
    months = pd.to_datetime(q.index)
    patients = q.to_numpy() / 2 / months.days_in_month.to_numpy()  # two tablets a day
    t = np.array([(m.year - PUBLISHED.year) * 12 + m.month - PUBLISHED.month for m in months], float)
    return t, patients / EXPECTED


def hand_fit(t: np.ndarray, y: np.ndarray, level: float) -> float:
    def logistic(tt, K, r, t0):
        return K / (1 + np.exp(-r * (tt - t0)))

    (K, r, t0), _ = curve_fit(logistic, t, y, p0=[1.5, 0.05, 60.0], maxfev=20000)
    return t0 + math.log((level / K) / (1 - level / K)) / r


def test_forecast_matches_a_hand_fitted_curve_on_real_apixaban(apixaban):
    t, y = apixaban
    first = t <= t[0] + 17  # Oct 2017 - Mar 2019: the index was still below 1
    assert y[first].max() < 1
    got = reach(t[first], y[first], 1.0, LOW, HIGH)
    assert got.status == "forecast"
    assert got.t == pytest.approx(hand_fit(t[first], y[first], 1.0), abs=0.25)
    # the low end was already passed within those months: the month it was, interpolated
    i = int(np.argmax(y >= LOW))
    assert i > 0 and t[i] <= t[first][-1]
    assert got.t_low == pytest.approx(t[i - 1] + (LOW - y[i - 1]) / (y[i] - y[i - 1]))
    assert got.t_high == pytest.approx(hand_fit(t[first], y[first], HIGH), abs=0.25)
    assert got.t_low < got.t < got.t_high
    # what happened: England's apixaban index first reached 1 in May 2019 (month 75 since
    # publication); the forecast from the 18 months before says within a few months of it
    actual = t[np.argmax(y >= 1)]
    assert actual == 75 and abs(got.t - actual) < 3


def test_reached_beyond_and_not_fitted():
    t = np.arange(24, dtype=float)
    rising = 1.4 / (1 + np.exp(-0.3 * (t - 10)))
    done = reach(t, rising, 1.0)
    assert done.status == "reached" and 10 < done.t < 14
    slow = 0.6 / (1 + np.exp(-0.3 * (t - 10)))  # ceiling 0.6: never reaches 1
    beyond = reach(t, slow, 1.0)
    assert beyond.status == "beyond" and beyond.t is None and "not within 5 years" in beyond.message
    crawl = 3.0 / (1 + np.exp(-0.02 * (t - 150)))  # reaches 1 only ~115 months on
    assert reach(t, crawl, 1.0).status == "beyond" and HORIZON == 60
    assert reach(t[:3], rising[:3], 1.0).status == "not_fitted"
