"""What the alerts keep: who follows what (Subscription), each person's token for stopping every
alert at once (Recipient), the send log (Digest), which alert went to whom (Delivery: what makes
a re-run send nothing twice) and when each catalogue TA was first seen (KnownTA)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

USER = settings.AUTH_USER_MODEL
TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 43 characters, 256 random bits


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


class Subscription(models.Model):
    """One person following one thing. `token` is the capability in the e-mails' unsubscribe
    link for this subscription alone: random, unique, never derived from anything else."""

    ORGANISATION, TA, AREA, COMPLIANCE = "organisation", "ta", "area", "compliance"
    KINDS = [
        (ORGANISATION, "An organisation's uptake (any level: region to practice)"),
        (TA, "A NICE TA's uptake across ICBs"),
        (AREA, "A clinical area: its TAs across ICBs, and new TAs in it"),
        (COMPLIANCE, "An ICB's formulary deadlines"),
    ]

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="alert_subscriptions")
    kind = models.CharField(max_length=12, choices=KINDS)
    target = models.CharField(max_length=40, help_text="ODS code, TA number or clinical area id")
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "target"]
        constraints = [models.UniqueConstraint(fields=["user", "kind", "target"], name="one_subscription_each")]

    def __str__(self) -> str:
        return f"{self.user} follows {self.kind} {self.target}"


class Recipient(models.Model):
    """A person's token for stopping all their alerts at once: the List-Unsubscribe header of
    their digests (one-click unsubscribe in a mail client stops the whole digest)."""

    user = models.OneToOneField(USER, on_delete=models.CASCADE, related_name="alert_recipient")
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.user)


class Digest(models.Model):
    """One e-mail to one person: recorded `pending` before it is handed to the mail server and
    `sent` after (with its Delivery rows, in one transaction), or `failed` with the error. A
    pending or failed digest is sent again (same Message-ID) by the next run that finds the same
    alerts for the person; when their alerts have changed it is `superseded` by a new digest."""

    PENDING, SENT, FAILED, SUPERSEDED = "pending", "sent", "failed", "superseded"
    STATUSES = [(PENDING, "Pending"), (SENT, "Sent"), (FAILED, "Failed"),
                (SUPERSEDED, "Not sent: its alerts went in a later digest")]

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="alert_digests")
    email = models.CharField(max_length=254, help_text="The address it was sent to")
    as_of = models.DateField()
    month = models.CharField(max_length=7, blank=True, help_text="The data month (YYYY-MM) of its uptake alerts")
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING)
    message_id = models.CharField(max_length=200, unique=True)
    subject = models.CharField(max_length=300, blank=True)
    keys = models.JSONField(default=list, help_text="The alert keys it carries")
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    attempted_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "status"])]

    def __str__(self) -> str:
        return f"{self.email} {self.as_of} {self.status}"


class Delivery(models.Model):
    """An alert (by its stable key) that reached a person, and in which digest."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="alert_deliveries")
    key = models.CharField(max_length=200)
    digest = models.ForeignKey(Digest, on_delete=models.CASCADE, related_name="deliveries")
    delivered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-delivered_at", "key"]
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="one_delivery_each")]


class KnownTA(models.Model):
    """When a catalogue TA was first seen by `uptake alerts send`: its NICE publication date for
    the TAs there at the first run, else the day of the run that found it (see docs/alerts.md)."""

    ta = models.CharField(max_length=12, unique=True)
    first_seen = models.DateField()

    class Meta:
        ordering = ["-first_seen", "ta"]
        verbose_name = "known TA"

    def __str__(self) -> str:
        return f"{self.ta} (first seen {self.first_seen})"
