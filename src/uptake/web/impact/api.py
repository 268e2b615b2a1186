"""/api/v1/peers/{code}: an organisation's peers and where it stands among them for every TA;
/api/v1/impact/{code}?ta=&month=: did uptake change after an intervention in that month."""

from __future__ import annotations

from ninja import Query, Router, Schema
from pydantic import Field

from ...services.analysis import parse_month
from ...services.impact import impact as measure
from ...services.peer_compare import peer_rows
from ...services.peers import peers_of
from .. import queries as q
from ..api_common import ERRORS, MonthFormat, csv_response, wants_csv
from ..store import published

router = Router(tags=["Peers and impact"])


class ImpactQuery(Schema):
    ta: str = Field(..., pattern=r"^TA\d+$", description="The TA, e.g. TA275")
    month: str = Field(..., pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="The intervention's month, YYYY-MM")


@router.get("/peers/{code}", response={200: dict, **ERRORS}, summary="An organisation's peers, and its rank and "
                                                                     "the peers' median for every TA in a month")
def peers(request, code: str, f: Query[MonthFormat]):
    org = q.organisation(code)
    pub = published()
    when = pub.month(f.month)
    found = peers_of(pub, org["code"], org["level"])
    tas = [t.id for t in pub.catalogue.technology_appraisals]
    rows = [r.to_dict() for r in peer_rows(pub, org["code"], org["level"], when, tas).values()]
    if wants_csv(request, f.format):
        return csv_response(rows, f"peers_{org['code']}_{when:%Y-%m}.csv")
    names = pub.names()
    return {"org": org["code"], "level": org["level"], "month": f"{when:%Y-%m}",
            "method": "NHS England Similar-10 (sub-ICB, ICB) or nearest neighbours (practice, PCN); see /definitions/#peers",
            "peers": [{"code": p.peer, "name": names.get((org["level"], p.peer)), "rank": p.rank,
                       "distance": p.distance} for p in found],
            "by_ta": rows}


@router.get("/impact/{code}", response={200: dict, **ERRORS},
            summary="Difference-in-differences against peers and interrupted time series around a month "
                    "(associations, not proof of cause)")
def impact(request, code: str, f: Query[ImpactQuery]):
    org = q.organisation(code)
    q.subject(f.ta)
    return measure(published(), org["code"], f.ta, parse_month(f.month)).to_dict()

