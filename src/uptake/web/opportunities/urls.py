from django.urls import path

from . import views

urlpatterns = [
    path("", views.national, name="opportunities"),
    path("icb/<str:code>/", views.icb_page, name="opportunities_icb"),
    path("<str:key>/", views.opportunity_page, name="opportunity"),
]
