"""/api/v1/alerts: a signed-in person's own subscriptions (list, add, remove) and the digests sent
to them, by session or HTTP Basic. Nobody sees or removes another person's: someone else's
subscription answers 404, exactly as one that does not exist.

Every answer is marked `Cache-Control: private, no-store` and carries its own ETag: the portal's
cache (uptake.web.caching) decides who is asking before the API authenticates HTTP Basic, so
without these it would keep a Basic-authenticated answer as if it were anyone's."""

from __future__ import annotations

import secrets
from typing import Literal

from django.http import HttpResponse
from ninja import Router, Schema, Status
from pydantic import Field

from ...errors import UptakeError
from ..api_common import Message
from ..compliance.api import AUTH
from .models import Digest, Subscription
from .targets import KINDS, check, describe

router = Router(tags=["Alerts"])
Kind = Literal[KINDS]  # type: ignore[valid-type]


class SubscriptionIn(Schema):
    kind: Kind = Field(..., description="organisation, ta, area or compliance (an ICB's formulary deadlines)")
    target: str = Field(..., max_length=40, description="ODS code, TA number or clinical area id",
                        examples=["QHM", "TA275", "stroke"])


class SubscriptionOut(Schema):
    id: int
    kind: str
    target: str
    label: str
    created_at: str


class DigestOut(Schema):
    id: int
    as_of: str
    month: str
    status: str
    subject: str
    alerts: list[str]
    attempts: int
    created_at: str
    sent_at: str | None


def _out(s: Subscription) -> dict:
    return {"id": s.pk, "kind": s.kind, "target": s.target, "label": describe(s.kind, s.target),
            "created_at": s.created_at.isoformat()}


AUTH_ERRORS = {401: Message}


def _private(response: HttpResponse) -> None:
    response["Cache-Control"] = "private, no-store"
    response["ETag"] = f'"a-{secrets.token_hex(8)}"'  # never the portal cache's: never stored or matched


@router.get("/subscriptions", auth=AUTH, response={200: list[SubscriptionOut], **AUTH_ERRORS},
            summary="What you follow")
def subscriptions(request, response: HttpResponse):
    _private(response)
    return [_out(s) for s in Subscription.objects.filter(user=request.user).order_by("kind", "target")]


@router.post("/subscriptions", auth=AUTH, response={200: SubscriptionOut, 201: SubscriptionOut, 400: Message,
                                                    **AUTH_ERRORS, 422: Message, 503: Message},
             summary="Follow something (201; 200 when you already follow it)")
def subscribe(request, body: SubscriptionIn, response: HttpResponse):
    _private(response)
    try:
        target = check(body.kind, body.target)
    except UptakeError as exc:
        return Status(400, {"detail": str(exc)})
    sub, made = Subscription.objects.get_or_create(user=request.user, kind=target.kind, target=target.code)
    return Status(201 if made else 200, _out(sub))


@router.delete("/subscriptions/{subscription_id}", auth=AUTH, response={204: None, 404: Message, **AUTH_ERRORS},
               summary="Stop following it")
def unsubscribe(request, subscription_id: int, response: HttpResponse):
    _private(response)
    gone, _ = Subscription.objects.filter(pk=subscription_id, user=request.user).delete()
    if not gone:
        return Status(404, {"detail": f"you have no subscription {subscription_id}"})
    return Status(204, None)


@router.get("/digests", auth=AUTH, response={200: list[DigestOut], **AUTH_ERRORS},
            summary="The alert e-mails sent to you (latest first, up to 100)")
def digests(request, response: HttpResponse):
    _private(response)
    return [{"id": d.pk, "as_of": d.as_of.isoformat(), "month": d.month, "status": d.status, "subject": d.subject,
             "alerts": d.keys, "attempts": d.attempts, "created_at": d.created_at.isoformat(),
             "sent_at": d.sent_at.isoformat() if d.sent_at else None}
            for d in Digest.objects.filter(user=request.user).order_by("-created_at", "-id")[:100]]
