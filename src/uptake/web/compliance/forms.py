from __future__ import annotations

from django import forms

from ... import config
from ..limits import FUTURE_DAYS, SHORT_TEXT, date_problem
from .models import DECISION_CHOICES, Decision


class DecisionForm(forms.ModelForm):
    """A formulary decision. The date is written ISO (YYYY-MM-DD), the only value an
    <input type=date> reads, so that editing a decision keeps its date; no decision is preselected
    (no "---------" choice); a date before 2000 or more than FUTURE_DAYS ahead is refused."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Decision
        fields = ["decision", "decision_date", "restrictions", "reason", "evidence"]
        widgets = {
            "decision_date": forms.DateInput(format="%Y-%m-%d",
                                             attrs={"type": "date", "class": "nhsuk-input nhsuk-input--width-10"}),
            "decision": forms.RadioSelect(attrs={"class": "nhsuk-radios__input"}),
            "restrictions": forms.Textarea(attrs={"rows": 2, "class": "nhsuk-textarea", "maxlength": SHORT_TEXT}),
            "reason": forms.Textarea(attrs={"rows": 2, "class": "nhsuk-textarea", "maxlength": SHORT_TEXT}),
            "evidence": forms.TextInput(attrs={"class": "nhsuk-input", "maxlength": SHORT_TEXT}),
        }
        labels = {"decision_date": "Date of the decision", "evidence": "Evidence (a link or a minute reference)",
                  "restrictions": "Restrictions (they must match NICE's recommendation)",
                  "reason": "Reason (needed when not applicable or rejected)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["decision"].choices = DECISION_CHOICES  # without the blank "---------"
        self.fields["decision_date"].input_formats = ["%Y-%m-%d", "%d/%m/%Y"]
        self.fields["decision_date"].help_text = (f"For example 2022-09-29; up to {FUTURE_DAYS} days ahead")
        if self.instance and self.instance.pk:
            self.fields["version"].initial = self.instance.version

    def clean_decision_date(self):
        day = self.cleaned_data["decision_date"]
        problem = date_problem("The date", day, config.today())
        if problem is not None:
            raise forms.ValidationError(problem)
        return day
