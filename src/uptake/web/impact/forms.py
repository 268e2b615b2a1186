from __future__ import annotations

from django import forms

from .models import CHECKLIST, JointWorkingProject
from .store import PROJECT_FIELDS


class ProjectForm(forms.ModelForm):
    class Meta:
        model = JointWorkingProject
        fields = list(PROJECT_FIELDS)
        widgets = {"started_on": forms.DateInput(attrs={"type": "date"}),
                   "ended_on": forms.DateInput(attrs={"type": "date"})}


class ModerationForm(forms.Form):
    action = forms.ChoiceField(choices=[("publish", "Publish"), ("return", "Return to the author")],
                               widget=forms.RadioSelect)
    note = forms.CharField(widget=forms.Textarea, required=False, label="Note to the author")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key, label in CHECKLIST:
            self.fields[f"check_{key}"] = forms.BooleanField(required=False, label=label)

    def checklist(self) -> dict[str, bool]:
        return {key: bool(self.cleaned_data.get(f"check_{key}")) for key, _ in CHECKLIST}


class ImplementationForm(forms.Form):
    implemented_on = forms.DateField(label="Implemented on", widget=forms.DateInput(attrs={"type": "date"}))
