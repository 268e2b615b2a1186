"""The peers alert on the tiny publication: every ICB followed, the alerts for September 2022 are
exactly the (ICB, TA) pairs where the ICB is the lowest of itself and its 10 peers and was not
in August, computed here with pandas from the published scorecard and peers tables."""

from __future__ import annotations

import re
from datetime import date


from uptake.alerts.peer_rules import lowest_among_peers_alerts

SEP, AUG = date(2022, 9, 1), date(2022, 8, 1)


def _lowest(pub, month: date) -> set[tuple[str, str]]:
    t = pub.query("SELECT ta, org, value, items FROM ta_scorecard WHERE level = 'icb' AND month = ?", [month]).to_pandas()
    t = t[t.value.notna() & ~((t["items"] > 0) & (t["items"] < 5))]
    peers = pub.query("SELECT org, peer FROM peers WHERE level = 'icb'").to_pandas()
    out = set()
    for (ta,), g in t.groupby(["ta"]):
        v = g.set_index("org").value
        for org, mine in peers.groupby("org"):
            theirs = v.reindex(mine.peer).dropna()
            if org in v.index and len(theirs) and (v[org] < theirs).all():
                out.add((org, ta))
    return out


def _shown(pub, month: date) -> set[tuple[str, str]]:
    t = pub.query("SELECT ta, org FROM ta_scorecard WHERE level = 'icb' AND month = ? AND value IS NOT NULL "
                  "AND NOT (items > 0 AND items < 5)", [month]).to_pandas()
    return set(zip(t.org, t.ta))


def test_now_lowest_of_its_peers(pub):
    icbs = {o["code"]: "icb" for o in pub.organisations() if o["level"] == "icb"}
    alerts = lowest_among_peers_alerts(pub, SEP, AUG, organisations=icbs)
    want = (_lowest(pub, SEP) - _lowest(pub, AUG)) & _shown(pub, AUG)
    got = {(a.key.split(":")[3], a.key.split(":")[1]) for a in alerts}
    assert got == want and len(want) > 0
    a = alerts[0]
    assert re.search(rf"is now the lowest of its \d+ peers for {a.key.split(':')[1]}$", a.title)
    assert a.answers == frozenset({("organisation", a.key.split(":")[3])}) and a.url.endswith("#peers")
    assert "peers' median" in a.text
    assert lowest_among_peers_alerts(pub, SEP, None, organisations=icbs) == []
