from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "uptake.web.compliance"
    label = "compliance"
    verbose_name = "NICE compliance: formulary decisions"
