"""The embedded engine: DuckDB over the warehouse's current Parquet files."""

from __future__ import annotations

import ibis

from ...schemas import DATASETS
from ...warehouse import Warehouse
from .base import Engine


def connect_duckdb(wh: Warehouse) -> Engine:
    """A DuckDB engine over the files current now (a snapshot, like `Warehouse.connect()`)."""
    state = wh.state()
    con = wh.connect()
    # the files the views read, when no load committed in between (then: unknown)
    files = {name: wh.files(name, state) for name in DATASETS} if wh.state() == state else None
    return Engine("duckdb", ibis.duckdb.from_connection(con), wh, files=files)
