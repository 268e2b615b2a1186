"""The send log and subscriptions in the Django admin (administrators): read, search, and remove a
subscription; digests and deliveries are a record, not edited by hand."""

from django.contrib import admin

from .models import Delivery, Digest, KnownTA, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "target", "created_at")
    list_filter = ("kind",)
    search_fields = ("user__email", "target")
    readonly_fields = ("token", "created_at")


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Digest)
class DigestAdmin(ReadOnly):
    list_display = ("email", "as_of", "status", "attempts", "created_at", "sent_at", "message_id")
    list_filter = ("status", "as_of")
    search_fields = ("email", "message_id", "error")


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly):
    list_display = ("user", "key", "digest", "delivered_at")
    search_fields = ("user__email", "key")


@admin.register(KnownTA)
class KnownTAAdmin(admin.ModelAdmin):
    list_display = ("ta", "first_seen")
    search_fields = ("ta",)
