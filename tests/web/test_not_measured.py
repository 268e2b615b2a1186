"""Issue 23.9: a TA with nothing measurable at a level says so in one line, with its reason,
instead of a grey map with a "NaN" legend, an empty funnel and empty deciles; a measured one keeps
its charts. Which TA × level has no figure is read from the published table itself."""

from __future__ import annotations

import duckdb
import pytest

CHARTS = ('id="chart-map"', 'id="chart-funnel"', 'id="chart-deciles"', 'id="variation-summary"')


@pytest.fixture(scope="module")
def counted(portal_home) -> dict[tuple[str, str], tuple[str, int]]:
    """(TA, level) → (headline, organisations with a value) in the latest month."""
    con = duckdb.connect(str(portal_home), read_only=True)
    got = con.execute("SELECT ta, level, any_value(headline), count(value) FROM ta_scorecard "
                      "WHERE month = (SELECT max(month) FROM ta_scorecard) AND level IN ('icb', 'practice') "
                      "GROUP BY ta, level").fetchall()
    con.close()
    return {(ta, lv): (h, n) for ta, lv, h, n in got}


def test_unmeasured_tas_say_why_in_one_line(client, counted):
    empty = [(ta, lv, h) for (ta, lv), (h, n) in counted.items() if n == 0]
    nothing = [(ta, lv) for ta, lv, h in empty if h == "none" and lv == "icb"]
    below = [(ta, lv) for ta, lv, h in empty if h != "none"]  # measured, but not at this level
    assert nothing and below, "the tiny NHS should have both kinds"
    for ta, lv in nothing[:4] + below[:4]:
        html = client.get(f"/ta/{ta}/?level={lv}").content.decode()
        assert html.count('id="not-measured"') == 1, (ta, lv)
        line = html[html.index('id="not-measured"'):html.index("</div>", html.index('id="not-measured"'))]
        if (ta, lv) in nothing:
            assert f"{ta} is not measured: no primary-care presentation" in line
        else:
            assert f"has a figure for {ta}" in line and "cannot be attributed below an ICB" in line
        assert not any(c in html for c in CHARTS), (ta, lv)
        assert "NaN" not in html and "Uptake ()" not in html


def test_measured_tas_keep_their_charts(client, counted):
    ta = next(ta for (ta, lv), (h, n) in sorted(counted.items()) if lv == "icb" and n > 1)
    html = client.get(f"/ta/{ta}/?level=icb").content.decode()
    assert 'id="not-measured"' not in html
    assert all(c in html for c in CHARTS[1:])  # the map needs boundaries (../shared/data); the rest always
