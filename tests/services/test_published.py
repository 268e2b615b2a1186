"""The published scorecard (what the portal reads) gives exactly what the engine gives: every
service run on the precomputed tables equals the same service run on the warehouse."""

from __future__ import annotations

import duckdb
import pytest

from uptake.errors import UptakeError
from uptake.services.analysis import open_analysis
from uptake.services.diffusion import diffusion
from uptake.services.published import Published
from uptake.services.scorecard import profile, scorecard
from uptake.services.variation import variation


@pytest.fixture(scope="module")
def live(tiny_warehouse):
    with open_analysis(tiny_warehouse) as a:
        yield a


def _close(a, b, where="", rel=1e-12) -> None:
    """Equal, floats to 12 significant figures: sums over a different set of TAs and levels
    may add the same numbers in another order (and a curve fitted to them moves by more)."""
    if isinstance(a, float) and isinstance(b, float):
        assert b == pytest.approx(a, rel=rel, abs=rel), where
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _close(a[k], b[k], f"{where}.{k}", rel)
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{where}[{i}]", rel)
    else:
        assert a == b, where


def _same(a: dict, b: dict, rel=1e-12) -> None:
    a, b = dict(a), dict(b)
    assert a.pop("engine") == "duckdb" and b.pop("engine") == "published (duckdb)"
    _close(a, b, rel=rel)


@pytest.mark.parametrize("subject,level,month", [
    ("TA275", "icb", None), ("TA275", "practice", "2021-11"), ("TA355", "sub_icb", "2022-03"),
    ("TA249", "region", None), ("TA733", "pcn", None), ("doac_share", "sub_icb", None)])
def test_scorecards_equal_the_engines(live, pub, subject, level, month):
    a, b = scorecard(live, subject, level, month).to_dict(), scorecard(pub, subject, level, month).to_dict()
    assert len(a["rows"]) > 0
    _same(a, b)


def test_profiles_equal_the_engines(live, pub):
    icb = next(o["code"] for o in pub.organisations() if o["level"] == "icb")
    practice = next(o["code"] for o in pub.organisations() if o["level"] == "practice")
    for code in (icb, practice, "ENG"):
        a, b = profile(live, code).to_dict(), profile(pub, code).to_dict()
        assert any(r["flag_998_od"] for r in a["rows"]) or code == "ENG"
        _same(a, b)


def test_variation_and_diffusion_equal_the_engines(live, pub):
    a, b = variation(live, "TA275", "sub_icb").to_dict(), variation(pub, "TA275", "sub_icb").to_dict()
    assert a["scorecard"].pop("engine") != b["scorecard"].pop("engine")
    _close(a, b)
    # The curves are fitted by least squares to series equal to ~1e-12 (DuckDB sums floats in
    # parallel, in no fixed order). A nearly flat series (r² ≈ 0.02) makes the fitted parameters
    # ill-conditioned: its last-bit noise moves them by up to ~4e-6 relative, so 1e-4 here (a
    # real difference between the engines or the stored fit would be far larger).
    # Which of the optimiser's stopping tests is met first ('ftol' or 'gtol') can differ with that
    # last-bit noise too, so its message is not compared: the fitted values are.
    def fits(d):
        return {**d, "fits": [{k: v for k, v in f.items() if k != "message"} for f in d["fits"]]}

    _same(fits(diffusion(live, "TA275", "icb").to_dict()), fits(diffusion(pub, "TA275", "icb").to_dict()), rel=1e-4)
    stored = pub.diffusion("TA275", "icb")
    _close(fits(stored)["fits"], fits(diffusion(live, "TA275", "icb").to_dict())["fits"], rel=1e-4)


def test_stored_flags_are_the_services_flags(live, pub):
    card = scorecard(live, "TA275", "sub_icb", "2022-09", min_items=0)
    got = pub.query("SELECT org, flag_95, flag_998, flag_998_od FROM ta_scorecard WHERE ta='TA275' "
                    "AND level='sub_icb' AND month = DATE '2022-09-01'").to_pylist()
    stored = {r["org"]: (r["flag_95"], r["flag_998"], r["flag_998_od"]) for r in got}
    assert {r.org: (r.flag_95, r.flag_998, r.flag_998_od) for r in card.rows} == stored
    assert {"low", "high"} & {f for flags in stored.values() for f in flags}


def test_hierarchy_children_and_parents(live, pub):
    when = pub.month(None)
    icb = next(o for o in pub.organisations() if o["level"] == "icb")
    kids = pub.children(icb["code"], "icb", when)
    assert kids and {k["level"] for k in kids} == {"sub_icb"}
    assert sorted(k["org"] for k in kids) == sorted(k["org"] for k in live.children(icb["code"], "icb", when))
    assert pub.parent(kids[0]["org"], "sub_icb", when)["org"] == icb["code"]
    assert live.parent(kids[0]["org"], "sub_icb", when)["org"] == icb["code"]


def test_the_file_is_swapped_in_whole_and_read_only(pub, published_tiny):
    assert not list(published_tiny.parent.glob(".*.tmp"))
    with pytest.raises(duckdb.Error):
        pub.query("CREATE TABLE x (a INT)")
    assert pub.meta["months"][0] == "2021-04" and "prescribing" in pub.meta["sources"]


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(UptakeError, match="uptake publish"):
        Published(tmp_path / "nothing.duckdb")
