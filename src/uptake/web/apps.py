from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "uptake.web"
    label = "portal"
    verbose_name = "uptake portal"
