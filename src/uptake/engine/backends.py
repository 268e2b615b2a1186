"""The backend seam: one `Engine` over the warehouse, on DuckDB (embedded) or Apache Spark.

    from uptake.engine.backends import connect
    with connect(warehouse) as eng:                       # DuckDB, the default
        rx = eng.table("prescribing")
        eng.execute(rx.group_by("month").aggregate(items=rx.items.sum()))   # -> pyarrow.Table
    with connect(warehouse, "spark") as eng:              # Spark local[2], or spark_master= /
        ...                                               # $UPTAKE_SPARK_MASTER

Both engines offer the same tables (every dataset of `uptake.schemas.DATASETS`, empty when not
loaded) with the same column types, and `execute` returns Arrow tables with identical schemas
for identical expressions (the schema Ibis infers for the expression, with no metadata).

An engine is a snapshot: it reads the files that were current when it was opened (as
`Warehouse.connect()` does); open a new one after a load. Spark: one SparkContext per process
(`spark_session()`, reused; `stop_spark()` ends it), one child session per engine (its own
temporary views), datasets registered on first `table()`; ANSI SQL on (Spark 4's default), so
errors that DuckDB raises Spark raises too - and a few more (division by zero, below).

Backend differences
-------------------

Measured with Ibis 12, DuckDB 2.0 and Spark 4.0 (ANSI mode on, as Spark 4 defaults; session
time zone UTC) by running each expression on both engines. Anything not listed - group_by /
aggregate with sum, mean, count, nunique, std/var (sample and pop), exact `quantile` and `median`
of numbers (both interpolate linearly), joins (inner, left, semi, anti), unions, `row_number`,
`rank`, `dense_rank`, `percent_rank`, `cume_dist`, `ntile`, `lag`/`lead`, cumulative and
rows/range-framed window sums and means, `order_by` with nulls (Ibis writes NULLS LAST/FIRST
explicitly), `/` (always float), `//` (floor) and `%` (sign of the dividend) with non-zero
divisors, `try_cast`, date parts, `truncate` ("M", "Q", "Y", "W" = Monday), date ± interval
(month ends clamp alike: 31 Jan + 1 month = 28 Feb), `delta` in days or weeks, `epoch_days`,
`strftime` with %Y %m %d %b, string length/substr/like/re_search/re_replace/re_extract,
`ibis.cases`, `fill_null`, `isin`, `collect().sort()`, `group_concat` without order, and
`ibis.ifelse(den > 0, num / den, ibis.null("float64"))` (Spark does not evaluate the untaken
branch, so the guard prevents DIVIDE_BY_ZERO) - gives identical results. Spark's exact
`percentile` keeps each group's values in memory: fine per organisation, heavy for one group of
10^8 rows.

| Ibis expression | DuckDB | Spark | write instead (same on both) |
|---|---|---|---|
| `x / 0`, `x // 0`, `x % 0`, `x / x.sum().over(w)` when a group sums to 0 | float: ±inf or NaN; `//`, `%`: error | error DIVIDE_BY_ZERO, even for floats | `x / y.nullif(0)`: NULL on both |
| `f.cast("int64")` | rounds half to even (0.5 → 0, 1.5 → 2, 2.5 → 2) | truncates (1.5 → 1) | `f.floor().cast("int64")` or `f.round().cast("int64")` (`round` is half away from zero on both) |
| `f.round(2)` at a binary edge (1.005, 2.675) | rounds the double (1.005 → 1.0) | rounds its decimal text (1.005 → 1.01) | round only for display, after the comparison; compare with a tolerance |
| `f.cast("decimal(18,2)")` | same edge as `round` | same edge as `round` | keep measures float64; decimals only for money you sum exactly |
| `x.ln()`, `x.log10()`, `x.log(b)` of 0 / of a negative | -inf / NaN | NULL / NULL | `ibis.ifelse(x > 0, x.ln(), ibis.null())` |
| `f.isnull()` when f is NaN | false | true (Ibis compiles `IS NULL OR isnan`) | keep NaN out of data: `ibis.ifelse(f.isnan(), ibis.null(), f)`; `fill_null` leaves NaN on both |
| `f.isnan()` when f is NULL | NULL | false | test `isnull()` first |
| `d.delta(ref, unit="month")` (also "quarter", "year") | boundaries crossed: 29 Feb 2020 → 1 Jan 2022 = 23 | whole months elapsed: 22 | month index: `(d.year() * 12 + d.month()) - (ref.year() * 12 + ref.month())`; years: `d.year() - ref.year()` |
| `d1 - d2` (date minus date, an interval) | fails in Arrow conversion | fails in Arrow conversion | `d1.delta(d2, unit="day")` or `d1.epoch_days() - d2.epoch_days()` |
| `x.quantile(q)` of a date or string | percentile_disc (a value of the column) | error: percentile needs a number | `d.epoch_days().quantile(q)`, converted back in Python |
| `x.approx_quantile(q)`, `x.approx_median()` | t-digest, interpolated (a P90 of 2316.0 on the tiny synthetic EPD) | Greenwald-Khanna, a value of the column (2296.0; exact: 2296.0) | exact `quantile(q)` / `median()` |
| `x.approx_nunique()` | HyperLogLog | another HyperLogLog | `x.nunique()` |
| `x.first(order_by=...)`, `x.last(order_by=...)`, `x.collect(order_by=...)`, `x.group_concat(sep, order_by=...)` | supported | UnsupportedOperationError | `ibis.row_number().over(group_by=g, order_by=[k, tiebreak]) == 0` then filter; `x.collect().sort()` |
| `x.first()` / `x.last()` as window functions over a partition | NULLs count (last of a partition ending in NULL is NULL) | IGNORE NULLS | filter the NULLs out first, or `x.max()`/`x.min()` over the window |
| `x.mode()`, `x.kurtosis()`, `bit_and/or/xor`, `ibis.row_id()`, `timestamp bucket`, `StringToTime`, `typeof`, geospatial | supported | OperationNotDefinedError | mode: `group_by([g, x]).aggregate(n=_.count())` + row_number over `n` desc, `x` |
| ties: `argmax`/`argmin`, `arbitrary()`, `first()` without order, `distinct(on=..., keep="first")`, `row_number()` over non-unique keys | one row | another row | make the order total (add the key columns as tie-breakers) and keep `row_number() == 0` |
| `x.hash()` | 64-bit hash | 32-bit murmur3 | never store or compare hashes across engines |
| `f.cast("string")` | "nan", "1e+20" | "NaN", "1.0E20" | format numbers in Python (reports), not in the engine |
| `x.corr(y)` | only `how="pop"` | sample or pop | `x.corr(y, how="pop")` |
| `t.pivot_wider(names_from=...)` | columns in one order | columns in another order | pass `names=[...]`, or `select` the columns in a fixed order |
| column names differing only in case ("A", "a") | `memtable` renames one to "a_1" | case-insensitive: ambiguous | unique lower-case snake_case names |
| `re_search` etc. with look-around `(?=...)` or back-references `\\1` | error (RE2) | Java regex: works | the RE2 subset only |
| integer overflow (`i * 2**61`, a sum past 2**63) | error | error (ANSI) | - (same) |
| `s.cast("int64")` of a non-number | error | error (ANSI) | `s.try_cast("int64")`: NULL on both |
| mean of a decimal column | rounded to the column's scale | six more decimals | `execute` rounds Spark's to the Ibis type (half away from zero) |
| timestamps | naive | `timestamp[us, tz=UTC]` from Spark | `execute` returns Ibis's type (naive, UTC wall time) |
| `ibis.memtable(arrow)` | registered from Arrow | Ibis goes through pandas (a NULL decimal fails, NaN becomes NULL) | fixed here: this module's Spark backend registers from Arrow and collects with `toArrow()` |
| speed of one small query | ~10 ms | ~0.2-0.6 s (a Spark job per query) | one expression per result table, not a query per organisation |
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import UptakeError
from ..schemas import DATASETS
from ..warehouse import Warehouse

ENGINES = ("duckdb", "spark")
SPARK_MASTER_ENV = "UPTAKE_SPARK_MASTER"
DEFAULT_SPARK_MASTER = "local[2]"
LOCAL_SHUFFLE_PARTITIONS = 4
MIN_JAVA = 17
SPARK_EXTRA = "install the [spark] extra: pip install 'uptake[spark]'"

_session_lock = threading.Lock()
_log_config: Path | None = None


# --- the engine ------------------------------------------------------------------------------


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
        table = _plain_arrow(data if isinstance(data, pa.Table) else pa.table(data))
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


def _plain_arrow(table: pa.Table) -> pa.Table:
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


def connect(
    warehouse: Warehouse | str | Path,
    engine: str = "duckdb",
    *,
    spark_master: str | None = None,
    spark_conf: dict[str, str] | None = None,
) -> Engine:
    """An `Engine` over `warehouse` on `engine` ("duckdb" or "spark").

    Spark runs on `spark_master`, else `$UPTAKE_SPARK_MASTER`, else `local[2]`; it reads each
    dataset's current Parquet files directly (on a cluster they must be on a file system every
    executor sees). One SparkContext serves the whole process; each engine gets its own child
    session, so two engines over two warehouses never see each other's tables."""
    wh = warehouse if isinstance(warehouse, Warehouse) else Warehouse(warehouse)
    engine = engine.lower()
    if engine == "duckdb":
        state = wh.state()
        con = wh.connect()
        # the files the views read, when no load committed in between (then: unknown)
        files = {name: wh.files(name, state) for name in DATASETS} if wh.state() == state else None
        return Engine("duckdb", ibis.duckdb.from_connection(con), wh, files=files)
    if engine == "spark":
        return _connect_spark(wh, spark_master, spark_conf or {})
    raise UptakeError(f"unknown engine {engine!r}; expected one of: {', '.join(ENGINES)}")


