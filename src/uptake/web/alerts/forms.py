from __future__ import annotations

from django import forms

from ...errors import UptakeError
from .models import Subscription
from .targets import check


class SubscriptionForm(forms.Form):
    kind = forms.ChoiceField(choices=Subscription.KINDS, widget=forms.RadioSelect, label="What to follow")
    target = forms.CharField(max_length=40, label="Which one",
                             help_text="An organisation's ODS code (e.g. QHM), a TA number (e.g. TA275), a clinical "
                                       "area (e.g. stroke), or for formulary deadlines an ICB's code")

    def clean(self):
        data = super().clean()
        if "kind" in data and "target" in data:
            try:
                data["checked"] = check(data["kind"], data["target"])
            except UptakeError as exc:
                self.add_error("target", str(exc))
        return data
