from __future__ import annotations

import re

from django import forms

from ..limits import LONG_TEXT, PAGE_TEXT
from .models import BARRIER_STATUSES, BARRIER_TYPES, CHECKLIST, SCOPES, SECTORS, CaseStudy, Guide
from .uploads import MAX_BYTES

CODES = re.compile(r"[A-Za-z0-9]+")


def codes(text: str) -> list[str]:
    """'TA275, ta249; TA355' → ['TA275', 'TA249', 'TA355']."""
    return [c.upper() for c in CODES.findall(text or "")]


class _Codes(forms.CharField):
    def __init__(self, label, help_text, required=False):
        super().__init__(label=label, help_text=help_text, required=required, max_length=300)


class CaseStudyForm(forms.Form):
    title = forms.CharField(max_length=200)
    summary = forms.CharField(max_length=300, help_text="One sentence: what was done and what it achieved")
    scope = forms.ChoiceField(choices=SCOPES, widget=forms.RadioSelect, initial="specific")
    tas = _Codes("NICE TAs it relates to", "TA numbers, separated by commas, e.g. TA275, TA249")
    organisations_text = forms.CharField(label="Organisation(s)", max_length=300,
                                         help_text="Who did the work, e.g. 'NHS Example ICB and its 12 PCNs'")
    organisations = _Codes("ODS codes of those organisations", "So it shows on their pages, e.g. QHM, 15N")
    sector = forms.ChoiceField(choices=SECTORS)
    industry_sponsored = forms.BooleanField(required=False, label="This work was sponsored by industry",
                                            help_text="Shown prominently on the case study")
    aims = forms.CharField(widget=forms.Textarea, max_length=LONG_TEXT, label="Aims and objectives")
    reasons = forms.CharField(widget=forms.Textarea, max_length=LONG_TEXT, required=False, label="Reasons for the project")
    how = forms.CharField(widget=forms.Textarea, max_length=LONG_TEXT, label="How it was implemented")
    findings = forms.CharField(widget=forms.Textarea, max_length=LONG_TEXT, required=False, label="Key findings")
    learning = forms.CharField(widget=forms.Textarea, max_length=LONG_TEXT, label="Key learning points")
    results = forms.CharField(widget=forms.Textarea, max_length=LONG_TEXT, required=False, label="Results (with figures and their period)")
    contact = forms.CharField(max_length=200, required=False, label="Contact (name, role, e-mail)")
    attachment = forms.FileField(required=False, label="Attach a PDF (up to 10 MB)")

    def clean_attachment(self):
        f = self.cleaned_data.get("attachment")
        if f is not None and f.size > MAX_BYTES:
            raise forms.ValidationError(f"The file is {f.size / 1024 / 1024:.1f} MB; attachments can be up to 10 MB")
        return f

    @classmethod
    def initial_from(cls, cs: CaseStudy) -> dict:
        data = {name: getattr(cs, name) for name in cls.base_fields if hasattr(cs, name) and name != "attachment"}
        data.update(tas=", ".join(cs.tas), organisations=", ".join(cs.organisations))
        return data


class ModerationForm(forms.Form):
    action = forms.ChoiceField(choices=[("publish", "Publish"), ("return", "Return to the author")],
                               widget=forms.RadioSelect)
    note = forms.CharField(widget=forms.Textarea, max_length=LONG_TEXT, required=False, label="Note to the author")

    items = CHECKLIST  # (key, label) of each check; the joint working register's form has its own

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key, label in self.items:
            self.fields[f"check_{key}"] = forms.BooleanField(required=False, label=label)

    def checklist(self) -> dict[str, bool]:
        return {key: bool(self.cleaned_data.get(f"check_{key}")) for key, _ in self.items}


class WikiForm(forms.Form):
    title = forms.CharField(max_length=200)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 18}), max_length=PAGE_TEXT, label="Text (Markdown)")
    summary = forms.CharField(max_length=200, required=False, label="Summary of your change")
    base_version = forms.IntegerField(widget=forms.HiddenInput, initial=0, min_value=0)


class ThreadForm(forms.Form):
    title = forms.CharField(max_length=200)
    body = forms.CharField(widget=forms.Textarea, max_length=LONG_TEXT, label="Your post (Markdown)")


class ReplyForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea, max_length=LONG_TEXT, label="Your reply (Markdown)")


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300)


class BarrierForm(forms.Form):
    title = forms.CharField(max_length=200)
    type = forms.ChoiceField(choices=BARRIER_TYPES)
    tas = _Codes("NICE TAs it affects", "TA numbers, e.g. TA464, TA204", required=True)
    organisations = _Codes("Organisations affected (ODS codes)", "e.g. QHM, 15N")
    description = forms.CharField(widget=forms.Textarea, max_length=LONG_TEXT)
    evidence = forms.CharField(widget=forms.Textarea, max_length=LONG_TEXT, required=False)
    status = forms.ChoiceField(choices=BARRIER_STATUSES, initial="open")
    addressed_by_case_study = forms.ModelChoiceField(
        queryset=CaseStudy.objects.filter(status=CaseStudy.PUBLISHED), required=False,
        label="Addressed by (case study)")
    addressed_by_guide = forms.ModelChoiceField(queryset=Guide.objects.all(), required=False,
                                                label="Addressed by (guide)")


class SupportForm(forms.Form):
    organisation = forms.CharField(max_length=12, required=False, label="Your organisation's ODS code (optional)")
