"""The months a synthetic NHS covers."""

from __future__ import annotations

import calendar as _cal
import datetime as dt
import re
from dataclasses import dataclass

MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def parse_month(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{4})-?(\d{2})", text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"bad month {text!r}; expected YYYY-MM such as 2019-04")
    return int(m.group(1)), int(m.group(2))


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @property
    def serial(self) -> int:
        """Months since year 0: a stable number for seeding and arithmetic."""
        return self.year * 12 + self.month - 1

    @property
    def first(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last(self) -> dt.date:
        return dt.date(self.year, self.month, _cal.monthrange(self.year, self.month)[1])

    @property
    def days(self) -> int:
        return _cal.monthrange(self.year, self.month)[1]

    @property
    def yyyymm(self) -> str:
        return f"{self.year}{self.month:02d}"

    @property
    def iso(self) -> str:
        return f"{self.year}-{self.month:02d}"

    @property
    def extract_date(self) -> str:
        """NHS Digital's EXTRACT_DATE, e.g. 01-Oct-2022."""
        return f"01-{MONTH_ABBR[self.month - 1]}-{self.year}"

    @property
    def financial_year(self) -> int:
        """The calendar year in which this month's financial year starts (April)."""
        return self.year if self.month >= 4 else self.year - 1


def months_between(start: str, end: str) -> list[Month]:
    y0, m0 = parse_month(start)
    y1, m1 = parse_month(end)
    a, b = y0 * 12 + m0 - 1, y1 * 12 + m1 - 1
    if b < a:
        raise ValueError(f"end {end} is before start {start}")
    return [Month(s // 12, s % 12 + 1) for s in range(a, b + 1)]


def months_since(date: dt.date, month: Month) -> float:
    """Months from `date` to the middle of `month` (negative before it)."""
    mid = month.first + dt.timedelta(days=month.days / 2)
    return (mid - date).days / 30.4375


def yyyymmdd(date: dt.date | None) -> str:
    return "" if date is None else date.strftime("%Y%m%d")
