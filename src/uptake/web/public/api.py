"""/api/v1/trials: the UK clinical trials for a TA's condition, open ones first, with each trial's
UK sites and, given a postcode in the loaded lookup, their distance in miles (docs/public.md)."""

from __future__ import annotations

from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from ...catalogue.trial_conditions import load_trial_conditions
from ...config import today
from ...services.places import NotAPostcode, NotInLookup
from ...services.trials import trials_for
from ..api_common import ERRORS
from . import views

router = Router(tags=["Clinical trials"])


class SiteOut(Schema):
    facility: str | None
    city: str | None
    postcode: str | None
    status: str | None
    miles: float | None
    approximate: bool


class TrialOut(Schema):
    trial_id: str
    registry: str
    title: str
    phase: str | None
    status: str
    status_words: str
    recruiting: bool
    sponsor: str | None
    url: str
    conditions: list[str]
    sample: bool
    fetched: str | None
    sites: list[SiteOut]


class TrialsQuery(Schema):
    ta: str = Field(..., description="A catalogue TA (TA390)", examples=["TA390"])
    postcode: str | None = Field(None, max_length=10, description="Measure distances from this postcode")


@router.get("", response={200: list[TrialOut], **ERRORS},
            summary="UK clinical trials for a TA's condition, open ones first, with sites and distances")
def trials(request, params: TrialsQuery = Query(...)):
    conditions = load_trial_conditions()
    key = params.ta.strip().upper()
    group = conditions.for_ta(key)
    if group is None:
        raise HttpError(404, f"no TA {params.ta!r} with trial condition terms in the catalogue")
    places = views._places()
    origin = None
    if params.postcode:
        try:
            where = places.place(params.postcode)
        except (NotAPostcode, NotInLookup) as exc:
            raise HttpError(400, f"{exc}; expected a postcode in the loaded lookup ({', '.join(places.areas)})") \
                from None
        origin = (where.lat, where.lon)
    found = trials_for(views._warehouse()).for_condition(group, today(), places, origin)
    return [{**t.__dict__, "status_words": t.status_words, "recruiting": t.is_open, "sample": t.sample,
             "sites": [s.__dict__ for s in t.sites]} for t in found]
