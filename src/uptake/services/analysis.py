"""One open analysis: a warehouse on an engine, the catalogue, and the queries the scorecard
services share (prepared inputs, organisation names, the latest month)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa

from ..catalogue import Catalogue, load_catalogue
from ..catalogue.measures import Measure, load_measures
from ..engine import prepare as prep
from ..engine import scorecard as sc
from ..engine.hierarchy import ENGLAND, ENGLAND_CODE, LEVELS
from ..errors import UptakeError
from ..warehouse import Warehouse

MEMBERSHIP_VALID = "membership valid in each month"
MEMBERSHIP_CURRENT = "current membership (the latest month's) for every month"
ALL_LEVELS = (*LEVELS, ENGLAND)


def parse_month(text: str) -> date:
    try:
        year, month = text.split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise UptakeError(f"month {text!r}: expected YYYY-MM, e.g. 2022-09") from None


def check_level(level: str) -> str:
    if level not in ALL_LEVELS:
        raise UptakeError(f"level {level!r}: expected one of {', '.join(ALL_LEVELS)}")
    return level


@dataclass
class Analysis:
    """Opened with `open_analysis`; close it (or use it as a context manager) when done."""

    warehouse: Warehouse
    engine: object  # uptake.engine.backends.Engine
    catalogue: Catalogue
    measures: tuple[Measure, ...]
    datasets: tuple[str, ...]
    current_orgs: bool = False
    _names: dict[tuple[str, str], str] | None = field(default=None, repr=False)
    _months: list[date] | None = field(default=None, repr=False)

    def __enter__(self) -> Analysis:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.engine.close()

    @property
    def membership(self) -> str:
        return MEMBERSHIP_CURRENT if self.current_orgs else MEMBERSHIP_VALID

    @property
    def engine_name(self) -> str:
        return self.engine.name

    def months(self) -> list[date]:
        if self._months is None:
            self._months = prep.loaded_months(self.engine, self.datasets)
        return self._months

    def month(self, text: str | None) -> date:
        """The month asked for, or the latest with prescribing; refused when none is loaded."""
        months = self.months()
        if not months:
            raise UptakeError(f"{self.warehouse.root}: no prescribing loaded; run `uptake demo` or "
                              "`uptake ingest` an EPD file")
        if text is None:
            return months[-1]
        when = parse_month(text)
        if when not in months:
            raise UptakeError(f"no prescribing loaded for {when:%Y-%m}; loaded: {months[0]:%Y-%m} to "
                              f"{months[-1]:%Y-%m}")
        return when

    def inputs(self, months: list[date] | None = None, tas: list[str] | None = None,
               measures: tuple[Measure, ...] = ()) -> sc.Inputs:
        return prep.prepare(self.engine, self.datasets, self.catalogue, measures, months,
                            loaded=self.months(), tas=tas)

    def ta_table(self, tas: list[str], months: list[date], levels: tuple[str, ...]) -> pa.Table:
        """The scorecard rows (every column of engine.scorecard.with_metrics) for these TAs,
        months and levels (England always included)."""
        inp = self.inputs(months, tas)
        facts = sc.base_facts(inp)
        lv = sc.level_facts(facts, inp, tuple(x for x in levels if x != ENGLAND), current=self.current_orgs)
        return self.engine.execute(sc.with_metrics(lv, inp))

    def measure_table(self, measure_ids: list[str], months: list[date], levels: tuple[str, ...]) -> pa.Table:
        chosen = tuple(m for m in self.measures if m.id in measure_ids)
        inp = self.inputs(months, measures=chosen)
        facts = sc.measure_base_facts(inp)
        lv = sc.measure_level_facts(facts, inp, tuple(x for x in levels if x != ENGLAND), current=self.current_orgs)
        return self.engine.execute(lv)

    def names(self) -> dict[tuple[str, str], str]:
        """(type, code) → name, from every loaded organisation file (the first name found)."""
        if self._names is None:
            self._names = {("england", ENGLAND_CODE): "England"}
            if "organisations" in self.datasets:
                t = self.engine.table("organisations")
                got = self.engine.execute(t.filter(t.name.notnull()).select("type", "code", "name"))
                for typ, code, name in zip(got.column("type").to_pylist(), got.column("code").to_pylist(),
                                           got.column("name").to_pylist()):
                    self._names.setdefault((typ, code), name)
        return self._names

    def org_level(self, code: str) -> str:
        """The level of an organisation code, from the organisation files (the highest level when
        a code is used at several), or from the data itself."""
        code = code.strip().upper()
        if code == ENGLAND_CODE:
            return ENGLAND
        types = {t for (t, c) in self.names() if c == code}
        for level in reversed(LEVELS):
            if level in types:
                return level
        raise UptakeError(f"no organisation {code!r} in the loaded organisation files; load ODS files with "
                          "`uptake ingest` (e.g. epraccur, the practice mapping) or check the code")

    def find(self, key: str):
        """A TA or a measure by id."""
        for m in self.measures:
            if m.id == key:
                return m
        return self.catalogue.ta(key)


def open_analysis(warehouse: Warehouse, engine: str = "duckdb", *, current_orgs: bool = False,
                  spark_master: str | None = None) -> Analysis:
    from ..engine.backends import connect

    datasets = tuple(warehouse.status()["datasets"])
    eng = connect(warehouse, engine, spark_master=spark_master)
    return Analysis(warehouse=warehouse, engine=eng, catalogue=load_catalogue(), measures=load_measures(),
                    datasets=datasets, current_orgs=current_orgs)
