"""Peers on the portal's pages and API (Django's test client, the tiny publication): the org
page's peers and the peers' median, the API's answers, and the TA page's funnel with an
organisation and its peers ringed."""

from __future__ import annotations

import html
import re
from statistics import median


def _percent(index: float) -> str:
    return f"{100 * index:.0f}%"


def _peers(pub, code: str) -> list[str]:
    return pub.query("SELECT peer FROM peers WHERE level = 'icb' AND org = ? ORDER BY rank", [code]).column(0).to_pylist()


def test_the_org_page_shows_its_peers_and_their_median(client, pub):
    page = client.get("/org/QHM/").content.decode()
    peers = _peers(pub, "QHM")
    assert re.findall(r'data-peer="([A-Z0-9]+)"', page) == peers and len(peers) == 10
    row = re.search(r'<tr class="nhsuk-table__row" data-peer-ta="TA275"><td class="nhsuk-table__cell"><a href="[^"]*org=QHM'
                    r'#h-funnel" class="peer-funnel-link">TA275</a></td>(.*?)</tr>', page, re.S).group(1)
    t = pub.query("SELECT org, value FROM ta_scorecard WHERE ta = 'TA275' AND level = 'icb' AND month = DATE '2022-09-01'"
                  ).to_pandas().set_index("org").value
    med = re.search(r'peer-median">([^<]*)<', row).group(1).strip()
    assert med == _percent(median(t[peers]))  # the uptake index is shown as a whole percentage
    rank = 1 + int((t[[*peers, "QHM"]] > t["QHM"]).sum())
    assert re.search(r'peer-rank">(\d+) of 11', row).group(1) == str(rank)


def test_the_api_gives_peers_and_impact(client, pub):
    got = client.get("/api/v1/peers/QHM").json()
    assert [p["code"] for p in got["peers"]] == _peers(pub, "QHM") and got["level"] == "icb"
    assert {r["ta"] for r in got["by_ta"]} >= {"TA275"}
    csv = client.get("/api/v1/peers/QHM?format=csv").content.decode().splitlines()
    assert csv[0].startswith("ta,value,peer_median,rank,of")
    im = client.get("/api/v1/impact/QHM?ta=TA275&month=2021-10").json()
    assert im["did"]["low"] > 0 and im["peers"] == _peers(pub, "QHM")
    assert client.get("/api/v1/impact/QHM?ta=TA275&month=2021-13").status_code == 422
    assert client.get("/api/v1/impact/NOPE?ta=TA275&month=2021-10").status_code == 404
    assert client.get("/api/v1/peers/NOPE").status_code == 404


def test_the_ta_funnel_rings_an_organisation_and_its_peers(client, pub):
    names = pub.names()
    page = html.unescape(client.get("/ta/TA275/?level=icb&org=QHM").content.decode())
    peers = _peers(pub, "QHM")
    m = re.search(r"Its (\d+) peers shown are ringed with a dashed line: ([^\"]*?)\.\"", page)
    assert m and int(m.group(1)) == 10
    assert all(f"({p})" in m.group(2) for p in peers) and names[("icb", peers[0])] in m.group(2)
    # `?org=` (empty) forgets the organisation the page remembered: no peers ringed
    assert "Its 10 peers" not in html.unescape(client.get("/ta/TA275/?level=icb&org=").content.decode())


def test_the_icb_report_has_a_peers_section(db, pub):
    from datetime import date

    from uptake.reports.build import Context, icb_report
    from uptake.reports.model import Table
    from uptake.web.store import published

    report = icb_report(Context(published(), as_of=date(2022, 9, 30)), "QHM")
    section = next(s for s in report.sections if s.id == "peers")
    assert [s.id for s in report.sections][:2] == ["headline", "peers"]
    names = pub.names()
    peers = _peers(pub, "QHM")
    assert ", ".join(names[("icb", p)] for p in peers) in section.blocks[0].text
    table = next(b for b in section.blocks if isinstance(b, Table))
    row = next(r for r in table.rows if r[0] == "TA275")
    t = pub.query("SELECT org, value FROM ta_scorecard WHERE ta = 'TA275' AND level = 'icb' AND month = DATE '2022-09-01'"
                  ).to_pandas().set_index("org").value
    assert row[2] == _percent(median(t[peers]))
    assert row[3] == f"{1 + int((t[[*peers, 'QHM']] > t['QHM']).sum())} of 11"
