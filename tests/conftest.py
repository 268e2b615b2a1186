"""Fixtures for the whole suite, and the rule that under UPTAKE_REQUIRE_ALL=1 a skip is a failure."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from uptake.sources.synthetic import generate
from uptake.warehouse import Warehouse

REQUIRE_ALL = os.environ.get("UPTAKE_REQUIRE_ALL") == "1"
PG = os.environ.get("UPTAKE_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432")
SHARED_DATA = Path(os.environ.get("UPTAKE_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real NHS open data in ../shared/data (see its SOURCES.md); skipped when absent."""
    if not (SHARED_DATA / "SOURCES.md").exists():
        pytest.skip(f"real NHS data not found at {SHARED_DATA} (set UPTAKE_SHARED_DATA to ../shared/data)")
    return SHARED_DATA


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_ALL and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped, but UPTAKE_REQUIRE_ALL=1 requires every test to run: {reason}"


TINY_START, TINY_END = "2021-04", "2022-09"


@pytest.fixture(scope="session")
def tiny_warehouse(tmp_path_factory) -> Warehouse:
    root = tmp_path_factory.mktemp("tiny-nhs")
    generated = generate(root / "files", scale="tiny", seed=11, start=TINY_START, end=TINY_END)
    wh = Warehouse(root / "warehouse")
    for path in generated.files:
        wh.load(path)
    return wh


@pytest.fixture(scope="session")
def duck(tiny_warehouse):
    from uptake.engine.backends import connect

    with connect(tiny_warehouse) as eng:
        yield eng


@pytest.fixture(scope="session")
def published_tiny(request, tmp_path_factory):
    """The tiny warehouse's complete scorecard published (what the portal reads): the path. A child
    test process (e.g. the knowledge tests re-run on PostgreSQL) reuses its parent's through
    UPTAKE_TEST_PUBLISHED instead of building it again."""
    reuse = os.environ.get("UPTAKE_TEST_PUBLISHED")
    if reuse and Path(reuse).exists():
        return Path(reuse)
    from uptake.services.analysis import open_analysis
    from uptake.services.publish import publish

    path = tmp_path_factory.mktemp("published") / "scorecard.duckdb"
    with open_analysis(request.getfixturevalue("tiny_warehouse")) as an:
        publish(an, path)
    return path


@pytest.fixture(scope="session")
def pub(published_tiny):
    """The tiny publication, open as the portal reads it (tests/web has its own, with maps)."""
    from uptake.services.published import Published

    with Published(published_tiny) as p:
        yield p


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
        name = f"uptake_test_{uuid.uuid4().hex[:10]}"
        admin.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return f"{PG}/{name}"

    try:
        yield make
    finally:
        for name in made:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


# The public view's data (issue 19): the tiny NHS's practices (its epraccur), the real postcode
# lookup for 9 postcode areas and the real recorded trials, in a warehouse of their own so that
# the tiny warehouse the other tests share is left as it is.
PUBLIC_TRIAL_FILES = ("ctgov_download_128studies_digital_therapeutics.json.gz", "ctgov_download_50studies_2023-06.json.gz",
                      "ctgov_download_10studies_2023-06.json.gz", "isrctn_9trials_ctrdata_json.json")


@pytest.fixture(scope="session")
def public_warehouse(tiny_warehouse, shared_data, tmp_path_factory) -> Warehouse:
    wh = Warehouse(tmp_path_factory.mktemp("public") / "warehouse")
    wh.load(tiny_warehouse.root.parent / "files" / "ods" / "epraccur.csv")
    for path in sorted((shared_data / "geo" / "nspl_nov2021_9_postcode_areas").glob("NSPL_*.csv.gz")):
        wh.load(path)
    for name in PUBLIC_TRIAL_FILES:
        wh.load(shared_data / "trials" / name)
    return wh
