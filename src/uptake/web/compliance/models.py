from __future__ import annotations

from django.conf import settings
from django.db import models

from ...services.compliance import DECISION_LABELS

DECISION_CHOICES = list(DECISION_LABELS.items())


class Formulary(models.Model):
    """A local formulary: usually one per ICB, sometimes shared by several."""

    code = models.CharField(max_length=40, primary_key=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "formularies"

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class FormularyIcb(models.Model):
    """Which formulary an ICB uses (one each)."""

    icb = models.CharField(max_length=12, primary_key=True)
    formulary = models.ForeignKey(Formulary, on_delete=models.CASCADE, related_name="icbs")

    class Meta:
        ordering = ["icb"]


class Decision(models.Model):
    """One decision of a formulary on a TA, with its date: a formulary × TA has a dated sequence
    of them (rejected, then included…); the latest on or before a day applies on that day."""

    formulary = models.ForeignKey(Formulary, on_delete=models.CASCADE, related_name="decisions")
    ta = models.CharField(max_length=10)
    decision = models.CharField(max_length=30, choices=DECISION_CHOICES)
    decision_date = models.DateField()
    restrictions = models.TextField(blank=True)
    reason = models.TextField(blank=True)
    evidence = models.TextField(blank=True, help_text="A link or a minute reference")
    recorded_by = models.CharField(max_length=200, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["formulary", "ta", "decision_date"]
        constraints = [models.UniqueConstraint(fields=["formulary", "ta", "decision_date"],
                                               name="one_decision_per_formulary_ta_day")]
        indexes = [models.Index(fields=["ta"])]

    FIELDS = ("decision", "decision_date", "restrictions", "reason", "evidence", "recorded_by")

    def values(self) -> dict:
        return {"formulary": self.formulary_id, "ta": self.ta,
                **{f: (getattr(self, f).isoformat() if f == "decision_date" else getattr(self, f))
                   for f in self.FIELDS}}


class DecisionChange(models.Model):
    """Every change to a decision: who, when, how (file, page, API), before and after."""

    ACTIONS = [("created", "created"), ("changed", "changed"), ("deleted", "deleted")]
    VIA = [("file", "file import"), ("web", "web form"), ("api", "API")]

    decision = models.ForeignKey(Decision, null=True, on_delete=models.SET_NULL, related_name="changes")
    formulary = models.CharField(max_length=40)
    ta = models.CharField(max_length=10)
    action = models.CharField(max_length=10, choices=ACTIONS)
    before = models.JSONField(null=True)
    after = models.JSONField(null=True)
    who = models.CharField(max_length=200)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    via = models.CharField(max_length=10, choices=VIA)
    detail = models.CharField(max_length=300, blank=True, help_text="e.g. the file and line")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["formulary", "ta"])]
