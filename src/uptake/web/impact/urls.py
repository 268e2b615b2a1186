from django.urls import path

from . import views

app_name = "impact"
urlpatterns = [
    path("", views.project_list, name="projects"),
    path("new/", views.project_edit, name="project_new"),
    path("case-study/<slug:slug>/implemented/", views.case_study_implemented, name="case_study_implemented"),
    path("<slug:slug>/", views.project, name="project"),
    path("<slug:slug>/edit/", views.project_edit, name="project_edit"),
    path("<slug:slug>/moderate/", views.project_moderate, name="project_moderate"),
]
