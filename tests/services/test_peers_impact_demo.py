"""Peers and impact on the tiny synthetic NHS (the demo's generator): the published Similar-10
peers of sub-ICB locations equal an independent computation (pandas on the generated list-size
and practice-mapping files, scipy's weighted distance); `uptake peers`, `uptake profile --peers`
and `uptake impact` on the command line, against the published figures; the planted DOAC step
in QHM from October 2021 is found and a TA with nothing planted is not flagged."""

from __future__ import annotations

import json
from statistics import median

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist
from typer.testing import CliRunner

from uptake.cli import app

WEIGHTS = {"poptot": 0.15, "pop_18_39": 0.10, "pop_65_84": 0.10, "pop_85plus": 0.10}


@pytest.fixture(scope="module")
def home(tiny_warehouse):
    return tiny_warehouse.root.parent  # <home>/warehouse is the tiny warehouse


def _run(*args) -> dict:
    r = CliRunner().invoke(app, [*args, "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def _sub_icb_variables(files, month: str) -> pd.DataFrame:
    ls = pd.read_csv(files / f"list_sizes/gp-reg-pat-prac-quin-age_{month}.csv")
    area = pd.read_csv(files / f"ods/gp-reg-pat-prac-map_{month}.csv").set_index("PRACTICE_CODE")["SUB_ICB_LOCATION_CODE"]
    ls["org"] = ls.ORG_CODE.map(area)
    bands = ls[ls.SEX != "ALL"]
    w18 = {"15_19": 0.4, "20_24": 1, "25_29": 1, "30_34": 1, "35_39": 1}  # ages 18-19 are 2/5 of 15-19
    w65 = {b: 1 for b in ("65_69", "70_74", "75_79", "80_84")}
    w85 = {b: 1 for b in ("85_89", "90_94", "95+")}
    g = bands.assign(a18=bands.AGE_GROUP_5.map(w18).fillna(0) * bands.NUMBER_OF_PATIENTS,
                     a65=bands.AGE_GROUP_5.map(w65).fillna(0) * bands.NUMBER_OF_PATIENTS,
                     a85=bands.AGE_GROUP_5.map(w85).fillna(0) * bands.NUMBER_OF_PATIENTS).groupby("org")
    total = ls[(ls.SEX == "ALL") & (ls.AGE_GROUP_5 == "ALL")].groupby("org").NUMBER_OF_PATIENTS.sum()
    banded = g.NUMBER_OF_PATIENTS.sum()
    return pd.DataFrame({"poptot": total, "pop_18_39": g.a18.sum() / banded, "pop_65_84": g.a65.sum() / banded,
                         "pop_85plus": g.a85.sum() / banded})


def test_demo_sub_icb_peers_equal_an_independent_similar10(pub, tiny_warehouse):
    x = _sub_icb_variables(tiny_warehouse.root.parent / "files", "2022-09")
    cap = x.mean() + 5 * x.std(ddof=0)
    root = np.sqrt(x.clip(upper=cap, axis=1))
    z = (root - root.mean()) / root.std(ddof=0)
    d = pd.DataFrame(cdist(z, z, "euclidean", w=[WEIGHTS[c] for c in z.columns]), index=z.index, columns=z.index)
    got = pub.query("SELECT org, peer, rank, similarity FROM peers WHERE level = 'sub_icb' ORDER BY org, rank").to_pandas()
    assert sorted(got.org.unique()) == sorted(x.index)
    for org, mine in got.groupby("org"):
        want = d.loc[org].drop(org).sort_values().head(10)
        assert list(mine.peer) == list(want.index), org
        np.testing.assert_allclose(np.sqrt(mine.similarity), want.values, rtol=1e-9)
    notes = pub.meta["peers"]["sub_icb"]
    assert any(n.startswith("IMDscore (weight 0.25) left out: no practice IMD file given") for n in notes)
    levels = {r["level"] for r in pub.query("SELECT DISTINCT level FROM peers").to_pylist()}
    assert levels == {"practice", "pcn", "sub_icb", "icb"}


def test_uptake_peers_and_profile_with_peers(home, pub):
    got = _run("peers", "icb", "--org", "QHM", "--home", str(home))
    published = pub.query("SELECT peer FROM peers WHERE level = 'icb' AND org = 'QHM' ORDER BY rank").column(0).to_pylist()
    assert [p["peer"] for p in got["peers"]] == published and len(published) == 10
    prof = _run("profile", "QHM", "--peers", "--home", str(home))
    assert prof["peers"]["peers"] == published
    row = prof["peers"]["by_ta"]["TA275"]
    t = pub.query("SELECT org, value FROM ta_scorecard WHERE ta = 'TA275' AND level = 'icb' AND month = DATE '2022-09-01'"
                  ).to_pandas().set_index("org").value
    assert row["peer_median"] == pytest.approx(median(t[published]))
    assert row["rank"] == 1 + int((t[[*published, "QHM"]] > t["QHM"]).sum()) and row["of"] == 11


def test_uptake_impact_finds_the_planted_step_and_not_where_none_was_planted(home, pub):
    from uptake.services.impact import impact

    planted = _run("impact", "QHM", "--ta", "TA275", "--date", "2021-10", "--home", str(home))
    assert planted["did"]["low"] > 0 and planted["its"]["low"] > 0
    assert (planted["did"]["months_before"], planted["did"]["months_after"]) == (6, 12)
    assert "association" in planted["caveat"]
    # the same from the published scorecard (what the portal and the API read)
    assert impact(pub, "QHM", "TA275", "2021-10").did.effect == pytest.approx(planted["did"]["effect"], rel=1e-9)
    # Nothing was planted in QHM's other TAs, nor in other ICBs' DOACs: at 95% about one in
    # twenty such estimates is flagged by chance; of these twelve, at most two may be.
    others = [("QHM", ta) for ta in ("TA464", "TA203", "TA161", "TA210", "TA204")]
    others += [(icb, "TA275") for icb in ("QE1", "QF7", "QH8", "QJK", "QKS", "QOX", "QWO")]
    estimates = [impact(pub, org, ta, "2021-10").did for org, ta in others]
    assert sum(e.significant for e in estimates) <= 2, [e for e in estimates if e.significant]


def test_impact_refuses_england_and_an_unknown_target(home):
    r = CliRunner().invoke(app, ["impact", "ENG", "--ta", "TA275", "--date", "2021-10", "--home", str(home)])
    assert r.exit_code == 1 and "not for England" in r.output
    r = CliRunner().invoke(app, ["impact", "QHM", "--ta", "TA275", "--home", str(home)])
    assert r.exit_code == 1 and "--date YYYY-MM is needed" in r.output
