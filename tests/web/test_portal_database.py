"""The portal's own database in production: PostgreSQL from UPTAKE_DATABASE_URL (the test makes
and drops its own database), migrated, and reported by /healthz. Runs in a child process, since
Django's settings are read once per process."""

from __future__ import annotations

import json
import os
import subprocess
import sys


CHILD = """
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from django.db import connection
from django.test import Client
r = Client().get("/healthz")
with connection.cursor() as cur:
    cur.execute("SELECT count(*) FROM django_migrations")
    migrations = cur.fetchone()[0]
print(json.dumps({"status": r.status_code, "body": r.json(), "migrations": migrations}))
"""


def test_portal_runs_on_postgresql(postgres_database, published_tiny, tmp_path):
    env = {**os.environ, "UPTAKE_DATABASE_URL": postgres_database, "UPTAKE_PUBLISHED": str(published_tiny),
           "UPTAKE_HOME": str(tmp_path), "DJANGO_SETTINGS_MODULE": "uptake.web.settings"}
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["status"] == 200 and got["body"]["ok"] is True
    assert got["body"]["database"]["vendor"] == "postgresql"
    assert got["body"]["published"]["months"] == 18  # the tiny NHS: 2021-04 to 2022-09
    assert got["migrations"] > 10


def test_a_bad_database_url_is_refused_clearly(tmp_path):
    env = {**os.environ, "UPTAKE_DATABASE_URL": "mysql://x@y/z", "UPTAKE_HOME": str(tmp_path),
           "DJANGO_SETTINGS_MODULE": "uptake.web.settings"}
    done = subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0 and "UPTAKE_DATABASE_URL 'mysql://x@y/z': expected postgres://" in done.stderr
