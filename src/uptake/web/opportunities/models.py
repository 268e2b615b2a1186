from __future__ import annotations

from django.conf import settings
from django.db import models

YEAR = "2024/25"  # NHS England's list is unchanged from 2023/24; ICBs choose at least five a year
MINIMUM = 5


class Choice(models.Model):
    """An ICB's choice of one opportunity for a year, with its rationale. A withdrawn choice is
    kept (withdrawn_at set), so the history of what an ICB chose and why stays readable."""

    icb = models.CharField(max_length=12)
    year = models.CharField(max_length=7, default=YEAR)
    opportunity = models.CharField(max_length=60)
    rationale = models.TextField()
    chosen_by = models.CharField(max_length=200)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    chosen_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["icb", "year", "opportunity", "-chosen_at"]
        indexes = [models.Index(fields=["year", "icb"]), models.Index(fields=["year", "opportunity"])]
