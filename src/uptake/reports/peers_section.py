"""The ICB report's section on its peers: who they are (NHS England's Similar-10 method) and, for
every TA, the peers' median and the ICB's rank among itself and them."""

from __future__ import annotations

from .. import formats as f
from ..services.peer_compare import peer_rows
from ..services.peers import peers_of
from .model import Column, Section, Table, Text


def icb_peers(ctx, code: str, name: str, value) -> Section | None:
    """None when no peers were published for the ICB. `value(v, headline)` formats a figure."""
    peers = peers_of(ctx.pub, code, "icb")
    if not peers:
        return None
    names = ctx.pub.names()
    rows = peer_rows(ctx.pub, code, "icb", ctx.when, [t.id for t in ctx.tas])
    headline = {t.id: ctx.card(t.id, "icb").headline for t in ctx.tas if t.id in rows}
    section = Section("peers", f"{name} against its {len(peers)} most similar ICBs")
    section.add(Text(f"Its peers, most similar first, by NHS England's Similar-10 method on the data loaded "
                     f"(definitions §16): {', '.join(names.get(('icb', p.peer)) or p.peer for p in peers)}."))
    lowest = [t for t, r in rows.items() if r.lowest]
    if lowest:
        section.add(Text(f"{name} is the lowest of its peers for {', '.join(lowest)}.", kind="warning"))
    section.add(Table(
        caption=f"{name} and its peers, {f.month_name(ctx.month)}",
        columns=[Column("TA"), Column(name, True), Column("Peers' median", True), Column("Rank among peers", True)],
        rows=[[t.id, value(r.value, headline[t.id]), value(r.peer_median, headline[t.id]),
               f"{r.rank} of {r.of}" if r.rank else "—"] for t in ctx.tas if (r := rows.get(t.id)) and r.of],
        period=ctx.period(), sources=ctx.sources()))
    return section
