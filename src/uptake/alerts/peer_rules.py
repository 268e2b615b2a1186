"""The peers alert: a followed organisation that is now the lowest of itself and its peers for a
TA in the data month, and was not in the month before ("now lowest of its 10 peers"). Both
months' figures must be shown (not suppressed), as for the other uptake alerts. Key:
peers:<TA>:<level>:<org>:<YYYY-MM>."""

from __future__ import annotations

from datetime import date

from ..services.peer_compare import peer_rows
from ..services.scorecard import DEFAULT_MIN_ITEMS
from .rules import LEVEL_ORDER, Alert, _number, _unit, month_name


def lowest_among_peers_alerts(pub, month: date, previous: date | None, *, organisations: dict[str, str],
                              min_items: int = DEFAULT_MIN_ITEMS) -> list[Alert]:
    if previous is None:
        return []
    tas = [t.id for t in pub.catalogue.technology_appraisals]
    names = pub.names()
    out = []
    for org, level in sorted(organisations.items()):
        now = peer_rows(pub, org, level, month, tas, min_items)
        before = peer_rows(pub, org, level, previous, tas, min_items)
        for ta_id, r in now.items():
            was = before.get(ta_id)
            if not r.lowest or was is None or was.value is None or was.lowest:
                continue
            ta = pub.catalogue.ta(ta_id)
            name = names.get((level, org)) or org
            headline = next((x["headline"] for x in pub.query(
                "SELECT headline FROM ta_scorecard WHERE ta = ? AND level = ? AND org = ? AND month = ?",
                [ta_id, level, org, month]).to_pylist()), "per_1000")
            value = f"{_number(headline, r.value)}{_unit(headline)}"
            median = f"{_number(headline, r.peer_median)}{_unit(headline)}"
            text = (f"{ta.id} {ta.title}: in {month_name(month)} {name} ({org}) is the lowest of itself and its "
                    f"{r.peers_with_value} peers with a figure, at {value} (the peers' median {median}); in "
                    f"{month_name(previous)} it ranked {was.rank} of {was.of}.")
            url = f"/org/{org}/?month={month:%Y-%m}#peers"
            out.append(Alert(
                key=f"peers:{ta.id}:{level}:{org}:{month:%Y-%m}", kind="uptake",
                title=f"{name} ({org}) is now the lowest of its {r.peers_with_value} peers for {ta.id}", text=text,
                url=url, answers=frozenset({("organisation", org)}),
                rank=(ta.number, LEVEL_ORDER.index(level), 2, org),
                group=f"{ta.id} {ta.title}: against its peers, {month_name(month)}", group_url=url,
                line=f"{name} ({org}) is now the lowest of its {r.peers_with_value} peers: {value} "
                     f"(peers' median {median}; {month_name(previous)}: rank {was.rank} of {was.of}).",
                urgent=False))
    return out
