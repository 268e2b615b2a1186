"""NHS England's Similar-10 method reproduced on its own April 2021 input file (data/SOURCES.md
§13), checked against an independent computation (pandas for the capping, square roots and
standardisation; scipy's weighted Euclidean distance) and against a pair worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist
from truth import truth_all

from uptake.engine.stats.similar import similar, standardise
from uptake.errors import InputError, UptakeError
from uptake.sources.peers import read_variable_table, read_weights

INPUT = "peers/similar10ccg_apr2021_input_variables.csv"
WEIGHTS = "peers/similar10ccg_apr2021_variable_weights.csv"


@pytest.fixture(scope="module")
def nhse(shared_data):
    table = read_variable_table(shared_data / INPUT)
    weights = read_weights(shared_data / WEIGHTS)
    w = [weights[v] for v in table.variables]
    peers = similar(table.codes, np.array(table.values), w, table.variables)
    return table, weights, peers


@pytest.fixture(scope="module")
def independent(shared_data):
    """The same method written out column by column in pandas, distances by scipy."""
    df = pd.read_csv(shared_data / INPUT).set_index("CCGcode")
    wts = pd.read_csv(shared_data / WEIGHTS).set_index("Variable name")["Weights"]
    x = df.drop(columns="name")
    cap = x.mean() + 5 * x.std(ddof=0)
    root = np.sqrt(x.clip(upper=cap, axis=1))
    z = (root - root.mean()) / root.std(ddof=0)
    d = cdist(z.values, z.values, "euclidean", w=wts[z.columns].values)
    return pd.DataFrame(d, index=z.index, columns=z.index), z


def test_input_file_is_nhs_englands(nhse):
    table, weights, peers = nhse
    assert len(table.codes) == 106 and len(table.variables) == 11
    assert weights["IMDscore"] == 0.25 and weights["poptot"] == 0.15 and weights["pc_Black"] == 0.03
    assert math.isclose(sum(weights.values()), 1.0)
    assert len(peers) == 106 * 10


@pytest.mark.parametrize("ccg", ["00L", "00N", "07K", "99E", "15N"])
def test_ten_peers_and_distances_match_an_independent_computation(nhse, independent, ccg):
    table, _, peers = nhse
    dist, _ = independent
    mine = [p for p in peers if p.org == ccg]
    expected = dist.loc[ccg].drop(ccg).sort_values().head(10)
    assert [p.peer for p in mine] == list(expected.index)
    assert [p.rank for p in mine] == list(range(1, 11))
    truth_all(INPUT, f"Similar-10 distances of {ccg}'s 10 peers", ours=[p.distance for p in mine],
              independent=expected.values, against="pandas and scipy's weighted Euclidean distance", rel=1e-12)
    np.testing.assert_allclose([p.similarity for p in mine], expected.values ** 2, rtol=1e-12)
    # Printed so a reader of the test log sees the peers: code, name, distance.
    names = dict(zip(table.codes, table.names))
    print(f"\n{ccg} {names[ccg]}:", "; ".join(f"{p.peer} {names[p.peer]} {p.distance:.3f}" for p in mine))


def test_one_pair_worked_by_hand(independent, nhse):
    """Northumberland (00L) against South Tyneside (00N), variable by variable."""
    _, z = independent
    _, weights, _ = nhse
    by_hand = sum(weights[v] * (z.loc["00L", v] - z.loc["00N", v]) ** 2 for v in z.columns)
    table, _, _ = nhse
    from uptake.engine.stats.similar import similarity_rows

    got = similarity_rows(standardise(np.array(table.values)), np.array([weights[v] for v in table.variables]),
                          slice(0, 1))[0][table.codes.index("00N")]
    assert got == pytest.approx(by_hand, rel=1e-12)


def test_outliers_are_capped_at_mean_plus_five_sd():
    x = np.array([[1.0]] * 30 + [[1000.0]])
    cap = x.mean() + 5 * x.std()
    z = standardise(x)
    root = np.sqrt(np.minimum(x, cap))
    assert z[-1, 0] == pytest.approx(((root[-1] - root.mean()) / root.std())[0])
    assert cap < 1000  # the outlier really was capped


def test_a_constant_variable_or_a_missing_value_is_refused():
    with pytest.raises(UptakeError, match="same for every organisation"):
        standardise(np.array([[1.0, 2.0], [1.0, 3.0]]), ["flat", "ok"])
    with pytest.raises(UptakeError, match="missing values"):
        standardise(np.array([[np.nan, 2.0], [1.0, 3.0]]), ["IMD", "ok"])


def test_a_bad_input_file_names_its_line_and_column(tmp_path):
    bad = tmp_path / "in.csv"
    bad.write_text("CCGcode,name,IMDscore,poptot\n00L,North,22.1,331113\n00N,South,high,158453\n")
    with pytest.raises(InputError) as e:
        read_variable_table(bad)
    assert str(e.value) == f"{bad}:3: column IMDscore: 'high' is not a number; expected the value of IMDscore, a number ≥ 0"
