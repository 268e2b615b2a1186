from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "uptake.web.alerts"
    label = "alerts"
    verbose_name = "E-mail alerts"
