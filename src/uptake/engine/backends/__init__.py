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
`Warehouse.connect()` does); open a new one after a load. Spark (`spark.py`): one SparkContext per process
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

from pathlib import Path

from ...errors import UptakeError
from ...warehouse import Warehouse
from .base import ENGINES, Engine, conform, ibis_backend
from .duckdb import connect_duckdb
from .spark import (
    DEFAULT_SPARK_MASTER,
    SPARK_MASTER_ENV,
    connect_spark,
    java_executable,
    java_version,
    spark_session,
    spark_unavailable,
    stop_spark,
)

__all__ = ["DEFAULT_SPARK_MASTER", "ENGINES", "SPARK_MASTER_ENV", "Engine", "conform", "connect", "ibis_backend",
           "java_executable", "java_version", "spark_session", "spark_unavailable", "stop_spark"]


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
        return connect_duckdb(wh)
    if engine == "spark":
        return connect_spark(wh, spark_master, spark_conf or {})
    raise UptakeError(f"unknown engine {engine!r}; expected one of: {', '.join(ENGINES)}")
