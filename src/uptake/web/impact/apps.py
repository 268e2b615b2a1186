from django.apps import AppConfig


class ImpactConfig(AppConfig):
    name = "uptake.web.impact"
    label = "impact"
    verbose_name = "peers and impact"
