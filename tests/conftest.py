"""Fixtures for the whole suite, and the rule that under UPTAKE_REQUIRE_ALL=1 a skip is a failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REQUIRE_ALL = os.environ.get("UPTAKE_REQUIRE_ALL") == "1"
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
