"""The portal's own bookkeeping: a stamp that changes whenever content in the portal's database
changes (formulary decisions, opportunity choices, …), so that cached pages and ETags that
depend on that content are renewed with it."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

# Apps whose saves and deletes renew the stamp (content shown to anyone, not per user).
CONTENT_APPS = {"compliance", "opportunities", "knowledge", "impact"}


class ContentStamp(models.Model):
    """A single row: a random token renewed on every content change, and when."""

    token = models.CharField(max_length=32)
    changed_at = models.DateTimeField()

    @classmethod
    def renew(cls) -> None:
        cls.objects.update_or_create(pk=1, defaults={"token": uuid.uuid4().hex, "changed_at": timezone.now()})

    @classmethod
    def current(cls) -> tuple[str, object] | None:
        row = cls.objects.filter(pk=1).values_list("token", "changed_at").first()
        return row
