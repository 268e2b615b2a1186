from __future__ import annotations

from django import forms

from .models import Decision


class DecisionForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Decision
        fields = ["decision", "decision_date", "restrictions", "reason", "evidence"]
        widgets = {
            "decision_date": forms.DateInput(attrs={"type": "date", "class": "nhsuk-input nhsuk-input--width-10"}),
            "decision": forms.RadioSelect(attrs={"class": "nhsuk-radios__input"}),
            "restrictions": forms.Textarea(attrs={"rows": 2, "class": "nhsuk-textarea"}),
            "reason": forms.Textarea(attrs={"rows": 2, "class": "nhsuk-textarea"}),
            "evidence": forms.TextInput(attrs={"class": "nhsuk-input"}),
        }
        labels = {"decision_date": "Date of the decision", "evidence": "Evidence (a link or a minute reference)",
                  "restrictions": "Restrictions (they must match NICE's recommendation)",
                  "reason": "Reason (needed when not applicable or rejected)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance and self.instance.pk:
            self.fields["version"].initial = self.instance.version
