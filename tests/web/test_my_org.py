"""Issue 23: my organisation highlighted on every chart of a TA page — the funnel (ringed), the
deciles (its line), the map (outlined) at the page's level, the organisation it belongs to there
when it is below; the diffusion curve with its own values — when I come with ?org=CODE, and
remembered in a cookie until ?org= forgets it. The highlighted values are checked against the
published table read with duckdb."""

from __future__ import annotations

import json
import re

import duckdb
import pytest
from django.test import Client

TA = "TA355"


def _spec(html: str, chart: str) -> dict | None:
    m = re.search(rf'<script id="chart-{chart}-spec"[^>]*>(.*?)</script>', html, re.S)  # json_script's tag
    return json.loads(m.group(1).replace("<\\/", "</")) if m else None


def _red_line(spec: dict) -> list[tuple[str, float]]:
    """The (month, value) rows of the layer drawn for the highlighted organisation."""
    rows = [r for layer in spec["layer"] for r in layer.get("data", {}).get("values", [])
            if r.get("line", r.get("series")) not in (None, "England", "Median", "Deciles (10th to 90th centile)")
            and "centile" not in r and "t" not in r]
    return sorted((r["month"][:7], r["value"]) for r in rows)


def _published(path, level: str, org: str) -> list[tuple[str, float]]:
    con = duckdb.connect(str(path), read_only=True)
    got = con.execute("SELECT strftime(month, '%Y-%m'), value FROM ta_scorecard WHERE ta = ? AND level = ? AND org = ? "
                      "AND value IS NOT NULL AND NOT (items > 0 AND items < 5) ORDER BY 1", [TA, level, org]).fetchall()
    con.close()
    return [(m, pytest.approx(v)) for m, v in got]


def test_my_organisation_is_highlighted_on_every_chart_and_remembered(portal_db, pub, portal_home):
    orgs = pub.organisations()
    up = {(o["level"], o["code"]): (o["parent_level"], o["parent"]) for o in orgs}
    practice = next(o for o in orgs if o["level"] == "practice" and up.get(("pcn", o["parent"])))
    node = ("practice", practice["code"])
    while node[0] != "icb":
        node = up[node]
    icb = node[1]
    icb_name = pub.names()[("icb", icb)]

    me = Client()
    r = me.get(f"/ta/{TA}/?level=icb&org={practice['code'].lower()}")
    assert r.status_code == 200 and r.cookies["uptake_org"].value == practice["code"]
    assert "Cookie" in r["Vary"]
    html = r.content.decode()
    said = re.sub(r"<[^>]+>", "", html[html.index('id="my-org"'):html.index("</p>", html.index('id="my-org"'))])
    assert f"{icb_name} ({icb}) is highlighted on the charts" in said and practice["name"] in said

    funnel = _spec(html, "funnel")
    assert f"{icb_name} ({icb})" in funnel["description"] and "ringed" in funnel["description"]
    assert _red_line(_spec(html, "deciles")) == _published(portal_home, "icb", icb)
    diffusion = _spec(html, "diffusion")
    months = {r["month"][:7] for layer in diffusion["layer"] for r in layer.get("data", {}).get("values", [])
              if r.get("series") == "England"}
    mine = [(m, v) for m, v in _published(portal_home, "practice", practice["code"]) if m in months]
    assert mine and _red_line(diffusion) == mine
    chart_map = _spec(html, "map")
    if chart_map is not None:  # maps need the real boundaries in ../shared/data
        assert chart_map["layer"][1]["transform"][0]["filter"]["equal"] == icb

    # remembered: the same page without ?org= highlights it again; someone else's does not
    again = re.sub(r"<[^>]+>", "", me.get(f"/ta/{TA}/?level=icb").content.decode())
    assert f"{icb_name} ({icb}) is highlighted on the charts" in again
    other = Client().get(f"/ta/{TA}/?level=icb").content.decode()
    assert "Highlight your organisation on every chart" in other and "ringed" not in _spec(other, "funnel")["description"]

    # the organisation page's TA links choose it; ?org= forgets it
    org_page = Client().get(f"/org/{icb}/").content.decode()
    assert f'href="/ta/{TA}/?level=icb&amp;org={icb}"' in org_page
    gone = me.get(f"/ta/{TA}/?level=icb&org=")
    assert gone.cookies["uptake_org"].value == ""
    assert "Highlight your organisation" in me.get(f"/ta/{TA}/?level=icb").content.decode()
