"""The full-text index over SearchDocument: FTS5 with triggers on SQLite, a generated weighted
tsvector column with a GIN index on PostgreSQL (knowledge.search)."""

from django.db import migrations


def create(apps, schema_editor):
    from uptake.web.knowledge.search import create_schema

    create_schema(schema_editor)


def drop(apps, schema_editor):
    from uptake.web.knowledge.search import drop_schema

    drop_schema(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
