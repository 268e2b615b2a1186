"""What the knowledge portal stores. User text is Markdown, rendered through the sanitiser
(knowledge.text) whenever it is shown; nothing here holds HTML."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models

USER = settings.AUTH_USER_MODEL

SECTORS = [
    ("primary_care", "Primary care"), ("secondary_care", "Secondary care"), ("community", "Community"),
    ("mental_health", "Mental health"), ("policy", "Policy"), ("social_care", "Social care"),
    ("industry", "Industry"),
]
SCOPES = [("specific", "Implementing specific NICE guidance"),
          ("general", "General implementation of all NICE guidance")]

# NICE keeps shared-learning examples for two years, then reviews them (reference/methods.md §4).
REVIEW_AFTER = timedelta(days=730)

# What a moderator checks before a case study is published: NICE's quality assurance of shared
# learning submissions (nice.org.uk/387043, as quoted in reference/methods.md §4), then two checks
# of our own (marked "uptake").
CHECKLIST = [
    ("useful", "Highlights learning that could be useful to others (NICE)"),
    ("plain_english", "Is in plain English (NICE)"),
    ("guidance", "Relates to named NICE guidance, or a general example follows NICE's "
                 "'How to put NICE guidance into practice' (NICE)"),
    ("evaluation", "Includes evaluation, with figures, where appropriate (NICE)"),
    ("baseline", "Includes a baseline assessment where appropriate (NICE)"),
    ("industry", "Any industry sponsorship has been declared (NICE)"),
    ("contact", "Names a contact who can be asked about it (uptake)"),
    ("no_patient_data", "Contains no patient-identifiable information (uptake)"),
]


class Linked:
    """An item with Links (a case study, a barrier): the TAs and organisations it names."""

    @property
    def tas(self) -> list[str]:
        return [link.code for link in self.links.all() if link.kind == "ta"]

    @property
    def organisations(self) -> list[str]:
        return [link.code for link in self.links.all() if link.kind == "org"]


class CaseStudy(Linked, models.Model):
    """An example of implementing NICE guidance (the shared learning database)."""

    DRAFT, SUBMITTED, PUBLISHED, RETURNED = "draft", "submitted", "published", "returned"
    STATUSES = [(DRAFT, "Draft"), (SUBMITTED, "Awaiting moderation"), (PUBLISHED, "Published"),
                (RETURNED, "Returned to the author")]

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=300, help_text="One sentence: what was done and what it achieved")
    scope = models.CharField(max_length=10, choices=SCOPES, default="specific")
    sector = models.CharField(max_length=20, choices=SECTORS)
    industry_sponsored = models.BooleanField(default=False)
    organisations_text = models.CharField(max_length=300, blank=True,
                                          help_text="Organisations that did the work, as written by the author")
    aims = models.TextField("Aims and objectives")
    reasons = models.TextField("Reasons for the project", blank=True)
    how = models.TextField("How it was implemented")
    findings = models.TextField("Key findings", blank=True)
    learning = models.TextField("Key learning points")
    results = models.TextField("Results", blank=True)
    contact = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=DRAFT)
    checklist = models.JSONField(default=dict, blank=True)
    moderator_note = models.TextField(blank=True)
    author = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="case_studies")
    moderated_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_on = models.DateField(null=True, blank=True)
    review_on = models.DateField(null=True, blank=True)
    example = models.BooleanField(default=False, help_text="Demo content, shown marked as an example")

    class Meta:
        ordering = ["-published_on", "-created_at"]
        verbose_name_plural = "case studies"
        permissions = [("moderate_casestudy", "Can publish or return case studies")]

    def __str__(self) -> str:
        return self.title


class Link(models.Model):
    """What a case study or barrier relates to: a TA or an organisation (by ODS code)."""

    KINDS = [("ta", "NICE TA"), ("org", "Organisation")]
    kind = models.CharField(max_length=3, choices=KINDS)
    code = models.CharField(max_length=12, db_index=True)
    case_study = models.ForeignKey(CaseStudy, null=True, blank=True, on_delete=models.CASCADE, related_name="links")
    barrier = models.ForeignKey("Barrier", null=True, blank=True, on_delete=models.CASCADE, related_name="links")

    class Meta:
        ordering = ["kind", "code"]


class Attachment(models.Model):
    """A PDF attached to a case study, stored outside the web root (settings.UPLOAD_ROOT)."""

    case_study = models.ForeignKey(CaseStudy, on_delete=models.CASCADE, related_name="attachments")
    name = models.CharField(max_length=120, help_text="The file name shown and offered on download")
    stored_as = models.CharField(max_length=80, unique=True)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)


class Guide(models.Model):
    """How to implement a TA (or an area's TAs): ordered steps with owners and resources."""

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    ta = models.CharField(max_length=12, blank=True, help_text="A catalogue TA, e.g. TA275")
    area = models.CharField(max_length=40, blank=True, help_text="A catalogue clinical area, e.g. stroke")
    summary = models.TextField()
    case_studies = models.ManyToManyField(CaseStudy, blank=True, related_name="guides")
    barriers = models.ManyToManyField("Barrier", blank=True, related_name="guides")
    author = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)
    example = models.BooleanField(default=False)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class GuideStep(models.Model):
    guide = models.ForeignKey(Guide, on_delete=models.CASCADE, related_name="steps")
    number = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    owner = models.CharField(max_length=120, blank=True, help_text="Who does it, e.g. ICB medicines optimisation lead")
    body = models.TextField(blank=True)
    resources = models.TextField(blank=True, help_text="Links and documents, in Markdown")

    class Meta:
        ordering = ["guide", "number"]
        constraints = [models.UniqueConstraint(fields=["guide", "number"], name="one_step_number")]


