"""The portal on the tiny synthetic NHS's published scorecard (with maps from the real sub-ICB
boundaries when ../shared/data is present). Django's test client for pages and the API."""

from __future__ import annotations

import os

import pytest

@pytest.fixture(scope="session")
def portal_home(published_tiny, tmp_path_factory):
    """Point the portal's settings at the tiny publication, with maps if boundaries exist."""
    from conftest import SHARED_DATA

    boundaries = SHARED_DATA / "geo" / "sub_icb_locations_2022_buc.geojson"
    if boundaries.exists():
        from uptake.services.maps import publish_maps

        publish_maps(published_tiny, boundaries)
    os.environ["UPTAKE_PUBLISHED"] = str(published_tiny)
    os.environ.setdefault("UPTAKE_HOME", str(tmp_path_factory.mktemp("portal-home")))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uptake.web.settings")
    import django

    django.setup()
    from django.conf import settings

    assert settings.PUBLISHED == published_tiny
    return published_tiny


@pytest.fixture(scope="session")
def client(portal_db):
    from django.test import Client

    return Client()


@pytest.fixture(scope="session")
def pub(portal_home):
    from uptake.services.published import Published

    with Published(portal_home) as p:
        yield p


@pytest.fixture(scope="session")
def portal_db(portal_home):
    """The portal's own database (SQLite in the session's home), migrated once."""
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    return portal_home


@pytest.fixture
def db(portal_db):
    """Each test's changes to the portal's database are rolled back when it ends."""
    from django.db import transaction

    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture
def postgres_database(pg_database):
    """A new, empty PostgreSQL database for one test (dropped after it): its URL."""
    return pg_database()
