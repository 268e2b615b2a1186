from django.urls import path

from . import views

urlpatterns = [
    path("", views.my_area, name="my_area"),
    path("<str:code>/", views.area_page, name="my_area_org"),
    path("<str:code>/<str:ta>/", views.area_ta_page, name="my_area_ta"),
]
