from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "uptake.web.accounts"
    label = "accounts"
    verbose_name = "accounts and roles"
