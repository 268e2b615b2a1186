"""Panels other pages include with one line: a case study's measured effect, and an
organisation's peers and interventions."""

from __future__ import annotations

from django import template

from ...accounts.roles import is_member
from ...knowledge.access import may_change
from ...store import published
from ..measure import measure
from ..store import case_study_interventions, org_interventions

register = template.Library()


@register.inclusion_tag("impact/_case_study_impact.html", takes_context=True)
def case_study_impact(context, cs):
    from ..models import Implementation

    request = context.get("request")
    impl = Implementation.objects.filter(case_study=cs).first()
    user = getattr(request, "user", None)
    return {"cs": cs, "impl": impl, "measured": measure(case_study_interventions(cs)) if impl else [],
            "can_set": user is not None and is_member(user) and may_change(user, cs), "csrf_token": context.get("csrf_token")}


@register.inclusion_tag("impact/_org_peers.html")
def org_peers(org, profile):
    from ....services.analysis import parse_month
    from ....services.peer_compare import peer_rows
    from ....services.peers import peers_of

    if org["level"] == "england":
        return {"org": org, "peers": [], "rows": []}
    src = published()
    peers = peers_of(src, org["code"], org["level"])
    names = src.names()
    found = peer_rows(src, org["code"], org["level"], parse_month(profile.month), [r.ta for r in profile.rows])
    rows = [{"row": r, "peer": found.get(r.ta)} for r in profile.rows if r.ta in found]
    return {"org": org, "month": profile.month, "rows": rows,
            "peers": [{"code": p.peer, "name": names.get((org["level"], p.peer)), "distance": p.distance} for p in peers],
            "measured": measure(org_interventions(org["code"]))}
