"""Periods as written on the command line, and publication pages' periods as NHS England names them."""

from __future__ import annotations

import pytest

from uptake.errors import UptakeError
from uptake.sources.fetch.plan import _period_of, parse_periods
from uptake.sources.fetch.publishers import _month_slug, _year_slug


def test_months_ranges_and_lists():
    assert parse_periods("2023-11..2024-02", "month") == ["2023-11", "2023-12", "2024-01", "2024-02"]
    assert parse_periods("202401, 2024-03,2024-01", "month") == ["2024-01", "2024-03"]
    assert parse_periods("2023-24", "year") == ["2023-24"]
    assert parse_periods("2021-22..2023-2024", "year") == ["2021-22", "2022-23", "2023-24"]


@pytest.mark.parametrize("text, kind, message", [
    ("2024-13", "month", "'2024-13' is not a month; expected YYYY-MM"),
    ("2024-03..2024-01", "month", "the range runs backwards"),
    ("2023-25", "year", "'2023-25' is not a financial year; expected YYYY-YY"),
    (",", "month", "no months"),
])
def test_bad_periods_are_refused_clearly(text, kind, message):
    with pytest.raises(UptakeError, match=message):
        parse_periods(text, kind)


def test_since_a_month_is_the_financial_year_holding_it():
    assert _period_of("2017-03", "year") == "2016-17"
    assert _period_of("2017-04", "year") == "2017-18"
    assert _period_of("2017-09", "month") == "2017-09"


def test_publication_slugs():
    assert _month_slug("january-2024") == "2024-01" and _month_slug("sept-2023") == "2023-09"
    assert _month_slug("upcoming") is None and _month_slug("smarch-2024") is None
    assert _year_slug("2023-24") == "2023-24" and _year_slug("2023-25") is None and _year_slug("2018-19-pas") is None
