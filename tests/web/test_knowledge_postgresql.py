"""The knowledge portal's tests (tests/web/knowledge) again, on a real PostgreSQL database: its
full-text search (tsvector, GIN, ts_rank) instead of SQLite's FTS5, the version check of wiki
edits, the moderation flow and the authorisation matrix. They run in a child process (Django reads
its database settings once per process), and the two engines' search answers are compared item
for item."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_knowledge_tests_pass_on_postgresql_with_the_same_search_answers(postgres_database, portal_home,
                                                                               tmp_path, db):
    dump = tmp_path / "postgresql-answers.json"
    env = {**os.environ, "UPTAKE_DATABASE_URL": postgres_database, "UPTAKE_TEST_PUBLISHED": str(portal_home),
           "UPTAKE_PUBLISHED": str(portal_home), "UPTAKE_HOME": str(tmp_path / "home"),
           "UPTAKE_SEARCH_ANSWERS": str(dump)}
    done = subprocess.run([sys.executable, "-m", "pytest", "tests/web/knowledge", "-q", "-p", "no:cacheprovider",
                           "-W", "ignore::DeprecationWarning"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    tail = done.stdout[-3000:] + done.stderr[-2000:]
    assert done.returncode == 0, tail
    summary = done.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and "skipped" not in summary and "failed" not in summary, summary
    theirs = json.loads(dump.read_text())
    assert theirs["vendor"] == "postgresql"

    from knowledge_search_corpus import answers, load

    load()
    ours = answers()
    from django.db import connection

    assert connection.vendor == "sqlite"
    for query, got in ours.items():
        assert theirs["answers"][query] == got, f"{query!r}: SQLite {got} ≠ PostgreSQL {theirs['answers'][query]}"