# --- Spark -----------------------------------------------------------------------------------


def _connect_spark(wh: Warehouse, master: str | None, conf: dict[str, str]) -> Engine:
    root = spark_session(master, conf)
    session = root.newSession()  # own temporary views and SQL settings, shared SparkContext
    for key, value in _sql_conf(root.sparkContext.master).items():
        session.conf.set(key, value)
    backend = _spark_backend_class()().connect(session)
    state = wh.state()  # the files current now: the engine is a snapshot, like Warehouse.connect()
    files = {name: wh.files(name, state) for name in DATASETS}

    def register(name: str) -> None:
        ds = DATASETS[name]
        if files[name]:
            # the canonical schema, given rather than inferred: no footer reads, same types always
            df = session.read.schema(_spark_schema(ds.schema)).parquet(*(_hadoop_path(f) for f in files[name]))
        else:
            df = session.createDataFrame(ds.schema.empty_table())
        df.createOrReplaceTempView(name)

    return Engine("spark", backend, wh, session=session, register=register, files=files)


def _sql_conf(master: str) -> dict[str, str]:
    conf = {
        "spark.sql.session.timeZone": "UTC",
        # toPandas()/Ibis `execute` through Arrow rather than row by row
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    if master.startswith("local"):
        conf["spark.sql.shuffle.partitions"] = str(LOCAL_SHUFFLE_PARTITIONS)
    return conf


def spark_session(master: str | None = None, conf: dict[str, str] | None = None):
    """The process's SparkSession (created on first use, then reused: start-up takes seconds).

    `conf` (extra Spark settings) applies only when the session starts. Raises `UptakeError` when
    pyspark is not installed, or Java 17+ is missing, or a session is already running on another
    master than the one asked for explicitly."""
    wanted = master or os.environ.get(SPARK_MASTER_ENV) or None
    _require_pyspark()
    from pyspark.sql import SparkSession

    with _session_lock:
        active = SparkSession.getActiveSession()
        if active is None:
            # a session created on another thread is not "active" here, but is still the default
            active = getattr(SparkSession, "_instantiatedSession", None)
        if active is not None:
            running = active.sparkContext.master
            if wanted and wanted != running:
                raise UptakeError(
                    f"a Spark session on {running!r} is already running in this process; cannot start "
                    f"another on {wanted!r} (one SparkContext per process): stop it first "
                    "(uptake.engine.backends.stop_spark())")
            return active
        url = wanted or DEFAULT_SPARK_MASTER
        if url.startswith("sc://"):
            raise UptakeError(f"spark master {url!r}: Spark Connect is not supported yet; use a "
                              "local[...] or spark://host:port master")
        _require_java()
        local = url.startswith("local")
        if local:
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no hostname/loopback warning
        settings = {
            "spark.app.name": "uptake",
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            **_sql_conf(url),
        }
        if local:
            settings["spark.driver.host"] = "127.0.0.1"
            settings["spark.driver.bindAddress"] = "127.0.0.1"
        if "spark.driver.extraJavaOptions" not in (conf or {}):
            settings["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile={_quiet_log_config()}"
        settings.update(conf or {})
        builder = SparkSession.builder.master(url)
        for key, value in settings.items():
            builder = builder.config(key, value)
        try:
            session = builder.getOrCreate()
        except Exception as exc:  # noqa: BLE001 - the JVM failed to start: say so in one line
            raise UptakeError(f"Spark did not start on {url!r}: {str(exc).strip().splitlines()[0]}") from exc
        session.sparkContext.setLogLevel("ERROR")
        _quiet_python_loggers()
        return session


def _quiet_python_loggers() -> None:
    """PySpark 4 logs every failed query as a page of JSON on stderr before raising it; the
    exception says the same in one line, so the log is turned off."""
    try:
        from pyspark.logger import PySparkLogger
    except ImportError:
        return
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL + 1)


def stop_spark() -> None:
    """Stop the process's SparkContext (the next Spark engine starts a new one)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return
    with _session_lock:
        active = SparkSession.getActiveSession() or getattr(SparkSession, "_instantiatedSession", None)
        if active is not None:
            active.stop()


def _require_pyspark() -> None:
    try:
        import pyspark
    except ImportError:
        raise UptakeError(f"the Spark engine needs pyspark: {SPARK_EXTRA}") from None
    major = int(pyspark.__version__.split(".")[0])
    if major < 4:
        raise UptakeError(f"the Spark engine needs pyspark 4 or later (found {pyspark.__version__}): "
                          f"{SPARK_EXTRA} --upgrade")
    try:
        import ibis.backends.pyspark  # noqa: F401
    except ImportError as exc:
        raise UptakeError(f"the Spark engine needs Ibis's pyspark backend ({exc}): {SPARK_EXTRA}") from None


def java_executable() -> str | None:
    """The `java` Spark will launch: $JAVA_HOME/bin/java, else the first on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if candidate.is_file() else None
    return shutil.which("java")


def java_version(java: str) -> int | None:
    """The major version `java -version` reports (8 for "1.8.0_392", 17 for "17.0.15")."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def _require_java() -> None:
    how = ("install a JDK 17 or later (e.g. `apt-get install openjdk-17-jre-headless`, "
           "`brew install openjdk@17`) and put its java on PATH or set JAVA_HOME")
    java = java_executable()
    if java is None:
        where = f"JAVA_HOME={os.environ['JAVA_HOME']} has no bin/java" if os.environ.get("JAVA_HOME") \
            else "no java on PATH and JAVA_HOME is not set"
        raise UptakeError(f"Spark needs Java {MIN_JAVA}: {where}; {how}")
    version = java_version(java)
    if version is None:
        raise UptakeError(f"Spark needs Java {MIN_JAVA}: `{java} -version` did not run or say its version; {how}")
    if version < MIN_JAVA:
        raise UptakeError(f"Spark needs Java {MIN_JAVA}: {java} is Java {version}; {how}")


def _quiet_log_config() -> Path:
    """A log4j2 configuration that lets only errors through (Spark's default prints INFO/WARN
    lines at start-up and on every stage)."""
    global _log_config
    if _log_config is None or not _log_config.exists():
        fd, name = tempfile.mkstemp(prefix="uptake-log4j2-", suffix=".properties")
        with os.fdopen(fd, "w") as f:
            # A Python driver is an "interpreter" to Spark: at start-up Spark prints "Setting
            # default log level to WARN" and lowers the root logger to WARN, unless the logger
            # of its first logging class (org.apache.spark...) has a level of its own equal to
            # the root's. Hence the explicit `org` logger.
            f.write("rootLogger.level = error\n"
                    "rootLogger.appenderRef.stderr.ref = console\n"
                    "appender.console.type = Console\n"
                    "appender.console.name = console\n"
                    "appender.console.target = SYSTEM_ERR\n"
                    "appender.console.layout.type = PatternLayout\n"
                    "appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n%ex\n"
                    "logger.org.name = org\n"
                    "logger.org.level = error\n"
                    # a failed query raises in Python with Spark's message; the executor's
                    # and scheduler's copies of it, with stack traces, are noise
                    "logger.executor.name = org.apache.spark.executor.Executor\n"
                    "logger.executor.level = fatal\n"
                    "logger.tasks.name = org.apache.spark.scheduler.TaskSetManager\n"
                    "logger.tasks.level = fatal\n")
        _log_config = Path(name)
        atexit.register(_log_config.unlink, missing_ok=True)
    return _log_config


def _spark_schema(schema: pa.Schema):
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


_GLOB = re.compile(r"([\\*?\[\]{}])")


def _hadoop_path(path: Path) -> str:
    """A local file as Spark reads it: absolute, with the glob characters Hadoop would expand
    escaped, and with an explicit file: scheme so that a cluster's default file system (HDFS)
    is not assumed."""
    return "file://" + _GLOB.sub(r"\\\1", str(Path(path).resolve()))


_backend_class = None


def _spark_backend_class():
    """Ibis's pyspark backend with Arrow in and out: in-memory tables are registered from Arrow
    (Ibis goes through pandas, which fails on a null decimal) and results are collected with
    `DataFrame.toArrow()` (Ibis goes through pandas, which turns NaN into null)."""
    global _backend_class
    if _backend_class is not None:
        return _backend_class
    from ibis.backends.pyspark import Backend as PySparkBackend

    ibis.pyspark  # noqa: B018 - loading the backend through Ibis registers its options (compilers read them)

    class ArrowPySparkBackend(PySparkBackend):
        def _register_in_memory_table(self, op) -> None:
            data = _plain_arrow(op.data.to_pyarrow(op.schema))
            self._session.createDataFrame(data).createOrReplaceTempView(op.name)

        def to_pyarrow(self, expr, /, *, params=None, limit=None, **kwargs) -> pa.Table:
            if self.mode == "streaming":
                return super().to_pyarrow(expr, params=params, limit=limit, **kwargs)
            self._run_pre_execute_hooks(expr)
            table_expr = expr.as_table()
            sql = self.compile(table_expr, params=params, limit=limit, **kwargs)
            result = conform(self._session.sql(sql).toArrow(), table_expr.schema())
            return expr.__pyarrow_result__(result)

    _backend_class = ArrowPySparkBackend
    return _backend_class


def spark_unavailable() -> str | None:
    """Why the Spark engine cannot start here (pyspark or Java missing), or None if it can.
    Starts nothing."""
    try:
        _require_pyspark()
        from pyspark.sql import SparkSession

        if SparkSession.getActiveSession() is None:
            _require_java()
    except UptakeError as exc:
        return str(exc)
    return None


def ibis_backend(source: Any) -> ibis.BaseBackend:
    """The Ibis backend of an `Engine`, an Ibis backend as it is, or an Ibis DuckDB backend over
    a DuckDB connection (e.g. `Warehouse.connect()`)."""
    if isinstance(source, Engine):
        return source.backend
    if isinstance(source, ibis.BaseBackend):
        return source
    return ibis.duckdb.from_connection(source)
