from __future__ import annotations

from django.conf import settings
from django.db import models

ROLES = [("editor", "Organisation editor (formulary decisions and opportunity choices)")]


class OrganisationRole(models.Model):
    """A user's role for one organisation (an ODS code, e.g. an ICB's QHM)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="organisation_roles")
    organisation = models.CharField(max_length=12, help_text="ODS code, upper case")
    role = models.CharField(max_length=20, choices=ROLES, default="editor")
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organisation", "role"], name="one_role_per_org")]
        ordering = ["organisation", "role"]

    def __str__(self) -> str:
        return f"{self.user} — {self.role} of {self.organisation}"


class Profile(models.Model):
    """What a member tells us about themselves beyond Django's user: where they work."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    organisation = models.CharField(max_length=150, blank=True)
