from __future__ import annotations

from django import forms

from ..knowledge import forms as knowledge_forms
from .models import CHECKLIST, JointWorkingProject
from .store import PROJECT_FIELDS


class ProjectForm(forms.ModelForm):
    class Meta:
        model = JointWorkingProject
        fields = list(PROJECT_FIELDS)
        widgets = {"started_on": forms.DateInput(attrs={"type": "date"}),
                   "ended_on": forms.DateInput(attrs={"type": "date"})}


class ModerationForm(knowledge_forms.ModerationForm):
    items = CHECKLIST


class ImplementationForm(forms.Form):
    implemented_on = forms.DateField(label="Implemented on", widget=forms.DateInput(attrs={"type": "date"}))
