"""An organisation against its peers, for every TA in a month: the peers' median and the
organisation's rank among itself and its peers (1 = highest uptake). Used by the org page,
`uptake profile --peers`, the API and alerts."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from statistics import median

from .analysis import Source
from .peers import peers_of
from .scorecard import DEFAULT_MIN_ITEMS, is_small


@dataclass
class PeerRow:
    ta: str
    value: float | None
    peer_median: float | None
    rank: int | None  # among the organisation and its peers with a value, 1 = highest
    of: int  # how many were ranked
    peers_with_value: int
    lowest: bool  # the lowest of them all (alerts: "now lowest of its 10 peers")

    def to_dict(self) -> dict:
        return asdict(self)


def peer_rows(src: Source, code: str, level: str, when: date, tas: list[str],
              min_items: int = DEFAULT_MIN_ITEMS) -> dict[str, PeerRow]:
    """TA → PeerRow for `code` in `when` (empty when it has no peers)."""
    peers = [p.peer for p in peers_of(src, code, level)]
    if not peers or not tas:
        return {}
    wanted = {code, *peers}
    rows = src.ta_table(tas, [when], (level,)).to_pylist()
    values: dict[str, dict[str, float]] = {}
    for r in rows:
        if r["level"] == level and r["org"] in wanted and r["month"] == when and r["value"] is not None \
                and not is_small(r["items"], min_items):
            values.setdefault(r["ta"], {})[r["org"]] = float(r["value"])
    out = {}
    for ta in tas:
        got = values.get(ta, {})
        theirs = [got[p] for p in peers if p in got]
        mine = got.get(code)
        ranked = sorted(got.values(), reverse=True)
        rank = 1 + sum(v > mine for v in ranked) if mine is not None else None
        out[ta] = PeerRow(ta=ta, value=mine, peer_median=median(theirs) if theirs else None, rank=rank,
                          of=len(ranked), peers_with_value=len(theirs),
                          lowest=mine is not None and len(theirs) > 0 and all(mine < v for v in theirs))
    return out
