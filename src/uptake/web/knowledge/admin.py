"""The Django admin for moderators: every knowledge item, with publishing and hiding as actions
that go through the same store functions as the portal's pages (so the log and search agree).

The moderation state is read-only here (issue 24.7: a moderator once published a case study from
the admin with no checklist, no log, no review date and absent from search, and hid a barrier
that stayed in search): a case study is published or returned on its moderation page, and posts
and barriers are hidden or restored by the actions below, which log and re-index. Any other change
made here is indexed for search as the pages' changes are."""

from django.contrib import admin, messages

from . import documents, store
from .models import Barrier, CaseStudy, Guide, GuideStep, ModerationLog, Post, Report, Thread, WikiPage, WikiRevision


@admin.register(CaseStudy)
class CaseStudyAdmin(admin.ModelAdmin):
    list_display = ("title", "status", "sector", "industry_sponsored", "published_on", "review_on", "example")
    list_filter = ("status", "sector", "industry_sponsored", "example")
    search_fields = ("title", "summary", "organisations_text")
    readonly_fields = ("author", "status", "checklist", "moderator_note", "moderated_by", "created_at", "updated_at",
                       "published_on", "review_on")
    actions = ["return_to_author"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        documents.index_case_study(obj)

    @admin.action(description="Return the selected case studies to their authors")
    def return_to_author(self, request, queryset):
        for cs in queryset:
            store.moderate_case_study(cs, request.user, action="return", checklist=cs.checklist,
                                      note="Returned from the admin: see the moderators' note")
        self.message_user(request, f"{queryset.count()} returned", messages.SUCCESS)


class StepInline(admin.TabularInline):
    model = GuideStep
    extra = 1


@admin.register(Guide)
class GuideAdmin(admin.ModelAdmin):
    list_display = ("title", "ta", "area", "updated_at", "example")
    inlines = [StepInline]
    filter_horizontal = ("case_studies", "barriers")
    prepopulated_fields = {"slug": ("title",)}

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        from .documents import index_guide

        index_guide(form.instance)


class _Hideable(admin.ModelAdmin):
    """Hiding and restoring as admin actions through the store (`hide_with`: logged, re-indexed);
    other changes saved here re-indexed with `index_with`, as the pages' changes are."""

    actions = ["hide", "restore"]
    hide_with = index_with = None

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self.index_with(obj)

    def _set(self, request, queryset, hidden):
        for item in queryset:
            self.hide_with(request.user, item, hidden=hidden, reason="Moderated from the admin")

    @admin.action(description="Hide the selected %(verbose_name_plural)s")
    def hide(self, request, queryset):
        self._set(request, queryset, True)

    @admin.action(description="Restore the selected %(verbose_name_plural)s")
    def restore(self, request, queryset):
        self._set(request, queryset, False)


@admin.register(Post)
class PostAdmin(_Hideable):
    list_display = ("thread", "author", "created_at", "hidden", "hidden_reason")
    list_filter = ("hidden",)
    readonly_fields = ("hidden", "hidden_reason", "hidden_by", "hidden_at")
    hide_with = staticmethod(store.set_post_hidden)

    @staticmethod
    def index_with(post):
        documents.index_thread(post.thread)


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("post", "reporter", "reason", "created_at", "resolved")
    list_filter = ("resolved",)


@admin.register(Barrier)
class BarrierAdmin(_Hideable):
    list_display = ("title", "type", "status", "hidden", "example")
    list_filter = ("type", "status", "hidden")
    search_fields = ("title", "description")
    readonly_fields = ("hidden", "hidden_reason", "author")
    hide_with = staticmethod(store.set_barrier_hidden)
    index_with = staticmethod(documents.index_barrier)


class RevisionInline(admin.TabularInline):
    model = WikiRevision
    extra = 0
    readonly_fields = ("number", "title", "summary", "author", "created_at")
    fields = readonly_fields
    can_delete = False


@admin.register(WikiPage)
class WikiPageAdmin(admin.ModelAdmin):
    list_display = ("title", "version", "updated_at")
    inlines = [RevisionInline]
    readonly_fields = ("version",)


admin.site.register(Thread)


@admin.register(ModerationLog)
class ModerationLogAdmin(admin.ModelAdmin):
    list_display = ("at", "moderator", "action", "item_kind", "item_id", "reason")
    list_filter = ("action", "item_kind")

    def has_change_permission(self, request, obj=None):
        return False


admin.site.site_header = "uptake: moderation"
