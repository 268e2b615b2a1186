"""The rules' plain parts: the data month for an as-of day, and when a TA is first seen."""

from __future__ import annotations

from datetime import date

import pytest

from uptake.alerts.rules import data_months, first_seen, window
from uptake.errors import UptakeError

MONTHS = [date(2022, m, 1) for m in (6, 7, 8, 9)]


@pytest.mark.parametrize("as_of,month,previous", [
    (date(2022, 9, 30), date(2022, 9, 1), date(2022, 8, 1)),
    (date(2022, 9, 1), date(2022, 9, 1), date(2022, 8, 1)),  # the month's first day counts
    (date(2022, 8, 31), date(2022, 8, 1), date(2022, 7, 1)),
    (date(2023, 1, 15), date(2022, 9, 1), date(2022, 8, 1)),  # nothing newer published
    (date(2022, 6, 20), date(2022, 6, 1), None),  # no month before: no uptake alerts
])
def test_the_data_month_is_the_latest_published_on_or_before_as_of(as_of, month, previous):
    assert data_months(MONTHS, as_of) == (month, previous)


def test_no_data_month_before_the_first():
    with pytest.raises(UptakeError, match="no published month on or before 2022-05-31; the first is 2022-06"):
        data_months(MONTHS, date(2022, 5, 31))


class _TA:
    def __init__(self, id, published):
        self.id, self.published = id, published


class _Catalogue:
    technology_appraisals = [_TA("TA1", date(2020, 1, 1)), _TA("TA2", date(2022, 9, 20)),
                             _TA("TA3", date(2022, 11, 2))]


def test_first_seen_is_the_publication_at_the_first_run_then_the_day_found():
    cat = _Catalogue()
    assert first_seen(cat, {}, date(2022, 10, 1)) == {
        "TA1": date(2020, 1, 1), "TA2": date(2022, 9, 20), "TA3": date(2022, 11, 2)}
    known = {"TA1": date(2020, 1, 1)}
    # found later: the run's day, or its publication if NICE has not published it yet
    assert first_seen(cat, known, date(2022, 10, 1)) == {
        "TA1": date(2020, 1, 1), "TA2": date(2022, 10, 1), "TA3": date(2022, 11, 2)}
    assert window(date(2022, 10, 31)) == (date(2022, 10, 1), date(2022, 10, 31))  # 31 days, both ends
