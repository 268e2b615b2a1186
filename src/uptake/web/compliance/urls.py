from django.urls import path

from . import views

urlpatterns = [
    path("", views.national, name="compliance"),
    path("<str:code>/", views.icb_page, name="compliance_icb"),
    path("<str:code>/<str:ta>/", views.decision_page, name="compliance_decision"),
]
