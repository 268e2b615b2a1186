"""Fixtures of the operations tests (helpers in ops/helpers.py): new PostgreSQL databases, and
one instance on SQLite with the tiny demo and some content, made once per session."""

from __future__ import annotations

import os
import uuid

import pytest
from ops.helpers import Instance, make_source

PG = os.environ.get("UPTAKE_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432")


@pytest.fixture
def pg_database():
    """A function making new, empty PostgreSQL databases (dropped after the test): their URLs."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(f"{PG}/postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG} ({exc}); set UPTAKE_TEST_POSTGRES")
    made = []

    def make() -> str:
        name = f"uptake_ops_{uuid.uuid4().hex[:10]}"
        admin.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return f"{PG}/{name}"

    try:
        yield make
    finally:
        for name in made:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def sqlite_source(tmp_path_factory):
    """An instance on SQLite (the default), with the tiny demo and ADD_CONTENT's content."""
    inst = Instance(tmp_path_factory.mktemp("ops-sqlite") / "home")
    made = make_source(inst)
    return inst, made
