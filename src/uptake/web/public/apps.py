from django.apps import AppConfig


class PublicConfig(AppConfig):
    name = "uptake.web.public"
    label = "public"
    verbose_name = "for patients and the public: my area, and trials I could join"
