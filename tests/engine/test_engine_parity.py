"""The whole scorecard of the tiny demo warehouse, computed on DuckDB and on Spark local mode:
every TA × level × month and every measure, equal to 1e-9 relative. The measures are the
catalogue's (proportions and rates per 1,000 registered patients, of items and actual cost, with
prefixes of 4 to 15 characters and exclusions) and two more that the tiny NHS gives rows for: a
quantity measure on a 2-character prefix, and one with a per-item quantity threshold."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from uptake.catalogue import load_catalogue
from uptake.catalogue.measures import Measure, load_measures
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


def _extra(mid: str, unit: str, numerator: tuple[str, ...], denominator: tuple[str, ...], **more) -> Measure:
    return Measure(id=mid, title=mid, description="", why_it_matters="", unit=unit, numerator_codes=numerator,
                   denominator_codes=denominator, direction="lower", technology_appraisals=(), clinical_area="",
                   sources=("a test",), reviewed=dt.date(2026, 11, 24), verified=False, **more)


EXTRA = (
    _extra("parity_quantity", "quantity", ("0208020Z0AAABAB", "0208020Z0BBABAB"), ("02",)),
    _extra("parity_item_quantity", "items", ("0208020Z0",), ("0208020Z0",), item_quantity_above=56.0),
)


def _complete(eng, tiny_warehouse):
    loaded = list(tiny_warehouse.status()["datasets"])
    inp = prepare(eng, loaded, load_catalogue(), load_measures() + EXTRA)
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
    kinds = {r["measure"] for r in left["measures"].to_pylist() if r["numerator"]}
    assert {"doac_share", "doacs_best_value", "antihypertensive_items_per_1000", "parity_quantity",
            "parity_item_quantity"} <= kinds  # proportions, exclusions, per 1,000, quantity, item threshold
