"""The demo's example alert subscriptions, for its example accounts (cli.py's DEMO_USERS), chosen
so that `uptake alerts send` on the demo sends real digests: the editor follows their ICB and its
formulary deadlines, the member a TA and a clinical area, the moderator an organisation with an
example case study and an area. Loading twice changes nothing; `fresh` also forgets what was
sent (the send log, the deliveries, the known TAs), so a new demo sends its digests again."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from .models import Delivery, Digest, KnownTA, Recipient, Subscription


def examples(editor_icb: str) -> list[tuple[str, str, str]]:
    """(e-mail, kind, target) of the demo's subscriptions."""
    return [
        ("editor@example.org", Subscription.COMPLIANCE, editor_icb),
        ("editor@example.org", Subscription.ORGANISATION, editor_icb),
        ("member@example.org", Subscription.TA, "TA275"),
        ("member@example.org", Subscription.AREA, "stroke"),
        ("moderator@example.org", Subscription.ORGANISATION, "QHM"),
        ("moderator@example.org", Subscription.AREA, "heart_disease"),
    ]


@transaction.atomic
def load_examples(editor_icb: str, *, fresh: bool = False) -> dict[str, int]:
    """Subscribe the demo's accounts (those that exist) to `examples(editor_icb)`."""
    if fresh:
        Delivery.objects.all().delete()
        Digest.objects.all().delete()
        KnownTA.objects.all().delete()
    User = get_user_model()
    made, people = 0, set()
    for email, kind, target in examples(editor_icb.strip().upper()):
        user = User.objects.filter(username=email).first()
        if user is None:
            continue
        Recipient.objects.get_or_create(user=user)
        _, new = Subscription.objects.get_or_create(user=user, kind=kind, target=target)
        made += new
        people.add(email)
    return {"subscriptions": Subscription.objects.filter(user__username__in=people).count(), "created": made,
            "people": len(people)}
