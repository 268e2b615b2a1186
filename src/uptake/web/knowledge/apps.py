from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "uptake.web.knowledge"
    label = "knowledge"
    verbose_name = "implementation knowledge"
