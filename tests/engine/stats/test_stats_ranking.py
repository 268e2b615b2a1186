"""Percent rank and deciles (OpenPrescribing's SQL definitions) by hand and against scipy/numpy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from uptake.engine.stats.ranking import deciles, percent_rank, percentile_cont


def test_percent_rank_by_hand_with_ties_and_nan():
    # values 1, 2, 2, 3 (and a NaN): rank_min 1, 2, 2, 4; N = 4 → (0, 1, 1, 3)/3 × 100
    got = percent_rank([3.0, 2.0, np.nan, 1.0, 2.0])
    assert got[[0, 1, 3, 4]] == pytest.approx([100.0, 33.333333, 0.0, 33.333333], abs=1e-6)
    assert np.isnan(got[2])


def test_percent_rank_edge_cases():
    assert list(percent_rank([7.0])) == [0.0]  # SQL PERCENT_RANK of a single row
    assert np.isnan(percent_rank([np.nan, np.nan])).all()
    assert list(percent_rank([5.0, 5.0, 5.0])) == [0.0, 0.0, 0.0]
    assert percent_rank([]).size == 0


def test_percent_rank_against_scipy_rankdata():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 40, 300).astype(float)  # many ties
    x[rng.choice(300, 20, replace=False)] = np.nan
    got = percent_rank(x)
    present = ~np.isnan(x)
    want = (stats.rankdata(x[present], method="min") - 1) / (present.sum() - 1) * 100
    assert np.allclose(got[present], want)
    assert np.isnan(got[~present]).all()


def test_deciles_by_hand():
    # 1..10: h = 9q → 1 + 9q: 1.9, 2.8, …, 9.1
    assert deciles(np.arange(1.0, 11.0)) == pytest.approx([1.9, 2.8, 3.7, 4.6, 5.5, 6.4, 7.3, 8.2, 9.1])
    # four values 0, 10, 20, 100: 0.5 → h = 1.5 → 15; 0.9 → h = 2.7 → 20 + 0.7·80 = 76
    assert deciles([100.0, 0.0, 20.0, 10.0, np.nan])[[4, 8]] == pytest.approx([15.0, 76.0])


def test_deciles_against_numpy_linear_percentile():
    rng = np.random.default_rng(4)
    x = rng.lognormal(1, 1, 123)
    assert np.allclose(deciles(x), np.percentile(x, np.arange(10, 100, 10)))
    assert np.allclose(percentile_cont(x, [0.0, 1.0]), [x.min(), x.max()])


def test_deciles_edge_cases():
    assert np.isnan(deciles([np.nan])).all()
    assert np.all(deciles([4.2]) == 4.2)
    with pytest.raises(ValueError):
        percentile_cont([1.0], [1.5])
