"""'Practices in my ICB on this TA' (issue 23): a level's ranking filtered to the organisations
inside a parent, with each one's gap in patients and cost to the national benchmark, in the
page, the CSV and the API, all from services.ranking. Checked against pandas on the published
tables: membership walked up the organisations table, the 80th centile of every organisation of
the level, the gap (benchmark − value) × expected, England's cost per patient-month."""

from __future__ import annotations

import csv
import io
import json
import re

import duckdb
import numpy as np
import pytest

from uptake.services.ranking import ranking

TA = "TA355"  # ranked on an uptake index in the tiny NHS


def _latest(con) -> str:
    return str(con.execute("SELECT max(month) FROM ta_scorecard").fetchone()[0])


def _gaps(path, ta: str, level: str) -> tuple[dict[str, float | None], float | None, str]:
    """Every organisation's gap in patients at `level`, England's cost per patient and the
    headline, from the published tables with pandas: (benchmark − value) × size, where the
    benchmark is the 80th centile of every value and the size the expected patients (uptake
    index) or registered ÷ 1,000 (patients per 1,000); hidden (1–4 items) have none."""
    con = duckdb.connect(str(path), read_only=True)
    df = con.execute("SELECT * FROM ta_scorecard WHERE ta = ? AND month = ?", [ta, _latest(con)]).df()
    con.close()
    rows = df[df.level == level]
    headline = rows.headline.iloc[0]
    if headline not in ("index", "per_1000") or rows.value.dropna().empty:
        return {}, None, headline
    bench = np.quantile(rows.value.dropna().to_numpy(), 0.8)
    eng = df[df.level == "england"].iloc[0]
    cost_per_patient = (eng.cost + (0 if np.isnan(eng.secondary_cost) else eng.secondary_cost)) / eng.patients
    gaps = {}
    for r in rows.itertuples():
        size = r.expected if headline == "index" else r.registered / 1000
        hidden = 0 < r.items < 5
        gaps[r.org] = None if hidden or np.isnan(r.value) else max(0.0, bench - r.value) * size
    return gaps, cost_per_patient, headline


def _independent(path, ta: str, level: str, parent: str) -> tuple[set[str], dict[str, float | None], float]:
    """The members of `parent` at `level` (walked up the organisations table), each one's gap in
    patients, and England's cost per patient."""
    con = duckdb.connect(str(path), read_only=True)
    orgs = con.execute("SELECT level, code, parent_level, parent FROM organisations").df()
    con.close()
    up = {(r.level, r.code): (r.parent_level, r.parent) for r in orgs.itertuples()}
    gaps, cost_per_patient, _ = _gaps(path, ta, level)
    members = set()
    for code in gaps:
        node = (level, code)
        while node in up and up[node][1] is not None:
            node = up[node]
            if node[1] == parent:
                members.add(code)
                break
    return members, {c: gaps[c] for c in members}, cost_per_patient


def _biggest(pub, level: str, parent_level: str) -> str:
    """The parent with the most organisations of `level` beneath it, at least one of them below
    the benchmark (counted with the organisations table, not the service's own walk)."""
    orgs = pub.organisations()
    up = {(o["level"], o["code"]): (o["parent_level"], o["parent"]) for o in orgs}
    counts: dict[str, int] = {}
    for o in orgs:
        if o["level"] != level:
            continue
        node = (level, o["code"])
        while node in up and up[node][1] is not None:
            node = up[node]
            if node[0] == parent_level:
                counts[node[1]] = counts.get(node[1], 0) + 1
                break
    for code in sorted(counts, key=lambda c: -counts[c]):
        _, gaps, _ = _independent(pub.path, TA, level, code)
        if counts[code] >= 2 and any(g for g in gaps.values()):
            return code
    raise AssertionError(f"no {parent_level} with two {level}s, one of them below the benchmark")


@pytest.mark.parametrize("level,parent_level", [("practice", "icb"), ("icb", "region")])
def test_ranking_within_a_parent_matches_pandas(pub, portal_home, level, parent_level):
    parent = _biggest(pub, level, parent_level)
    members, gaps, cost_per_patient = _independent(portal_home, TA, level, parent)
    got = ranking(pub, TA, level, None, parent=parent)
    assert got.parent["org"] == parent and got.parent["level"] == parent_level
    assert {r.org for r in got.rows} == members and len(members) >= 2
    for r in got.rows:
        if gaps[r.org] is None:
            assert r.gap_patients is None and r.gap_cost is None
        else:
            assert r.gap_patients == pytest.approx(gaps[r.org], rel=1e-9, abs=1e-9)
            assert r.gap_cost == pytest.approx(gaps[r.org] * cost_per_patient, rel=1e-9, abs=1e-9)
    shown = [g for g in gaps.values() if g is not None]
    assert got.gap_patients == pytest.approx(sum(shown))
    assert any(g > 0 for g in shown)  # the check compares something
    # ranks are national: the whole level's ranking holds the same rank for each member
    national = {r.org: r.rank for r in ranking(pub, TA, level, None).rows}
    assert all(r.rank == national[r.org] for r in got.rows)


