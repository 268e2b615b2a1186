"""The whole pipeline on Spark local mode, as a cluster would run it (docs/operations.md, "The
warehouse on a shared filesystem"): `uptake publish --engine spark` on a warehouse kept outside
the home (UPTAKE_WAREHOUSE), and the publication it writes equals the one DuckDB published from
the same warehouse — every table, every row."""

from __future__ import annotations

import json
import math
import shutil

import duckdb
import pytest
from ops.helpers import Instance, uptake

from uptake.engine.backends import spark_unavailable

pytestmark = [pytest.mark.slow, pytest.mark.spark]

KEYS = {"ta_scorecard": "level, org, ta, month", "measure_scorecard": "level, org, measure, month",
        "organisations": "level, code", "diffusion": "ta, level"}


def _rows(path, table: str) -> list[dict]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        cur = con.execute(f"SELECT * FROM {table} ORDER BY {KEYS[table]}")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]
    finally:
        con.close()


def _meta(path) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM meta").fetchall()}
    finally:
        con.close()


def _differences(a, b, where: str, rel: float) -> list[str]:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return [] if a is None and b is None else [f"{where}: {a} ≠ {b}"]
        if (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=rel, abs_tol=1e-9):
            return []
        return [f"{where}: {a} ≠ {b}"]
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{where}: keys {sorted(a)} ≠ {sorted(b)}"]
        return [d for k in a for d in _differences(a[k], b[k], f"{where}.{k}", rel)]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items ≠ {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{where}[{i}]", rel)]
    return [] if a == b else [f"{where}: {a!r} ≠ {b!r}"]


def test_publish_on_spark_equals_duckdb_with_the_warehouse_on_a_shared_path(sqlite_source, tmp_path):
    why = spark_unavailable()
    if why:
        pytest.skip(f"Spark cannot run here: {why}")
    source, _ = sqlite_source
    shared = tmp_path / "shared" / "warehouse"  # as a cluster sees it: not in any home
    shutil.copytree(source.home / "warehouse", shared)
    cluster = Instance(tmp_path / "cluster-home", extra={"UPTAKE_WAREHOUSE": str(shared)})
    cluster.home.mkdir()
    uptake(cluster, "publish", "--engine", "spark")

    spark, duck = cluster.home / "published" / "scorecard.duckdb", source.home / "published" / "scorecard.duckdb"
    meta_s, meta_d = _meta(spark), _meta(duck)
    assert meta_s["engine"] == "spark" and meta_d["engine"] == "duckdb"
    assert meta_s["warehouse"] == str(shared)
    assert meta_s["months"] == meta_d["months"] == ["2022-07", "2022-08", "2022-09"]
    assert meta_s["ta_rows"] == meta_d["ta_rows"] > 10_000 and meta_s["measure_rows"] == meta_d["measure_rows"]

    for table in ("ta_scorecard", "measure_scorecard", "organisations"):
        a, b = _rows(duck, table), _rows(spark, table)
        assert len(a) == len(b) > 0, table
        bad = [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{table}[{i}]", 1e-9)]
        assert not bad, f"{len(bad)} differences, e.g. {bad[:3]}"
    # fitted diffusion curves: a nearly flat fit is ill-conditioned, and float summation order
    # moves its parameters by ~1e-6 (as tests/services/test_published.py allows)
    a, b = _rows(duck, "diffusion"), _rows(spark, "diffusion")
    assert [(r["ta"], r["level"]) for r in a] == [(r["ta"], r["level"]) for r in b] and a
    for x, y in zip(a, b):
        bx, by = json.loads(x["body"]), json.loads(y["body"])
        assert "duckdb" in bx.pop("engine") and "spark" in by.pop("engine")
        bad = _differences(bx, by, f"diffusion {x['ta']} {x['level']}", 1e-4)
        assert not bad, bad[:3]
