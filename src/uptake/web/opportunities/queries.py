"""The opportunities of the current publication, memoised with it."""

from __future__ import annotations

from ...catalogue.opportunities import load_opportunities
from ...services import opportunities as so
from ..queries import NotFound
from ..store import cached, published


@cached
def views(month: str | None) -> list[so.OpportunityView]:
    return so.all_views(published(), month)


def one(key: str, month: str | None) -> so.OpportunityView:
    for v in views(month):
        if v.opportunity.id == key or str(v.opportunity.number) == key:
            return v
    raise NotFound(f"no opportunity {key!r}; expected one of: "
                   + ", ".join(o.id for o in load_opportunities()))
