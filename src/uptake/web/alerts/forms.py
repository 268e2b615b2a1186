from __future__ import annotations

from django import forms

from ...errors import UptakeError
from .models import Subscription
from .targets import check


class SubscriptionForm(forms.Form):
    kind = forms.ChoiceField(choices=Subscription.KINDS, widget=forms.RadioSelect, label="What to follow")
    target = forms.CharField(max_length=120, label="Which one",
                             help_text="An organisation's name or ODS code (e.g. QHM), a TA's number or title (e.g. "
                                       "TA275), a clinical area (e.g. stroke), or for formulary deadlines an ICB's "
                                       "name or code")

    def clean(self):
        data = super().clean()
        if "kind" in data and "target" in data:
            try:
                data["checked"] = check(data["kind"], data["target"])
            except UptakeError as exc:
                self.add_error("target", str(exc))
        return data
