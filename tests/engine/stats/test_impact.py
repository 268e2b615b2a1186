"""Impact estimates checked on a synthetic NHS panel with known planted effects: an organisation
and its 10 peers follow a shared S-shaped diffusion (Bass curve, as the synthetic NHS generator
draws it) with their own levels and monthly noise; a step of known size is planted at a known
month in the organisation. The estimates must recover it within their 95% intervals at about
the nominal rate, and find an effect where none was planted at about 5% of seeds."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from uptake.engine.stats.impact import NOT_ENOUGH, did, its
from uptake.sources.synthetic.diffusion import bass

MONTHS, START, PEERS = 36, 18, 10
SEEDS = 1000


def panel(seed: int, effect: float, noise: float = 1.0):
    """(org [T], peers [P, T]): uptake per 1,000 patients rising on a Bass curve to ~20."""
    rng = np.random.default_rng(seed)
    t = np.arange(MONTHS)
    shared = 20.0 * bass(t + 6, 0.02, 0.35)
    org = shared + rng.normal(0, 2) + rng.normal(0, noise, MONTHS)
    org[START:] += effect
    peers = shared[None, :] + rng.normal(0, 2, (PEERS, 1)) + rng.normal(0, noise, (PEERS, MONTHS))
    return org, peers


def linear(seed: int, effect: float, noise: float = 1.0):
    """An organisation's own straight-line trend with a planted step (for the ITS)."""
    rng = np.random.default_rng(seed)
    t = np.arange(MONTHS)
    y = 5.0 + 0.3 * t + rng.normal(0, noise, MONTHS)
    y[START:] += effect
    return y


@pytest.mark.parametrize("planted", [0.0, 3.0])
def test_difference_in_differences_covers_the_planted_effect_at_the_nominal_rate(planted):
    est = [did(*panel(s, planted), START) for s in range(SEEDS)]
    assert all(e.months_before == 12 and e.months_after == 12 for e in est)
    covered = np.mean([e.low <= planted <= e.high for e in est])
    effects = np.array([e.effect for e in est])
    # Nominal 95%: a binomial 99.9% band around it for 1,000 seeds is about 0.927-0.972.
    lo, hi = stats.binom.ppf([0.0005, 0.9995], SEEDS, 0.95) / SEEDS
    assert lo <= covered <= hi, covered
    assert abs(effects.mean() - planted) < 0.05  # unbiased: SE of the mean ≈ 0.013
    if planted:
        assert np.mean([e.significant for e in est]) > 0.99  # a 3-per-1,000 step is found
    else:
        assert 1 - hi <= np.mean([e.significant for e in est]) <= 1 - lo  # ~5% false alarms


@pytest.mark.parametrize("planted", [0.0, 2.0])
def test_interrupted_time_series_covers_the_planted_step_at_the_nominal_rate(planted):
    est = [its(linear(s, planted), START) for s in range(SEEDS)]
    covered = np.mean([e.low <= planted <= e.high for e in est])
    lo, hi = stats.binom.ppf([0.0005, 0.9995], SEEDS, 0.95) / SEEDS
    assert lo <= covered <= hi, covered
    assert abs(np.mean([e.effect for e in est]) - planted) < 0.1
    assert abs(np.mean([e.slope_change for e in est])) < 0.02  # no slope change was planted


def test_one_case_worked_by_hand():
    org = np.array([1, 2, 1, 2, 1, 2, 5, 6, 5, 6, 5, 6], dtype=float)
    peers = np.zeros((1, 12))
    e = did(org, peers, 6, min_months=6)
    # gap before: mean 1.5, var 0.3; after: mean 5.5, var 0.3 → effect 4, SE √(0.3/6·2) = √0.1,
    # Welch df = (0.1)² / (2·0.05²/5) = 10, t(0.975, 10) = 2.228
    assert e.effect == pytest.approx(4.0)
    assert e.high - e.effect == pytest.approx(2.2281388519649385 * np.sqrt(0.1))
    assert (e.months_before, e.months_after) == (6, 6)


def test_not_enough_data_is_said_not_guessed():
    org = np.full(MONTHS, np.nan)
    org[14:22] = 3.0
    peers = np.ones((PEERS, MONTHS))
    e = did(org, peers, START)
    assert e.effect is None and e.low is None
    assert e.note == f"{NOT_ENOUGH}: 4 month(s) before and 4 after with the organisation's and its peers' values; 6 each needed"
    assert its(org, START).note.startswith(f"{NOT_ENOUGH}: 4 month(s) before and 4 after")
    assert did(np.ones(MONTHS), np.ones((PEERS, MONTHS)), 3).note.startswith(f"{NOT_ENOUGH}: 3 month(s) before")
