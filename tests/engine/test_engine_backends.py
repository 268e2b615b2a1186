"""The backend seam: the same Ibis expressions give the same Arrow tables on DuckDB and on Spark
(local mode), and the differences documented in `uptake.engine.backends` are still the real ones.

The Spark tests share one SparkSession (session-scoped fixtures): starting it takes seconds."""

from __future__ import annotations

import datetime as dt
import math
import stat
import sys
from decimal import Decimal
from pathlib import Path

import ibis
import pyarrow as pa
import pytest
from ibis import _

from uptake.catalogue import load_catalogue
from uptake.engine import backends, inputs
from uptake.engine.backends import connect
from uptake.engine.backends import spark as spark_backend
from uptake.errors import UptakeError
from uptake.schemas import DATASETS
from uptake.sources.synthetic import generate
from uptake.warehouse import Warehouse

from epd_files import good_epd_rows, write_epd

MONTH = dt.date(2022, 9, 1)


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory) -> Warehouse:
    """A tiny synthetic NHS (organisations, list sizes, QOF, EPD, SCMD) for three months."""
    root = tmp_path_factory.mktemp("engine_backends")
    files = generate(root / "files", scale="tiny", seed=11, start="2022-07", end="2022-09").files
    wh = Warehouse(root / "wh")
    for f in files:
        wh.load(f)
    return wh


@pytest.fixture(scope="session")
def duck(warehouse):
    with connect(warehouse) as eng:
        yield eng


@pytest.fixture(scope="session")
def spark(warehouse):
    reason = backends.spark_unavailable()
    if reason:
        pytest.skip(f"Spark engine unavailable: {reason}")
    with connect(warehouse, "spark") as eng:
        yield eng


@pytest.fixture(scope="session")
def catalogue():
    return load_catalogue()


# --- helpers ---------------------------------------------------------------------------------


def _sort_key(row: dict) -> tuple:
    key = []
    for v in row.values():
        if v is None:
            key.append((1, ""))
        elif isinstance(v, float) and math.isnan(v):
            key.append((2, ""))
        else:
            key.append((0, v))
    return tuple(key)


