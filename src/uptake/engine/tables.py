"""Catalogue facts as tables the engine can join, and the backend connection."""

from __future__ import annotations

import ibis
import pyarrow as pa

from ..catalogue import Catalogue


def presentations_table(cat: Catalogue) -> pa.Table:
    """One row per catalogue presentation: the TA it belongs to and how many dispensed units
    make one day of treatment."""
    rows = [
        {"ta": ta.id, "product": p.name, "bnf_code": x.bnf_code, "units_per_day": float(x.units_per_day)}
        for ta in cat.technology_appraisals
        for p in ta.products
        if p.setting in ("primary", "both")
        for x in p.presentations
        if x.units_per_day
    ]
    schema = pa.schema([("ta", pa.string()), ("product", pa.string()), ("bnf_code", pa.string()),
                        ("units_per_day", pa.float64())])
    return pa.Table.from_pylist(rows, schema=schema)


def eligibility_table(cat: Catalogue) -> pa.Table:
    """One row per TA: the population it applies to and NICE's expected share of it."""
    rows = []
    for ta in cat.technology_appraisals:
        pop, share = ta.eligible_population, ta.expected_uptake
        # A TA without a sourced eligible fraction or expected share has no expected use: it is
        # shown with its observed use only, never with an invented denominator.
        if pop is None or share is None or pop.fraction is None or share.share is None or not pop.register:
            continue
        rows.append({"ta": ta.id, "register": pop.register, "fraction": float(pop.fraction),
                     "share": float(share.share)})
    schema = pa.schema([("ta", pa.string()), ("register", pa.string()), ("fraction", pa.float64()),
                        ("share", pa.float64())])
    return pa.Table.from_pylist(rows, schema=schema)


def backend(con) -> ibis.BaseBackend:
    """An Ibis backend over a DuckDB connection holding the warehouse views (or the backend of
    an `uptake.engine.backends.Engine`, on DuckDB or Spark)."""
    from .backends import ibis_backend

    return ibis_backend(con)
