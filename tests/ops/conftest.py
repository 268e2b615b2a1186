"""Fixtures of the operations tests (helpers in ops/helpers.py): one instance on SQLite with the
tiny demo and some content, made once per session (new PostgreSQL databases: tests/conftest.py's
`pg_database`)."""

from __future__ import annotations

import pytest
from ops.helpers import Instance, make_source


@pytest.fixture(scope="session")
def sqlite_source(tmp_path_factory):
    """An instance on SQLite (the default), with the tiny demo and ADD_CONTENT's content."""
    inst = Instance(tmp_path_factory.mktemp("ops-sqlite") / "home")
    made = make_source(inst)
    return inst, made
