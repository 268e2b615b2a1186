"""Gathers the engine's inputs from a warehouse on any backend: the loaded tables, and the
catalogue's facts as tables on the same backend."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from ..catalogue import Catalogue
from ..catalogue.measures import Measure
from . import inputs
from .scorecard import Inputs

USED = ("prescribing", "prescribing_org", "org_relations", "list_sizes", "qof_registers")


def headline(ta) -> str:
    """The figure a TA is ranked on: the uptake index where the catalogue has a sourced eligible
    fraction and expected share; else patients per 1,000 registered where a daily dose turns
    quantities into patients; else items per 1,000 registered; 'none' for a TA with no
    primary-care presentations."""
    pop, share = ta.eligible_population, ta.expected_uptake
    has_primary = any(x for p in ta.products if p.setting in ("primary", "both") for x in p.presentations)
    if has_primary and pop is not None and pop.fraction is not None and share is not None and share.share is not None:
        return "index"
    primary = [x for p in ta.products if p.setting in ("primary", "both") for x in p.presentations]
    if not primary:
        return "none"  # hospital-only: primary-care prescribing says nothing about its uptake
    if any(x.units_per_day for x in primary):
        return "per_1000"
    return "items_per_1000"


def population_with_headline(cat: Catalogue) -> pa.Table:
    table = inputs.population_table(cat)
    heads = {ta.id: headline(ta) for ta in cat.technology_appraisals}
    return table.append_column("headline", pa.array([heads[t] for t in table.column("ta").to_pylist()], pa.string()))


def loaded_months(engine, datasets: Iterable[str]) -> list[date]:
    """Every month with prescribing, practice- or org-level: from the Parquet files' statistics
    when the engine can read them (`Engine.months`), else by a DISTINCT over the month column."""
    months: set[date] = set()
    for name in ("prescribing", "prescribing_org"):
        if name in datasets:
            known = engine.months(name) if hasattr(engine, "months") else None
            if known is None:
                t = engine.table(name)
                known = engine.execute(t.select("month").distinct()).column("month").to_pylist()
            months.update(known)
    return sorted(months)


def prepare(engine, datasets: Sequence[str], cat: Catalogue, measures: Sequence[Measure] = (),
            months: Sequence[date] | None = None, *, loaded: Sequence[date] | None = None,
            tas: Iterable[str] | None = None) -> Inputs:
    """The Inputs for `months` (default: every month with prescribing), for the TAs `tas`
    (default: all). `engine` offers table(name), memtable(arrow) and execute(expr) on one
    backend; `datasets` are those loaded; `loaded` the months with prescribing, when the caller
    already knows them (finding them scans prescribing)."""
    have = set(datasets)
    loaded = list(loaded) if loaded is not None else loaded_months(engine, have)
    chosen = sorted(months) if months is not None else loaded
    years: list[str] = []
    if "qof_registers" in have:
        years = engine.execute(engine.table("qof_registers").select("year").distinct()).column("year").to_pylist()
    bands: list[tuple[str, str]] = []
    if "list_sizes" in have:
        ls = engine.table("list_sizes")
        got = engine.execute(ls.select("sex", "age_band").distinct())
        bands = list(zip(got.column("sex").to_pylist(), got.column("age_band").to_pylist()))

    def table(name: str):
        return engine.table(name) if name in have else None

    codes, population = inputs.codes_table(cat), population_with_headline(cat)
    if tas is not None:
        wanted = list(tas)
        codes, population = only(codes, "ta", wanted), only(population, "ta", wanted)

    counted, left_out = inputs.measure_code_lengths(measures)
    return Inputs(
        prescribing=table("prescribing"),
        prescribing_org=table("prescribing_org"),
        relations=table("org_relations"),
        list_sizes=table("list_sizes"),
        registers=table("qof_registers"),
        codes=engine.memtable(codes),
        population=engine.memtable(population),
        bands=engine.memtable(inputs.bands_table(cat, bands)),
        months=engine.memtable(inputs.months_table(chosen, years)),
        measure_codes=engine.memtable(inputs.measure_codes_table(measures)) if measures else None,
        measure_info=engine.memtable(inputs.measure_info_table(measures)) if measures else None,
        measure_lengths=counted,
        measure_exclude_lengths=left_out,
        latest=engine.memtable(pa.table({"month": pa.array(loaded[-1:], pa.date32())})),
    )


def only(table: pa.Table, column: str, values: Iterable) -> pa.Table:
    """Rows of an Arrow table whose column is one of `values`."""
    return table.filter(pc.is_in(table.column(column), pa.array(list(values), table.schema.field(column).type)))
