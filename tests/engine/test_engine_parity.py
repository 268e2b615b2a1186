"""The whole scorecard of the tiny demo warehouse, computed on DuckDB and on Spark local mode:
every TA × level × month and every measure, equal to 1e-9 relative."""

from __future__ import annotations

import math

import pytest

from uptake.catalogue import load_catalogue
from uptake.catalogue.measures import load_measures
from uptake.engine import scorecard as sc
from uptake.engine.backends import connect, spark_unavailable
from uptake.engine.prepare import prepare

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark(tiny_warehouse):
    why = spark_unavailable()
    if why:
        pytest.skip(f"Spark cannot run here: {why}")
    with connect(tiny_warehouse, "spark") as eng:
        yield eng


def _complete(eng, tiny_warehouse):
    loaded = list(tiny_warehouse.status()["datasets"])
    inp = prepare(eng, loaded, load_catalogue(), load_measures())
    scores = sc.with_metrics(sc.level_facts(sc.base_facts(inp), inp), inp)
    measures = sc.measure_level_facts(sc.measure_base_facts(inp), inp)
    return {"scores": eng.execute(scores), "deciles": eng.execute(sc.deciles(scores)), "measures": eng.execute(measures)}


def _keyed(table, key):
    return {tuple(r[k] for k in key): r for r in table.to_pylist()}


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def test_complete_scorecard_is_equal_on_duckdb_and_spark(duck, spark, tiny_warehouse):
    left, right = _complete(duck, tiny_warehouse), _complete(spark, tiny_warehouse)
    keys = {"scores": ("level", "org", "ta", "month"), "deciles": ("level", "ta", "month"),
            "measures": ("level", "org", "measure", "month")}
    for name, key in keys.items():
        assert left[name].schema.equals(right[name].schema), name
        a, b = _keyed(left[name], key), _keyed(right[name], key)
        assert len(a) == left[name].num_rows and a.keys() == b.keys(), name
        bad = [(k, c, a[k][c], b[k][c]) for k in a for c in a[k] if not _same(a[k][c], b[k][c])]
        assert not bad, f"{name}: {len(bad)} differences, e.g. {bad[:3]}"
    assert left["scores"].num_rows > 10_000  # every TA, level and month, not a trivial table
