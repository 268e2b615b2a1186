from django.contrib import admin
from django.urls import include, path

from . import health, reports_views, views
from .api import api

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("ta/", views.ta_list, name="ta_list"),
    path("ta/<str:key>/", views.ta_page, name="ta"),
    path("org/<str:code>/", views.org_page, name="org"),
    path("org/<str:code>/report.<str:fmt>", reports_views.report, name="org_report"),
    path("compare/", views.compare, name="compare"),
    path("definitions/", views.definitions, name="definitions"),
    path("sources/", views.sources, name="sources"),
    path("downloads/", views.downloads, name="downloads"),
    path("downloads/scorecard.<str:fmt>", views.download_scorecard, name="download_scorecard"),
    path("maps/<str:level>.geojson", views.map_file, name="map_file"),
    path("healthz", health.healthz, name="healthz"),
    path("assets/nhsuk-frontend.css", views.nhsuk_css, name="nhsuk_css"),
    path("assets/vega-interpreter.js", views.vega_interpreter, name="vega_interpreter"),
    path("compliance/", include("uptake.web.compliance.urls")),
    path("opportunities/", include("uptake.web.opportunities.urls")),
    path("accounts/", include("uptake.web.accounts.urls")),
    path("learning/joint-working/", include("uptake.web.impact.urls")),
    path("learning/", include("uptake.web.knowledge.urls")),
    path("alerts/", include("uptake.web.alerts.urls")),
    path("my-area/", include("uptake.web.public.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]

handler404 = "uptake.web.views.not_found"
handler500 = "uptake.web.views.server_error"
