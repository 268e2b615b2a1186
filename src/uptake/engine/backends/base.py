"""The engine every backend gives: the warehouse's datasets as Ibis tables, results as Arrow
tables in the schema Ibis gives the expression (see the package's docstring for the seam)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from ...errors import UptakeError
from ...schemas import DATASETS
from ...warehouse import Warehouse

ENGINES = ("duckdb", "spark")


class Engine:
    """The warehouse's datasets as Ibis tables on one backend.

    `table(name)` for each dataset, `memtable(arrow)` for small tables made in Python (catalogue
    facts), `execute(expr)` to a `pyarrow.Table`; `backend` is the Ibis backend itself."""

    def __init__(self, name: str, backend: ibis.BaseBackend, warehouse: Warehouse, *, session: Any = None,
                 register: Callable[[str], None] | None = None, files: dict[str, list[Path]] | None = None):
        self.name = name
        self.backend = backend
        self.warehouse = warehouse
        self.session = session  # the SparkSession (this engine's own child session), or None
        self._register = register  # makes a dataset's view on first use (Spark)
        self._files = files  # each dataset's Parquet files in this snapshot (None: not known)
        self._tables: dict[str, ir.Table] = {}
        self._views: list[str] = []
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Engine {self.name} over {self.warehouse.root} ({state})>"

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def datasets(self) -> tuple[str, ...]:
        return tuple(DATASETS)

    def _check_open(self) -> None:
        if self._closed:
            raise UptakeError(f"the {self.name} engine over {self.warehouse.root} is closed")

    def table(self, name: str) -> ir.Table:
        """The dataset `name` (or a table registered with `memtable(..., name=)`)."""
        self._check_open()
        if name not in self._tables:
            if name not in DATASETS and name not in self._views:
                raise UptakeError(f"no dataset {name!r}; the datasets are: {', '.join(DATASETS)}")
            if self._register is not None and name in DATASETS:
                self._register(name)
            self._tables[name] = self.backend.table(name)
        return self._tables[name]

    def memtable(self, data: pa.Table | Any, name: str | None = None) -> ir.Table:
        """An Arrow table (or anything `pyarrow.table()` accepts) as a table of this engine.

        It is registered on the backend at once (on Spark as a temporary view made from Arrow,
        not through pandas), so it joins with the datasets, and lives until `close()`."""
        self._check_open()
        table = plain_arrow(data if isinstance(data, pa.Table) else pa.table(data))
        name = name or f"uptake_mem_{uuid.uuid4().hex[:12]}"
        if name in DATASETS:
            raise UptakeError(f"memtable name {name!r} is a dataset's name; choose another")
        if self.session is not None:
            self.session.createDataFrame(table).createOrReplaceTempView(name)
        else:
            self.backend.con.register(name, table)
        if name not in self._views:
            self._views.append(name)
        self._tables.pop(name, None)
        return self.table(name)

    def months(self, name: str) -> list[date] | None:
        """The distinct values of dataset `name`'s `month` column, sorted, read from its Parquet
        files' row-group statistics instead of the data (a DISTINCT over prescribing reads every
        row); None when the statistics cannot say: the files are not known, or a row group has
        no statistics, holds nulls or more than one month."""
        self._check_open()
        if self._files is None or name not in self._files or name not in DATASETS:
            return None
        schema = DATASETS[name].schema
        if "month" not in schema.names or schema.field("month").type != pa.date32():
            return None
        import pyarrow.parquet as pq

        found: set[date] = set()
        for path in self._files[name]:
            try:
                meta = pq.read_metadata(path)
            except (OSError, pa.ArrowException):
                return None
            names = [meta.schema.column(i).name for i in range(meta.num_columns)]
            if "month" not in names:
                return None
            col = names.index("month")
            for g in range(meta.num_row_groups):
                group = meta.row_group(g)
                if group.num_rows == 0:
                    continue
                stats = group.column(col).statistics
                if (stats is None or not stats.has_min_max or stats.null_count != 0
                        or stats.min != stats.max or not isinstance(stats.min, date)):
                    return None
                found.add(stats.min)
        return sorted(found)

    def execute(self, expr: ir.Expr) -> pa.Table:
        """Run `expr` and return its rows as a `pyarrow.Table` in the schema Ibis gives the
        expression (a column or scalar comes back as a one-column table)."""
        self._check_open()
        table_expr = expr.as_table()
        result = self.backend.to_pyarrow(table_expr)
        return conform(result, table_expr.schema())

    def close(self) -> None:
        """Release this engine: the DuckDB connection, or this engine's Spark temporary views.
        The process-wide SparkContext stays up for the next engine (see `stop_spark`)."""
        if self._closed:
            return
        self._closed = True
        self._tables.clear()
        if self.session is not None:
            for view in [*DATASETS, *self._views]:
                try:
                    self.session.catalog.dropTempView(view)
                except Exception:  # noqa: BLE001 - a dead JVM at exit: nothing left to release
                    pass
        else:
            try:
                self.backend.disconnect()
            except Exception:  # noqa: BLE001
                pass
        self._views.clear()


def conform(table: pa.Table, schema: ibis.Schema) -> pa.Table:
    """`table` in exactly the Arrow schema Ibis gives `schema` (names, types, nullability; no
    metadata). Spark returns timestamps as `timestamp[us, tz=UTC]`, sums of decimals with a
    narrower precision and means of decimals with a wider scale than Ibis's type; the wider
    scale is rounded half away from zero, as DuckDB does."""
    target = schema.to_pyarrow()
    if table.schema.equals(target) and not table.schema.metadata:
        return table
    columns = []
    for column, field in zip(table.columns, target):
        if (pa.types.is_decimal(field.type) and pa.types.is_decimal(column.type)
                and column.type.scale > field.type.scale):
            column = pc.round(column, ndigits=field.type.scale, round_mode="half_towards_infinity")
        columns.append(column.cast(field.type))
    return pa.Table.from_arrays(columns, schema=target)


def plain_arrow(table: pa.Table) -> pa.Table:
    """Large and dictionary-encoded columns as their plain types (what both engines take)."""
    fields = []
    for field in table.schema:
        typ = field.type
        if pa.types.is_dictionary(typ):
            typ = typ.value_type
        if pa.types.is_large_string(typ):
            typ = pa.string()
        elif pa.types.is_large_binary(typ):
            typ = pa.binary()
        fields.append(field.with_type(typ))
    schema = pa.schema(fields)
    return table if schema.equals(table.schema) else table.cast(schema)


def ibis_backend(source: Any) -> ibis.BaseBackend:
    """The Ibis backend of an `Engine`, an Ibis backend as it is, or an Ibis DuckDB backend over
    a DuckDB connection (e.g. `Warehouse.connect()`)."""
    if isinstance(source, Engine):
        return source.backend
    if isinstance(source, ibis.BaseBackend):
        return source
    return ibis.duckdb.from_connection(source)