def _close(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    return a == b


def assert_same(left: pa.Table, right: pa.Table, ordered: bool = False) -> None:
    """Equal Arrow schemas (metadata included), equal rows (sorted unless `ordered`), floats equal
    within a relative 1e-9."""
    assert left.schema.equals(right.schema, check_metadata=True), f"{left.schema}\n!=\n{right.schema}"
    a, b = left.to_pylist(), right.to_pylist()
    if not ordered:
        a, b = sorted(a, key=_sort_key), sorted(b, key=_sort_key)
    assert len(a) == len(b), f"{len(a)} rows != {len(b)} rows"
    for i, (x, y) in enumerate(zip(a, b)):
        bad = {k: (x[k], y[k]) for k in x if not _close(x[k], y[k])}
        assert not bad, f"row {i}: {bad}"


def on_both(duck, spark, build, ordered: bool = False) -> pa.Table:
    """Build the expression on each engine's tables, run it on both, check they agree."""
    left, right = duck.execute(build(duck)), spark.execute(build(spark))
    assert_same(left, right, ordered)
    return left


# --- the DuckDB engine (no Spark needed) -----------------------------------------------------


def test_duckdb_engine_offers_every_dataset_in_its_canonical_types(warehouse, duck):
    assert duck.name == "duckdb" and set(duck.datasets) == set(DATASETS)
    for name, ds in DATASETS.items():
        got = duck.table(name).schema().to_pyarrow()
        assert [(f.name, f.type) for f in got] == [(f.name, f.type) for f in ds.schema], name
    result = duck.execute(duck.table("prescribing").limit(3))
    assert result.schema.field("month").type == pa.date32()
    assert result.schema.field("items").type == pa.int64()
    # an empty (never loaded) dataset is a table with no rows, not an error
    assert duck.execute(duck.table("dmd_ddd").count()).column(0).to_pylist() == [0]


def test_execute_returns_a_table_for_columns_and_scalars(duck):
    rx = duck.table("prescribing")
    total = duck.execute(rx.items.sum().name("items"))
    assert total.schema == pa.schema([("items", pa.int64())]) and total.num_rows == 1
    months = duck.execute(rx.month.name("m"))
    assert months.schema.field("m").type == pa.date32()


def test_memtable_joins_the_datasets(duck, catalogue):
    presentations = duck.memtable(inputs.codes_table(catalogue).rename_columns(
        ["ta", "bnf_code", "code_length", "units_per_day", "ddd_per_unit"]), name="presentations")
    assert duck.table("presentations").schema() == presentations.schema()
    rx = duck.table("prescribing")
    joined = rx.join(presentations, "bnf_code").group_by("ta").aggregate(items=_.items.sum())
    assert duck.execute(joined).num_rows > 0
    with pytest.raises(UptakeError, match="dataset's name"):
        duck.memtable(pa.table({"x": [1]}), name="prescribing")


def test_errors_name_what_is_wrong(warehouse, duck):
    with pytest.raises(UptakeError, match="unknown engine 'bigquery'.*duckdb, spark"):
        connect(warehouse, "bigquery")
    with pytest.raises(UptakeError, match="no dataset 'prescriptions'.*prescribing"):
        duck.table("prescriptions")


def test_close_and_context_manager(warehouse):
    with connect(warehouse) as eng:
        rx = eng.table("prescribing")
        assert eng.execute(rx.count()).num_rows == 1
    with pytest.raises(UptakeError, match="closed"):
        eng.table("prescribing")
    eng.close()  # twice is fine


def test_without_pyspark_the_error_says_which_extra_to_install(warehouse, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)  # `import pyspark` raises ImportError
    with pytest.raises(UptakeError, match=r"install the \[spark\] extra: pip install 'uptake\[spark\]'"):
        connect(warehouse, "spark")


def test_without_java_the_error_says_spark_needs_java_17(tmp_path, monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UptakeError, match="Spark needs Java 17: no java on PATH and JAVA_HOME is not set"):
        spark_backend._require_java()
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    with pytest.raises(UptakeError, match="Spark needs Java 17: JAVA_HOME=.*nowhere has no bin/java"):
        spark_backend._require_java()


@pytest.mark.parametrize("reported, major", [('openjdk version "11.0.2" 2019-01-15', 11),
                                             ('java version "1.8.0_392"', 8)])
def test_an_old_java_is_refused_with_its_version(tmp_path, monkeypatch, reported, major):
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text(f"#!/bin/sh\necho '{reported}' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    assert spark_backend.java_version(str(java)) == major
    with pytest.raises(UptakeError, match=f"Spark needs Java 17: .*java is Java {major}"):
        spark_backend._require_java()


def test_hadoop_paths_escape_glob_characters():
    assert spark_backend._hadoop_path(Path("/w h/[1]{a,b}/x.parquet")) == r"file:///w h/\[1\]\{a,b\}/x.parquet"


def test_conform_rounds_wider_decimals_and_drops_time_zones():
    schema = ibis.schema({"m": "decimal(10, 2)", "t": "timestamp", "d": "date"})
    raw = pa.table({
        "m": pa.array([Decimal("1.714286"), Decimal("-1.715")], pa.decimal128(14, 6)),
        "t": pa.array([dt.datetime(2022, 9, 1, 12)] * 2, pa.timestamp("us", tz="UTC")),
        "d": pa.array([dt.date(2022, 9, 1)] * 2),
    })
    out = backends.conform(raw, schema)
    assert out.schema.equals(schema.to_pyarrow(), check_metadata=True)
    assert [str(v) for v in out.column("m").to_pylist()] == ["1.71", "-1.72"]
    assert out.column("t").to_pylist() == [dt.datetime(2022, 9, 1, 12)] * 2


# --- the same expressions on DuckDB and Spark ------------------------------------------------


@pytest.mark.spark
def test_spark_offers_the_same_tables_in_the_same_types(duck, spark):
    assert spark.name == "spark"
    for name in DATASETS:
        assert spark.table(name).schema() == duck.table(name).schema(), name
    rows = on_both(duck, spark, lambda e: e.table("prescribing").order_by(
        ["month", "practice", "bnf_code", "quantity"]).limit(50), ordered=True)
    assert rows.schema.field("month").type == pa.date32() and rows.schema.field("items").type == pa.int64()
    on_both(duck, spark, lambda e: e.table("dmd_ddd"))  # empty on both, same schema


@pytest.mark.spark
def test_group_by_aggregate(duck, spark):
    def build(e):
        rx = e.table("prescribing")
        return rx.group_by(["month", "practice"]).aggregate(
            items=rx.items.sum(), quantity=rx.total_quantity.sum(), cost=rx.actual_cost.sum(),
            mean_cost=rx.actual_cost.mean(), rows=rx.count(), codes=rx.bnf_code.nunique(),
            sd=rx.actual_cost.std(), big=rx.count(where=rx.items > 10))

    assert on_both(duck, spark, build).num_rows > 100


@pytest.mark.spark
def test_filters_on_dates_and_date_arithmetic(duck, spark):
    def build(e):
        rx = e.table("prescribing")
        rx = rx.filter((rx.month >= dt.date(2022, 8, 1)) & (rx.month < MONTH + dt.timedelta(days=30)))
        return rx.group_by("month").aggregate(items=rx.items.sum()).mutate(
            next_month=_.month + ibis.interval(months=1),
            quarter=_.month.truncate("Q"),
            fy=ibis.ifelse(_.month.month() >= 4, _.month.year(), _.month.year() - 1),
            days=(_.month + ibis.interval(months=1)).delta(_.month, unit="day"),
            month_index=(_.month.year() * 12 + _.month.month()) - (2022 * 12 + 1),
            label=_.month.strftime("%Y-%m"))

    out = on_both(duck, spark, build)
    assert sorted(out.column("days").to_pylist()) == [30, 31]
    assert out.schema.field("next_month").type == pa.date32()


@pytest.mark.spark
def test_joins_through_dated_memberships(duck, spark):
    """Practice → sub-ICB valid in the month, then totals per sub-ICB (inner and left joins)."""
    def build(e):
        rx = e.table("prescribing").filter(_.month == MONTH)
        rel = e.table("org_relations")
        valid = rel.filter((rel.child_type == "practice") & (rel.parent_type == "sub_icb")
                           & (rel.valid_from.isnull() | (rel.valid_from <= MONTH))
                           & (rel.valid_to.isnull() | (rel.valid_to > MONTH)))
        membership = valid.group_by(practice=valid.child).aggregate(sub_icb=valid.parent.max())
        joined = rx.join(membership, "practice", how="left")
        return joined.group_by("sub_icb").aggregate(items=_.items.sum(), practices=_.practice.nunique())

    assert on_both(duck, spark, build).num_rows > 1


@pytest.mark.spark
def test_window_functions(duck, spark):
    def build(e):
        rx = e.table("prescribing").filter(_.month == MONTH)
        per = rx.group_by(["bnf_code", "practice"]).aggregate(items=_.items.sum(), cost=_.actual_cost.sum())
        by_code = ibis.window(group_by=per.bnf_code, order_by=per.items)
        total_order = ibis.window(group_by=per.bnf_code, order_by=[ibis.desc(per.cost), per.practice])
        return per.mutate(
            pct=per.items.percent_rank().over(by_code),
            cume=per.items.cume_dist().over(by_code),
            rank=per.items.rank().over(by_code),
            decile=ibis.ntile(10).over(total_order),
            n=ibis.row_number().over(total_order),
            share=per.cost / per.cost.sum().over(group_by=per.bnf_code).nullif(0),
            prev=per.cost.lag().over(total_order),
        )

    out = on_both(duck, spark, build)
    assert min(out.column("pct").to_pylist()) == 0.0 and max(out.column("pct").to_pylist()) == 1.0


@pytest.mark.spark
def test_exact_quantiles_agree(duck, spark):
    def build(e):
        rx = e.table("prescribing")
        per = rx.group_by(["month", "practice"]).aggregate(cost=_.actual_cost.sum(), items=_.items.sum())
        return per.group_by("month").aggregate(
            p10=per.cost.quantile(0.1), p90=per.cost.quantile(0.9), median=per.cost.median(),
            items_p25=per.items.quantile(0.25))

    assert on_both(duck, spark, build).num_rows == 3


@pytest.mark.spark
def test_unbound_memtables_go_through_arrow_on_spark(duck, spark):
    """Ibis's own pyspark backend goes through pandas: a null decimal fails, NaN becomes null."""
    data = pa.table({"k": ["a", "b", "c"], "x": [1.5, float("nan"), None],
                     "dec": pa.array([None, 1, 2], pa.decimal128(5, 1)),
                     "d": pa.array([dt.date(2022, 9, 1), None, dt.date(2020, 2, 29)])})
    mem = ibis.memtable(data)
    out = on_both(duck, spark, lambda e: mem.mutate(y=mem.x * 2))
    assert math.isnan(out.column("x").to_pylist()[1]) and out.column("dec").to_pylist()[0] is None


@pytest.mark.spark
def test_spark_engines_over_two_warehouses_keep_their_own_tables(tmp_path, spark):
    other = Warehouse(tmp_path / "other")
    other.load(write_epd(tmp_path / "e.csv", good_epd_rows("202209")))
    before = spark.execute(spark.table("prescribing").count()).column(0)[0].as_py()
    with connect(other, "spark") as second:
        assert second.execute(second.table("prescribing").count()).column(0)[0].as_py() == 12
        assert spark.execute(spark.table("prescribing").count()).column(0)[0].as_py() == before
    with pytest.raises(UptakeError, match="closed"):
        second.table("prescribing")
    assert spark.execute(spark.table("prescribing").count()).column(0)[0].as_py() == before


@pytest.mark.spark
def test_asking_for_another_master_while_one_runs_is_an_error(warehouse, spark):
    running = spark.session.sparkContext.master
    other = "local[1]" if running != "local[1]" else "local[2]"
    with pytest.raises(UptakeError, match="already running"):
        connect(warehouse, "spark", spark_master=other)


# --- the documented differences, pinned (update the table in engine/backends/__init__.py if these change) -----


DATA = pa.table({"i": pa.array([7, -7, 3], pa.int64()), "j": pa.array([2, 0, -2], pa.int64()),
                 "f": [1.5, 2.5, -0.5],
                 "d": pa.array([dt.date(2020, 2, 29), dt.date(2022, 3, 31), dt.date(2021, 12, 1)])})


@pytest.mark.spark
def test_documented_differences_and_their_workarounds(duck, spark):
    dk, sp = duck.memtable(DATA), spark.memtable(DATA)

    # division by zero: DuckDB inf, Spark an error; nullif(0) gives NULL on both
    assert duck.execute(dk.select(r=dk.i / dk.j)).column("r").to_pylist()[1] == -math.inf
    with pytest.raises(Exception, match="DIVIDE_BY_ZERO"):
        spark.execute(sp.select(r=sp.i / sp.j))
    out = on_both(duck, spark, lambda e: e.memtable(DATA).mutate(r=_.i / _.j.nullif(0)), ordered=True)
    assert out.column("r").to_pylist() == [3.5, None, -1.5]

    # float → int: DuckDB rounds half to even, Spark truncates; floor()/round() agree
    assert duck.execute(dk.select(r=dk.f.cast("int64"))).column("r").to_pylist() == [2, 2, 0]
    assert spark.execute(sp.select(r=sp.f.cast("int64"))).column("r").to_pylist() == [1, 2, 0]
    on_both(duck, spark, lambda e: e.memtable(DATA).select(a=_.f.floor().cast("int64"), b=_.f.round().cast("int64")),
            ordered=True)

    # months between dates: DuckDB counts boundaries, Spark whole months; a month index agrees
    ref = ibis.date(2022, 1, 1)
    assert duck.execute(dk.select(r=dk.d.delta(ref, unit="month"))).column("r").to_pylist()[0] == -23
    assert spark.execute(sp.select(r=sp.d.delta(ref, unit="month"))).column("r").to_pylist()[0] == -22
    out = on_both(duck, spark, lambda e: e.memtable(DATA).select(
        r=(_.d.year() * 12 + _.d.month()) - (2022 * 12 + 1)), ordered=True)
    assert out.column("r").to_pylist() == [-23, 2, -1]

    # ordered aggregates are not compiled for Spark; a row_number filter is
    with pytest.raises(Exception, match="not supported"):
        spark.execute(sp.aggregate(first=sp.i.first(order_by=sp.f)))
    out = on_both(duck, spark, lambda e: e.memtable(DATA).mutate(
        n=ibis.row_number().over(order_by=[_.f, _.i])).filter(_.n == 0).select("i"))
    assert out.column("i").to_pylist() == [3]


def test_months_come_from_the_parquet_statistics_and_match_a_distinct(warehouse, duck):
    for name in ("prescribing", "list_sizes"):
        scanned = sorted(duck.execute(duck.table(name).select("month").distinct()).column("month").to_pylist())
        assert duck.months(name) == scanned, name
    assert duck.months("prescribing_org") == []  # not loaded: no files, no months
    assert duck.months("qof_registers") is None  # no month column


def test_months_are_unknown_when_a_row_group_holds_several(tmp_path, warehouse):
    import pyarrow.parquet as pq

    mixed = tmp_path / "mixed.parquet"
    rows = pa.table({"month": pa.array([dt.date(2022, 8, 1), dt.date(2022, 9, 1)], pa.date32()), "x": [1, 2]})
    pq.write_table(rows, mixed)
    split = tmp_path / "split.parquet"
    pq.write_table(rows, split, row_group_size=1)
    nulls = tmp_path / "nulls.parquet"
    pq.write_table(pa.table({"month": pa.array([None, dt.date(2022, 9, 1)], pa.date32())}), nulls, row_group_size=1)
    eng = backends.Engine("duckdb", None, warehouse, files={"prescribing": [mixed]})
    assert eng.months("prescribing") is None
    eng = backends.Engine("duckdb", None, warehouse, files={"prescribing": [split]})
    assert eng.months("prescribing") == [dt.date(2022, 8, 1), dt.date(2022, 9, 1)]
    eng = backends.Engine("duckdb", None, warehouse, files={"prescribing": [split, nulls]})
    assert eng.months("prescribing") is None
    assert backends.Engine("duckdb", None, warehouse).months("prescribing") is None  # files not known
