"""The admin for moderators: joint working projects and case studies' implementation dates."""

from django.contrib import admin

from .models import Implementation, JointWorkingProject


@admin.register(JointWorkingProject)
class JointWorkingProjectAdmin(admin.ModelAdmin):
    list_display = ("title", "status", "industry_partners", "started_on", "ended_on", "example")
    list_filter = ("status", "example")
    search_fields = ("title", "summary", "nhs_partners", "industry_partners", "tas", "organisations")
    readonly_fields = ("author", "moderated_by", "created_at", "updated_at", "published_on")


@admin.register(Implementation)
class ImplementationAdmin(admin.ModelAdmin):
    list_display = ("case_study", "implemented_on")
