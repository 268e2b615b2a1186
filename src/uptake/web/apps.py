from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


def _renew_stamp(sender, **kwargs) -> None:
    from .models import CONTENT_APPS, ContentStamp

    if sender._meta.app_label in CONTENT_APPS and not kwargs.get("raw"):
        ContentStamp.renew()


class PortalConfig(AppConfig):
    name = "uptake.web"
    label = "portal"
    verbose_name = "uptake portal"

    def ready(self) -> None:
        post_save.connect(_renew_stamp, dispatch_uid="uptake-content-stamp-save")
        post_delete.connect(_renew_stamp, dispatch_uid="uptake-content-stamp-delete")
