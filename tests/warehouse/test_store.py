"""Warehouse loads: atomic, idempotent, month-replacing, and safe against SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from uptake.errors import InputError, UptakeError
from uptake.warehouse import Warehouse

from epd_files import epd_row, good_epd_rows, write_epd


def snapshot(wh: Warehouse) -> tuple:
    """Everything a reader can see: the state file and the content of every dataset."""
    state = wh.state_path.read_text() if wh.state_path.exists() else ""
    con = wh.connect()
    content = con.execute(
        "SELECT month, practice, bnf_code, quantity, items FROM prescribing ORDER BY ALL").fetchall()
    return state, content


def test_load_then_read_back(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    rows = good_epd_rows("202208") + good_epd_rows("202209")
    result = wh.load(write_epd(tmp_path / "e.csv", rows))
    assert result.status == "loaded" and result.rows == {"prescribing": 24}
    assert result.partitions == {"prescribing": ["2022-08", "2022-09"]}
    con = wh.connect()
    assert con.execute("SELECT strftime(month, '%Y-%m'), count(*), sum(items) FROM prescribing GROUP BY 1 ORDER BY 1"
                       ).fetchall() == [("2022-08", 12, 42), ("2022-09", 12, 42)]
    files = sorted(p.relative_to(wh.root).parts[:3] for p in wh.root.rglob("*.parquet"))
    assert files == [("data", "prescribing", "2022-08"), ("data", "prescribing", "2022-09")]


def test_same_file_twice_changes_nothing(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    path = write_epd(tmp_path / "e.csv", good_epd_rows())
    first = wh.load(path)
    before = snapshot(wh)
    again = wh.load(path)
    assert again.status == "unchanged" and again.load_id == first.load_id
    assert snapshot(wh) == before
    assert len(wh.state()["loads"]) == 1


def test_a_correction_replaces_only_the_rows_it_covers_and_says_so(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    first = wh.load(write_epd(tmp_path / "both.csv", good_epd_rows("202208") + good_epd_rows("202209")))
    corrected = [epd_row("202209", "A81001", "0208020Z0AAAAAA", "28", "7")]
    fix = wh.load(write_epd(tmp_path / "fix.csv", corrected))
    # the correction covers practice A81001 and apixaban (chemical 0208020Z0) in 2022-09: the two
    # apixaban rows of A81001 there go, the ten other rows of 2022-09 and all of 2022-08 stay
    assert fix.replaced == [{"dataset": "prescribing", "partition": "2022-09", "rows": 2, "load": first.load_id,
                             "file": str((tmp_path / "both.csv").resolve())}]
    con = wh.connect()
    got = con.execute("SELECT practice, bnf_code, items FROM prescribing WHERE month = DATE '2022-09-01' "
                      "AND practice = 'A81001' AND bnf_code LIKE '0208020Z0%'").fetchall()
    assert got == [("A81001", "0208020Z0AAAAAA", 7)]
    assert con.execute("SELECT count(*) FROM prescribing WHERE month = DATE '2022-09-01'").fetchone() == (11,)
    assert con.execute("SELECT count(*) FROM prescribing WHERE month = DATE '2022-08-01'").fetchone() == (12,)
    status = wh.status()["datasets"]["prescribing"]
    assert status["rows"] == 23 and status["partitions"] == 2 and len(status["sources"]) == 2
    # on disk: 2022-08 as loaded; 2022-09's first file rewritten without the covered rows, and the fix
    assert len(list(wh.root.rglob("*.parquet"))) == 3
    ledger = wh.state()["loads"]
    assert [load["months"] for load in ledger] == [["2022-08", "2022-09"], ["2022-09"]]
    assert ledger[1]["replaced"] == fix.replaced and all(len(load["sha256"]) == 64 for load in ledger)


def test_a_correction_of_the_same_coverage_replaces_every_row(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    wh.load(write_epd(tmp_path / "a.csv", good_epd_rows("202209")))
    rows = good_epd_rows("202209")
    for r in rows:
        r[20] = "9"  # ITEMS
    fix = wh.load(write_epd(tmp_path / "b.csv", rows))
    assert sum(r["rows"] for r in fix.replaced) == 12
    con = wh.connect()
    assert con.execute("SELECT count(*), sum(items) FROM prescribing").fetchone() == (12, 108)
    assert len(list(wh.root.rglob("*.parquet"))) == 1


def test_files_split_by_product_or_organisation_add_up_in_either_order(tmp_path):
    rows = good_epd_rows("202209", practices=4)
    by_product = [r for r in rows if r[16].startswith("0208020Z0")], [r for r in rows if not r[16].startswith("0208020Z0")]
    by_practice = [r for r in rows if r[8] < "A81002"], [r for r in rows if r[8] >= "A81002"]
    for i, (a, b) in enumerate((by_product, by_practice, by_product[::-1], by_practice[::-1])):
        wh = Warehouse(tmp_path / f"wh{i}")
        wh.load(write_epd(tmp_path / f"a{i}.csv", a))
        second = wh.load(write_epd(tmp_path / f"b{i}.csv", b))
        assert second.replaced == []
        assert sorted(wh.connect().execute("SELECT practice, bnf_code, items FROM prescribing").fetchall()) == \
            sorted((r[8], r[16], int(r[20])) for r in rows)


def test_a_stray_row_of_another_month_is_refused_until_replace(tmp_path):
    """Issue 24.5: 2,999 rows for 2022-09 and one for 2022-08 must not cut 2022-08 to 1 row."""
    wh = Warehouse(tmp_path / "wh")
    august = good_epd_rows("202208", practices=5)
    wh.load(write_epd(tmp_path / "aug.csv", august))
    september = [epd_row("202209", f"B{p:05d}", "0208020Z0AAAAAA") for p in range(2999)]
    # one stray August row for a practice and chemical August already holds: it would replace two rows
    stray = write_epd(tmp_path / "sep.csv", september + [epd_row("202208", "A81002", "0208020Z0AAABAB")])
    before, files_before = snapshot(wh), sorted(wh.root.rglob("*"))
    with pytest.raises(UptakeError) as refused:
        wh.load(stray)
    message = str(refused.value)
    assert message.startswith(f"{stray}: refused: this load would remove 2 of the 20 prescribing rows of 2022-08")
    assert "aug.csv" in message and "only 1 rows for 2022-08 against 2,999" in message and "--replace" in message
    assert "\n" not in message
    assert snapshot(wh) == before and sorted(wh.root.rglob("*")) == files_before
    done = wh.load(stray, replace=True)
    assert done.replaced == [{"dataset": "prescribing", "partition": "2022-08", "rows": 2,
                              "load": wh.state()["loads"][0]["id"], "file": str((tmp_path / "aug.csv").resolve())}]
    con = wh.connect()
    assert con.execute("SELECT strftime(month, '%Y-%m'), count(*) FROM prescribing GROUP BY 1 ORDER BY 1"
                       ).fetchall() == [("2022-08", 19), ("2022-09", 2999)]


def test_a_stray_row_that_replaces_nothing_just_adds(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    wh.load(write_epd(tmp_path / "aug.csv", good_epd_rows("202208")))
    september = [epd_row("202209", f"B{p:05d}") for p in range(200)]
    done = wh.load(write_epd(tmp_path / "sep.csv", september + [epd_row("202208", "C99999")]))
    assert done.replaced == []
    assert wh.connect().execute("SELECT count(*) FROM prescribing WHERE month = DATE '2022-08-01'").fetchone() == (13,)


def test_a_load_that_shrinks_a_month_is_refused_until_replace(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    wh.load(write_epd(tmp_path / "a.csv", good_epd_rows("202209")))
    # the same practices and chemicals, but one row per practice and chemical: 12 rows become 9
    fewer = [epd_row("202209", f"A8100{p}", bnf) for p in range(3)
             for bnf in ("0208020Z0AAAAAA", "0208020X0AAAAAA", "0601022B0AAABAB")]
    with pytest.raises(UptakeError, match=r"remove 12 of the 12 prescribing rows of 2022-09 .*2022-09 would go "
                                          r"from 12 to 9 rows; load it with --replace"):
        wh.load(write_epd(tmp_path / "b.csv", fewer))
    assert wh.load(write_epd(tmp_path / "b.csv", fewer), replace=True).status == "loaded"
    assert wh.connect().execute("SELECT count(*) FROM prescribing").fetchone() == (9,)


def test_reloading_an_earlier_file_after_a_correction_loads_it_again(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    original = write_epd(tmp_path / "a.csv", good_epd_rows("202209"))
    wh.load(original)
    wh.load(write_epd(tmp_path / "b.csv", [epd_row("202209", "A81001")]))
    assert wh.connect().execute("SELECT count(*) FROM prescribing").fetchone() == (11,)
    assert wh.load(original).status == "loaded"
    assert wh.connect().execute("SELECT count(*) FROM prescribing").fetchone() == (12,)
    assert wh.load(original).status == "unchanged"


def test_bad_file_leaves_warehouse_exactly_as_before(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    wh.load(write_epd(tmp_path / "good.csv", good_epd_rows("202209")))
    before = snapshot(wh)
    files_before = sorted(wh.root.rglob("*"))
    rows = good_epd_rows("202209")
    rows[3][20] = "-1"
    with pytest.raises(InputError):
        wh.load(write_epd(tmp_path / "bad.csv", rows))
    assert snapshot(wh) == before
    assert sorted(wh.root.rglob("*")) == files_before


def test_empty_warehouse_has_empty_typed_views(tmp_path):
    con = Warehouse(tmp_path / "wh").connect()
    assert con.execute("SELECT count(*) FROM prescribing").fetchone() == (0,)
    assert [c[0] for c in con.execute("DESCRIBE scmd").fetchall()][:3] == ["month", "trust", "vmp_code"]


def test_catalogue_duckdb_has_views(tmp_path):
    import duckdb

    wh = Warehouse(tmp_path / "wh")
    wh.load(write_epd(tmp_path / "e.csv", good_epd_rows()))
    con = duckdb.connect(str(wh.root / "catalogue.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM prescribing").fetchone() == (12,)


# --- killed mid-load -----------------------------------------------------------------------

LOADER = """
import sys
from uptake.warehouse import Warehouse
Warehouse(sys.argv[1]).load(sys.argv[2])
"""


def _load_in_child(root: Path, path: Path, crash_at: str | None = None) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2] / "src"), env.get("PYTHONPATH", "")])
    if crash_at:
        env["UPTAKE_TEST_CRASH_AT"] = crash_at
    return subprocess.Popen([sys.executable, "-c", LOADER, str(root), str(path)], env=env)


def _assert_consistent(wh: Warehouse) -> None:
    state = json.loads(wh.state_path.read_text())
    for parts in state["datasets"].values():
        for part in parts.values():
            for f in part["files"]:
                assert (wh.root / f).exists(), f"state names missing file {f}"
    con = wh.connect()
    for name, parts in state["datasets"].items():
        assert con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] == sum(p["rows"] for p in parts.values())


@pytest.mark.parametrize("point", ["mid-write", "before-commit", "after-commit"])
def test_killed_at_each_stage(tmp_path, point):
    wh = Warehouse(tmp_path / "wh")
    wh.load(write_epd(tmp_path / "old.csv", good_epd_rows("202208") + good_epd_rows("202209")))
    before = snapshot(wh)
    new = write_epd(tmp_path / "new.csv", good_epd_rows("202209", practices=5) + good_epd_rows("202210"))
    proc = _load_in_child(wh.root, new, crash_at=point)
    assert proc.wait(60) == -signal.SIGKILL
    _assert_consistent(wh)
    if point == "after-commit":
        months = wh.connect().execute("SELECT count(DISTINCT month) FROM prescribing").fetchone()[0]
        assert months == 3
    else:
        assert snapshot(wh) == before
    # the next load sweeps whatever the killed one left behind, and succeeds
    wh.load(write_epd(tmp_path / "next.csv", good_epd_rows("202211")))
    _assert_consistent(wh)
    named = {wh.root / f for p in wh.state()["datasets"]["prescribing"].values() for f in p["files"]}
    assert set(wh.root.rglob("*.parquet")) == named


@pytest.mark.slow
def test_sigkill_at_random_moments_of_a_large_load(tmp_path):
    """A real kill -9 at several moments of a ~400k-row load: always the old or the new state."""
    wh = Warehouse(tmp_path / "wh")
    wh.load(write_epd(tmp_path / "old.csv", good_epd_rows("202208")))
    old = snapshot(wh)
    rows = [epd_row("202209", f"B{p:05d}", f"0208020Z0AAA{c:03d}", "28", "1") for p in range(2000) for c in range(200)]
    big = write_epd(tmp_path / "big.csv.gz", rows)
    timed = _load_in_child(wh.root, big)
    t0 = time.monotonic()
    assert timed.wait(120) == 0
    full = time.monotonic() - t0
    new = snapshot(wh)
    outcomes = set()
    for fraction in (0.2, 0.4, 0.6, 0.8, 0.9, 0.97):
        wh.clear()
        wh.load(tmp_path / "old.csv")
        proc = _load_in_child(wh.root, big)
        time.sleep(full * fraction)
        proc.send_signal(signal.SIGKILL)
        proc.wait(60)
        _assert_consistent(wh)
        now = snapshot(wh)
        assert now[1] in (old[1], new[1])
        outcomes.add("new" if now[1] == new[1] else "old")
    assert "old" in outcomes  # at least one kill landed before the commit


# --- partitions named from distinct values ---------------------------------------------------


def test_partitions_group_days_of_a_month_and_skip_null_months():
    from datetime import date

    import pyarrow as pa

    from uptake.schemas import DATASETS
    from uptake.warehouse.store import partitions

    ds = DATASETS["prescribing"]
    months = [date(2022, 9, 1), date(2022, 8, 1), date(2022, 9, 15), None, date(2022, 9, 1)]
    table = pa.table({"month": pa.array(months, pa.date32())})
    got = [(name, sorted(values.to_pylist()), n) for name, values, n in partitions(ds, table)]
    assert got == [("2022-08", [date(2022, 8, 1)], 1), ("2022-09", [date(2022, 9, 1), date(2022, 9, 15)], 3)]


def test_files_of_a_multi_month_load_hold_their_own_rows_in_file_order(tmp_path):
    import pyarrow.parquet as pq

    wh = Warehouse(tmp_path / "wh")
    rows = good_epd_rows("202208") + good_epd_rows("202209") + good_epd_rows("202210", practices=1)
    rows.reverse()
    result = wh.load(write_epd(tmp_path / "e.csv", rows))
    assert result.partitions == {"prescribing": ["2022-08", "2022-09", "2022-10"]}
    state = wh.state()["datasets"]["prescribing"]
    assert {k: v["rows"] for k, v in state.items()} == {"2022-08": 12, "2022-09": 12, "2022-10": 4}
    for key, part in state.items():
        t = pq.read_table(wh.root / part["files"][0])
        assert t.schema.names == ["month", "practice", "bnf_code", "items", "quantity", "total_quantity", "nic",
                                  "actual_cost"]
        mine = [r for r in rows if r[0] == key.replace("-", "")]
        assert t.column("practice").to_pylist() == [r[8] for r in mine]
        assert t.column("items").to_pylist() == [int(r[20]) for r in mine]
