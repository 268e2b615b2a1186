from django.urls import path

from . import views

app_name = "knowledge"
urlpatterns = [
    path("", views.hub, name="hub"),
    path("case-studies/", views.case_study_list, name="case_studies"),
    path("case-studies/new/", views.case_study_edit, name="case_study_new"),
    path("case-studies/<slug:slug>/", views.case_study, name="case_study"),
    path("case-studies/<slug:slug>/edit/", views.case_study_edit, name="case_study_edit"),
    path("case-studies/<slug:slug>/moderate/", views.case_study_moderate, name="case_study_moderate"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
    path("moderation/", views.moderation, name="moderation"),
    path("guides/", views.guide_list, name="guides"),
    path("guides/<slug:slug>/", views.guide, name="guide"),
    path("wiki/", views.wiki_index, name="wiki"),
    path("wiki/new/", views.wiki_edit, name="wiki_new"),
    path("wiki/<slug:slug>/", views.wiki_page, name="wiki_page"),
    path("wiki/<slug:slug>/edit/", views.wiki_edit, name="wiki_edit"),
    path("wiki/<slug:slug>/history/", views.wiki_history, name="wiki_history"),
    path("wiki/<slug:slug>/diff/", views.wiki_diff, name="wiki_diff"),
    path("wiki/<slug:slug>/revert/<int:number>/", views.wiki_revert, name="wiki_revert"),
    path("discuss/<str:kind>/<str:key>/", views.discussion, name="discussion"),
    path("threads/<int:pk>/", views.thread, name="thread"),
    path("posts/<int:pk>/report/", views.post_report, name="post_report"),
    path("posts/<int:pk>/hide/", views.post_hide, {"hide": True}, name="post_hide"),
    path("posts/<int:pk>/restore/", views.post_hide, {"hide": False}, name="post_restore"),
    path("barriers/", views.barrier_list, name="barriers"),
    path("barriers/new/", views.barrier_edit, name="barrier_new"),
    path("barriers/heatmap/", views.heatmap, name="heatmap"),
    path("barriers/<int:pk>/", views.barrier, name="barrier"),
    path("barriers/<int:pk>/edit/", views.barrier_edit, name="barrier_edit"),
    path("barriers/<int:pk>/support/", views.barrier_support, name="barrier_support"),
    path("barriers/<int:pk>/hide/", views.barrier_hide, {"hide": True}, name="barrier_hide"),
    path("barriers/<int:pk>/restore/", views.barrier_hide, {"hide": False}, name="barrier_restore"),
]
