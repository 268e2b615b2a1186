"""Issue 23: the Innovation Scorecard's own figure — daily doses per 100,000 registered per
financial quarter — on the TA page (England, and my organisation when highlighted) and as a CSV
of every organisation, checked against pandas on the published table: DDDs (primary care plus
hospital issues) summed over the quarter's three months ÷ the mean of its list sizes × 100,000."""

from __future__ import annotations

import csv
import io
import re

import duckdb
import pytest

TA = "TA355"


def _independent(path, level: str, org: str) -> dict[str, float]:
    con = duckdb.connect(str(path), read_only=True)
    df = con.execute("SELECT month, ddd, secondary_ddd, registered_all FROM ta_scorecard "
                     "WHERE ta = ? AND level = ? AND org = ?", [TA, level, org]).df()
    con.close()
    df["fy"] = [m.year - (m.month < 4) for m in df.month]
    df["q"] = [(m.month - 4) % 12 // 3 + 1 for m in df.month]
    out = {}
    for (fy, q), g in df.groupby(["fy", "q"]):
        if len(g) == 3:
            doses = g.ddd.fillna(0).sum() + g.secondary_ddd.fillna(0).sum()
            out[f"{fy}/{(fy + 1) % 100:02d} Q{q}"] = doses / g.registered_all.mean() * 100_000
    return out


def test_the_official_figure_on_the_ta_page_and_in_its_csv(portal_db, pub, portal_home):
    from django.test import Client

    client = Client()  # its own: choosing an organisation sets a cookie
    england = _independent(portal_home, "england", "ENG")
    icb = next(o["code"] for o in pub.organisations() if o["level"] == "icb")
    mine = _independent(portal_home, "icb", icb)
    page = client.get(f"/ta/{TA}/?level=icb&org={icb}")
    assert page.status_code == 200
    html = page.content.decode()
    table = html[html.index('id="official-table"'):html.index("</table>", html.index('id="official-table"'))]
    rows = re.findall(r"<tr class=\"nhsuk-table__row\"><td[^>]*>([^<]+)</td><td[^>]*>([^<]+)</td><td[^>]*>([^<]+)</td>",
                      table)
    assert len(rows) == 4 and [q for q, _, _ in rows] == sorted(england)[-4:]
    for quarter, eng, org in rows:
        assert eng == f"{england[quarter]:,.1f}" and org == f"{mine[quarter]:,.1f}"
    got = client.get(f"/api/v1/official/{TA}?level=icb&format=csv")
    assert got.status_code == 200
    lines = list(csv.DictReader(io.StringIO(got.content.decode())))
    for r in lines:
        if r["org"] == icb:
            assert float(r["rate"]) == pytest.approx(mine[r["quarter"]])
        if r["level"] == "england":
            assert float(r["rate"]) == pytest.approx(england[r["quarter"]])
    assert {r["org"] for r in lines if r["level"] == "icb"} >= {icb}