def test_ranking_page_csv_and_api_agree(client, pub, portal_home):
    parent = _biggest(pub, "practice", "icb")
    members, gaps, _ = _independent(portal_home, TA, "practice", parent)
    page = client.get(f"/ta/{TA}/?level=practice&parent={parent.lower()}")
    assert page.status_code == 200
    html = page.content.decode()
    name = pub.names()[("icb", parent)]
    assert re.search(rf"GP practices in {re.escape(name)}, \d{{4}}-\d\d</h2>", html)
    table = html[html.index('id="ranking"'):html.index("</table>", html.index('id="ranking"'))]
    assert set(re.findall(r'data-org="([^"]+)"', table)) == members
    shown = sum(g for g in gaps.values() if g is not None)
    assert f"Together: <strong>{shown:,.0f}</strong> patients" in html
    assert f"parent={parent}&amp;format=csv" in html  # the page's download is the filtered CSV

    got = client.get(f"/api/v1/ranking/{TA}?level=practice&parent={parent}&format=csv")
    assert got.status_code == 200 and "attachment" in got["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(got.content.decode())))
    assert {r["org"] for r in rows} == members
    for r in rows:
        want = gaps[r["org"]]
        assert (r["gap_patients"] == "") if want is None else float(r["gap_patients"]) == pytest.approx(want)

    body = json.loads(client.get(f"/api/v1/ranking/{TA}?level=practice&parent={parent}").content)
    assert body["parent"]["org"] == parent and {r["org"] for r in body["rows"]} == members

    # sorting by gap, worst first, keeps the filter
    page = client.get(f"/ta/{TA}/?level=practice&parent={parent}&sort=gap_patients").content.decode()
    order = re.findall(r'data-gap="([^"]*)"', page)
    values = [float(v) for v in order if v]
    assert values == sorted(values, reverse=True) and len(order) == len(members)


def test_ranking_refuses_a_parent_at_or_below_the_level(client, pub):
    icb = next(o["code"] for o in pub.organisations() if o["level"] == "icb")
    bad = client.get(f"/api/v1/ranking/{TA}?level=icb&parent={icb}")
    assert bad.status_code == 400
    assert json.loads(bad.content)["detail"].startswith(f"parent {icb} (ICB) has no ICBs inside it")
    assert client.get(f"/api/v1/ranking/{TA}?level=practice&parent=NOPE9").status_code in (400, 404)


def test_org_page_links_to_its_practices_on_each_ta(client, pub):
    icb = _biggest(pub, "practice", "icb")
    html = client.get(f"/org/{icb}/").content.decode()
    assert f'href="/ta/{TA}/?level=practice&amp;parent={icb}#ranking"' in html


def test_org_page_shows_its_shortfall_in_patients(client, pub, portal_home):
    """An ICB's page: each TA's gap in patients, and the total over the TAs it is behind on,
    against pandas on the published tables."""
    icb = next(o["code"] for o in pub.organisations() if o["level"] == "icb")
    want, cost = {}, 0.0
    for t in pub.catalogue.technology_appraisals:
        gaps, per_patient, _ = _gaps(portal_home, t.id, "icb")
        if gaps.get(icb):
            want[t.id] = gaps[icb]
            cost += gaps[icb] * per_patient
    assert want, "the ICB is behind on no TA: the check would compare nothing"
    html = client.get(f"/org/{icb}/").content.decode()
    for ta, gap in want.items():
        row = html[html.index(f'data-ta="{ta}"'):]
        row = row[:row.index("</tr>")]
        assert float(re.search(r'data-gap="([^"]+)"', row).group(1)) == pytest.approx(gap)
    text = re.sub(r"<[^>]+>", "", html[html.index('id="shortfall"'):html.index("</p>", html.index('id="shortfall"'))])
    assert f"on {len(want)} TA" in text
    assert f"about {sum(want.values()):,.0f} more patients" in text
    assert f"about £{cost:,.0f} a month" in text


def test_org_page_lists_its_tas_worst_first(client, pub, portal_home):
    """?sort=percentile|gap|flag: one table of every TA, worst first, against the published
    table's own percentiles and flags for the organisation."""
    icb = next(o["code"] for o in pub.organisations() if o["level"] == "icb")
    con = duckdb.connect(str(portal_home), read_only=True)
    df = con.execute("SELECT ta, percentile, flag_998_od, items FROM ta_scorecard WHERE level = 'icb' AND org = ? "
                     "AND month = ?", [icb, _latest(con)]).df()
    con.close()
    df = df[~((df["items"] > 0) & (df["items"] < 5))]  # hidden rows have no percentile on the page
    pct = {r.ta: r.percentile for r in df.itertuples() if not np.isnan(r.percentile)}

    html = client.get(f"/org/{icb}/?sort=percentile").content.decode()
    assert "Every TA, worst first by percentile" in html
    order = re.findall(r'data-ta="([^"]+)"', html)
    assert [t for t in order if t in pct] == sorted(pct, key=lambda t: (pct[t], order.index(t)))
    assert order[:len(pct)] == [t for t in order if t in pct]  # those without a percentile come last

    html = client.get(f"/org/{icb}/?sort=gap").content.decode()
    gaps = [float(g) for g in re.findall(r'data-gap="([^"]+)"', html)]
    assert gaps == sorted(gaps, reverse=True) and gaps and gaps[0] > 0

    html = client.get(f"/org/{icb}/?sort=flag").content.decode()
    order = [t for t in re.findall(r'data-ta="([^"]+)"', html)]
    flag = {r.ta: r.flag_998_od for r in df.itertuples()}
    rank = {"low": 0, "not significant": 1, "high": 2}
    ranks = [rank.get(flag.get(t), 3) for t in order]
    assert ranks == sorted(ranks)
    assert 'data-sort="percentile"' in html and "by clinical area</a>" in html
