"""What the impact pages store: the register of NHS–industry joint working projects (moderated
like case studies), and the date a case study's work was implemented (the intervention date its
measured effect is computed around). User text is Markdown, rendered through the knowledge
portal's sanitiser."""

from __future__ import annotations

from django.conf import settings
from django.db import models

USER = settings.AUTH_USER_MODEL

# What a moderator checks before a joint working project is published. From the ABPI Code of
# Practice (clause on joint working) and the ABPI / NHS Confederation joint working toolkit, as
# quoted in their public summaries (not checked here against the current Code's wording).
CHECKLIST = [
    ("written_agreement", "A formal written joint working agreement, made between organisations, not with individuals (ABPI Code)"),
    ("nhs_signoff", "Signed off through the NHS organisation's own governance (ABPI/NHS Confederation toolkit)"),
    ("executive_summary", "An executive summary of the agreement published before the project starts (ABPI Code)"),
    ("benefits", "Benefits for patients, the NHS and the company stated in advance, patients first (ABPI toolkit)"),
    ("contributions", "Each party's contribution defined; the company's transfers of value disclosed (ABPI Code)"),
    ("exit", "An exit strategy, contingency arrangements and milestones in the agreement (ABPI toolkit)"),
    ("outcomes", "Outcomes to be measured and documented, and published when it ends (ABPI toolkit)"),
]


class JointWorkingProject(models.Model):
    """An NHS–industry joint working project: partners, the TAs and organisations it concerns."""

    DRAFT, SUBMITTED, PUBLISHED, RETURNED = "draft", "submitted", "published", "returned"
    STATUSES = [(DRAFT, "Draft"), (SUBMITTED, "Awaiting moderation"), (PUBLISHED, "Published"),
                (RETURNED, "Returned to the author")]

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=300, help_text="One sentence: what the project does")
    nhs_partners = models.CharField("NHS partners", max_length=300)
    industry_partners = models.CharField("Industry partners", max_length=300)
    tas = models.CharField("NICE TAs", max_length=300, help_text="TA numbers, comma-separated (e.g. TA275, TA249)")
    organisations = models.CharField(max_length=300, help_text="ODS codes of the NHS organisations, comma-separated")
    started_on = models.DateField("Start date")
    ended_on = models.DateField("End date", null=True, blank=True)
    description = models.TextField("What the project does, and how")
    outcomes = models.TextField("Outcomes measured (or to be)", blank=True)
    summary_url = models.URLField("Published executive summary", blank=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=DRAFT)
    checklist = models.JSONField(default=dict, blank=True)
    moderator_note = models.TextField(blank=True)
    author = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="joint_projects")
    moderated_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_on = models.DateField(null=True, blank=True)
    example = models.BooleanField(default=False, help_text="Demo content, shown marked as an example")

    class Meta:
        ordering = ["-started_on", "title"]
        permissions = [("moderate_jointworkingproject", "Can publish or return joint working projects")]

    def __str__(self) -> str:
        return self.title

    @property
    def ta_list(self) -> list[str]:
        return [c.strip().upper() for c in self.tas.split(",") if c.strip()]

    @property
    def organisation_list(self) -> list[str]:
        return [c.strip().upper() for c in self.organisations.split(",") if c.strip()]


class Implementation(models.Model):
    """When a case study's work was implemented: the date its measured effect is computed around."""

    case_study = models.OneToOneField("knowledge.CaseStudy", on_delete=models.CASCADE, related_name="implementation")
    implemented_on = models.DateField(help_text="When the change began (the first month counted as 'after')")

    def __str__(self) -> str:
        return f"{self.case_study}: {self.implemented_on}"
