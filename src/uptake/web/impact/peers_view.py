"""The TA page's funnel with one organisation and its peers ringed (?org=CODE)."""

from __future__ import annotations

from ...services.peers import peers_of
from ..store import published


def funnel_peers(org: str | None, level: str) -> dict:
    """charts.funnel's highlight and peers for `org` at `level` ({} when no organisation is asked for)."""
    if not org:
        return {}
    code = org.strip().upper()
    return {"highlight": code, "peers": [p.peer for p in peers_of(published(), code, level)]}