class WikiPage(models.Model):
    """A page anyone signed in can edit. `version` is the number of its latest revision; a save
    names the version it was based on, and is refused when that is no longer the latest."""

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    example = models.BooleanField(default=False)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    @property
    def current(self) -> WikiRevision | None:
        return self.revisions.order_by("-number").first()


class WikiRevision(models.Model):
    page = models.ForeignKey(WikiPage, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    summary = models.CharField(max_length=200, blank=True, help_text="What changed, and why")
    author = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    reverted_to = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["page", "-number"]
        constraints = [models.UniqueConstraint(fields=["page", "number"], name="one_revision_number")]


BARRIER_TYPES = [
    ("financial", "Financial / affordability"), ("capacity", "Capacity"),
    ("service_configuration", "Service configuration"), ("workforce", "Workforce"),
    ("culture", "Culture / ways of working"), ("formulary", "Formulary / process"),
    ("evidence", "Evidence / awareness"), ("it_data", "IT / data"),
    ("patient_access", "Patient access / awareness"),
]
BARRIER_STATUSES = [("open", "Open"), ("being_addressed", "Being addressed"), ("addressed", "Addressed")]


class Barrier(Linked, models.Model):
    """Something in the way of implementing NICE guidance (the barriers register)."""

    title = models.CharField(max_length=200)
    type = models.CharField(max_length=30, choices=BARRIER_TYPES)
    description = models.TextField()
    evidence = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=BARRIER_STATUSES, default="open")
    addressed_by_case_study = models.ForeignKey(CaseStudy, null=True, blank=True, on_delete=models.SET_NULL,
                                                related_name="addressed_barriers")
    addressed_by_guide = models.ForeignKey(Guide, null=True, blank=True, on_delete=models.SET_NULL,
                                           related_name="addressed_barriers")
    author = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="barriers")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    hidden = models.BooleanField(default=False)
    hidden_reason = models.CharField(max_length=300, blank=True)
    example = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class BarrierSupport(models.Model):
    """A member saying "we face this too" (once each)."""

    barrier = models.ForeignKey(Barrier, on_delete=models.CASCADE, related_name="supports")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    organisation = models.CharField(max_length=12, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["barrier", "user"], name="one_support_each")]


class Thread(models.Model):
    """A discussion on a TA, a case study, a barrier or a wiki page."""

    SUBJECTS = [("ta", "NICE TA"), ("case_study", "Case study"), ("barrier", "Barrier"), ("wiki", "Wiki page")]
    subject_kind = models.CharField(max_length=12, choices=SUBJECTS)
    subject_key = models.CharField(max_length=80, help_text="TA number, case study or wiki slug, barrier id")
    title = models.CharField(max_length=200)
    author = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    example = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["subject_kind", "subject_key"])]

    def __str__(self) -> str:
        return self.title


class Post(models.Model):
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="posts")
    author = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    hidden = models.BooleanField(default=False)
    hidden_reason = models.CharField(max_length=300, blank=True)
    hidden_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    hidden_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        permissions = [("moderate_post", "Can hide or restore posts")]


class Report(models.Model):
    """Someone asking the moderators to look at a post."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]


class ModerationLog(models.Model):
    """Every moderation decision: who did what to which item, when and why."""

    moderator = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=20)  # publish, return, hide, restore
    item_kind = models.CharField(max_length=20)
    item_id = models.BigIntegerField()
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at"]


class SearchDocument(models.Model):
    """One searchable item (a published case study, a guide, a wiki page, a barrier, a thread),
    as plain text. The full-text index over it is the database's own: an FTS5 table on SQLite,
    a weighted tsvector column with a GIN index on PostgreSQL (migration 0002)."""

    kind = models.CharField(max_length=12)
    key = models.CharField(max_length=80)
    title = models.CharField(max_length=200)
    body = models.TextField()
    url = models.CharField(max_length=200)
    date = models.DateField(null=True)
    example = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="one_document_per_item")]


class Facet(models.Model):
    """A filterable property of a search document (area, ta, region, sector, industry, year);
    several per document where an item relates to several TAs or regions."""

    document = models.ForeignKey(SearchDocument, on_delete=models.CASCADE, related_name="facets")
    name = models.CharField(max_length=12)
    value = models.CharField(max_length=40)

    class Meta:
        indexes = [models.Index(fields=["name", "value"])]
        constraints = [models.UniqueConstraint(fields=["document", "name", "value"], name="one_facet_value")]
