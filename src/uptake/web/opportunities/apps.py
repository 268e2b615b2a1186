from django.apps import AppConfig


class OpportunitiesConfig(AppConfig):
    name = "uptake.web.opportunities"
    label = "opportunities"
    verbose_name = "medicines optimisation opportunities: ICB choices"
