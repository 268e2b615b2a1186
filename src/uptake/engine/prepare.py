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
from .hierarchy import successor_chains
from .scorecard import Inputs

USED = ("prescribing", "prescribing_org", "scmd", "org_relations", "org_successions", "list_sizes",
        "qof_registers")
ORG_DATASETS = ("prescribing", "prescribing_org")  # the datasets whose months are the scorecard's


def _primary(ta) -> list:
    return [x for p in ta.products if p.setting in ("primary", "both") for x in p.presentations]


def in_primary_care(ta) -> bool:
    """Whether any of the TA's products has primary-care presentations (BNF codes)."""
    return bool(_primary(ta))


def _secondary_days(ta) -> bool:
    """Whether hospital issues (SCMD) of the TA can be turned into days of treatment: a product with
    VMP codes whose presentations agree on units per day (engine.inputs.vmp_codes_table)."""
    return any(p.setting in ("secondary", "both") and p.dmd_vmps and inputs.vmp_units_per_day(p)
               for p in ta.products)


def headline(ta) -> str:
    """The figure a TA is ranked on: the uptake index where the catalogue has a sourced eligible
    fraction and expected share; else patients per 1,000 registered where a daily dose turns
    quantities (dispensed in primary care or issued by hospitals) into patients; else items per
    1,000 registered for a TA prescribed in primary care; 'none' for a TA with neither."""
    pop, share = ta.eligible_population, ta.expected_uptake
    primary = _primary(ta)
    days = any(x.units_per_day for x in primary) or _secondary_days(ta)
    if not primary and not days:
        return "none"  # nothing countable: neither presentations nor VMPs with a daily dose
    if (primary or days) and pop is not None and pop.fraction is not None and share is not None \
            and share.share is not None:
        return "index"
    if days:
        return "per_1000"
    return "items_per_1000"


def population_with_headline(cat: Catalogue) -> pa.Table:
    table = inputs.population_table(cat)
    by_id = {ta.id: ta for ta in cat.technology_appraisals}
    ids = table.column("ta").to_pylist()
    table = table.append_column("headline", pa.array([headline(by_id[t]) for t in ids], pa.string()))
    return table.append_column("in_primary", pa.array([in_primary_care(by_id[t]) for t in ids], pa.bool_()))


def loaded_months(engine, datasets: Iterable[str]) -> list[date]:
    """Every month with prescribing, practice- or org-level: from the Parquet files' statistics
    when the engine can read them (`Engine.months`), else by a DISTINCT over the month column."""
    months: set[date] = set()
    for name in ORG_DATASETS:
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
    vmps = inputs.vmp_codes_table(cat)
    if tas is not None:
        wanted = list(tas)
        codes, population, vmps = only(codes, "ta", wanted), only(population, "ta", wanted), only(vmps, "ta", wanted)
    scmd_months: list[date] = []
    if "scmd" in have:
        known = engine.months("scmd") if hasattr(engine, "months") else None
        if known is None:
            known = engine.execute(engine.table("scmd").select("month").distinct()).column("month").to_pylist()
        scmd_months = sorted(set(known) & set(chosen))

    successions = None
    if "org_successions" in have:
        successions = engine.memtable(successor_chains(engine.execute(engine.table("org_successions"))))
    counted, left_out = inputs.measure_code_lengths(measures)
    return Inputs(
        prescribing=table("prescribing"),
        prescribing_org=table("prescribing_org"),
        scmd=table("scmd") if scmd_months else None,
        vmp_codes=engine.memtable(vmps),
        scmd_months=engine.memtable(pa.table({"month": pa.array(scmd_months, pa.date32())})),
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
        successions=successions,
    )


def only(table: pa.Table, column: str, values: Iterable) -> pa.Table:
    """Rows of an Arrow table whose column is one of `values`."""
    return table.filter(pc.is_in(table.column(column), pa.array(list(values), table.schema.field(column).type)))
