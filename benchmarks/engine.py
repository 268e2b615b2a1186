"""Time the complete scorecard on a synthetic warehouse against two baselines, in one run:

  (a) DuckDB's bare scan of the same Parquet (`SELECT sum(quantity) FROM prescribing`) - the
      limit: the scorecard cannot be faster than reading the prescribing files once;
  (b) pandas computing ONE TA's ICB × month scorecard the way an analyst would: read each
      month's prescribing Parquet, keep the TA's codes with a boolean filter, join practices to
      sub-ICBs and ICBs through the membership valid in each month, list sizes and QOF
      registers, group by ICB and month.

The complete scorecard is every catalogue TA × every level (practice, PCN, sub-ICB, ICB,
region, England) × every loaded month:

    sc.with_metrics(sc.level_facts(sc.base_facts(inp), inp), inp)   executed to Arrow
    sc.deciles(...)                                                  of that result

Every phase runs in its own child process, so its peak memory (max RSS; for Spark, the Python
driver's plus the JVM's high-water marks) is its own. Prints rows, seconds, peak memory and the
ratios, with targets:

    scorecard ÷ bare scan                              <= 3x
    pandas for one TA ÷ (scorecard ÷ number of TAs)    >  20x
    peak memory of every phase                         <  8 GB

`--engine spark` also runs the same complete scorecard on Spark local mode, beside DuckDB.

The synthetic warehouse (`uptake.sources.synthetic.generate(..., parquet=True)`) is built once
per scale/months/seed under --workdir and reused by later runs. The generator writes the
prescribing months straight into the canonical `prescribing` schema as Parquet, which
`Warehouse.load` does not read (its readers take the official CSV layouts): this script loads
every other generated file through `Warehouse.load` and loads each prescribing month through the
same `Warehouse.load` (ledger, checksum, partitioning, row groups, atomic commit) with the CSV
reader replaced by a Parquet read: seconds a month, where a CSV of 16M rows would be GBs to write and parse.

    python benchmarks/engine.py                          # national scale, 3 months (~48M rows)
    python benchmarks/engine.py --months 12              # ~190M prescribing rows
    python benchmarks/engine.py --months 3 --engine spark
    python benchmarks/engine.py --scale small --months 2 --profile
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_WORKDIR = "/tmp/uptake-bench-engine"
DEFAULT_TA = "TA275"  # apixaban for AF: a register-based TA with an uptake index
GB = 1024.0

# --- the warehouse ---------------------------------------------------------------------------


def month_range(end: str, months: int) -> tuple[str, str]:
    y, m = (int(x) for x in end.split("-"))
    k = y * 12 + m - 1 - (months - 1)
    return f"{k // 12:04d}-{k % 12 + 1:02d}", end


def warehouse_dir(args) -> Path:
    start, end = month_range(args.end, args.months)
    return Path(args.workdir) / f"{args.scale}-{start}-{end}-seed{args.seed}"


def build_warehouse(target: Path, scale: str, start: str, end: str, seed: int) -> dict:
    """Child body: generate a synthetic NHS and load it into target/warehouse."""
    import pyarrow.parquet as pq

    from uptake.schemas import DATASETS
    from uptake.sources import ReadResult, formats, read_file
    from uptake.sources.synthetic import generate
    from uptake.warehouse import Warehouse
    from uptake.warehouse import store

    src = target / "generated"
    shutil.rmtree(src, ignore_errors=True)
    shutil.rmtree(target / "warehouse", ignore_errors=True)
    t0 = time.perf_counter()
    last = [0.0]

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "prescribing" and time.perf_counter() - last[0] > 30:
            last[0] = time.perf_counter()
            print(f"  generating prescribing: month {done} of {total}", flush=True)

    generated = generate(src, scale=scale, seed=seed, start=start, end=end, parquet=True, progress=progress)
    gen_seconds = time.perf_counter() - t0

    schema = DATASETS["prescribing"].schema

    def read(path, format=None):
        path = Path(path)
        if path.suffix == ".parquet":  # the generator's canonical prescribing Parquet
            return ReadResult(formats()["epd"], {"prescribing": pq.read_table(path).cast(schema)})
        return read_file(path, format)

    store.read_file = read  # this child only: Warehouse.load reads the Parquet as it would a CSV
    wh = Warehouse(target / "warehouse")
    t1 = time.perf_counter()
    for i, path in enumerate(generated.files):
        wh.load(path)
        if path.suffix == ".parquet":
            print(f"  loaded {path.name} ({i + 1}/{len(generated.files)} files)", flush=True)
    load_seconds = time.perf_counter() - t1
    shutil.rmtree(src, ignore_errors=True)  # the warehouse has its own copy
    status = wh.status()["datasets"]
    summary = {
        "scale": scale, "start": start, "end": end, "seed": seed,
        "rows": {name: info["rows"] for name, info in status.items()},
        "practices": generated.summary["practices"],
        "generate_seconds": round(gen_seconds, 1), "load_seconds": round(load_seconds, 1),
    }
    (target / "ready.json").write_text(json.dumps(summary, indent=1))
    return summary


def prescribing_files(root: Path) -> list[Path]:
    state = json.loads((root / "state.json").read_text())
    parts = state["datasets"].get("prescribing", {})
    return [root / f for key in sorted(parts) for f in parts[key]["files"]]


# --- the phases (each the body of a child process) -------------------------------------------


def descendants_hwm_mb() -> float:
    """Peak RSS (VmHWM) of this process's live descendants, e.g. Spark's JVM, in MB."""
    total, todo, seen = 0.0, [os.getpid()], set()
    while todo:
        pid = todo.pop()
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    for child in f.read().split():
                        if int(child) not in seen:
                            seen.add(int(child))
                            todo.append(int(child))
        except OSError:
            continue
    for pid in seen:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def phase_scan(root: Path, out: dict) -> None:
    import duckdb

    from uptake.warehouse import Warehouse

    t0 = time.perf_counter()
    con = Warehouse(root).connect(duckdb.connect())
    t1 = time.perf_counter()
    (total,) = con.execute("SELECT sum(quantity) FROM prescribing").fetchone()
    out["seconds"] = time.perf_counter() - t0
    out["query_seconds"] = time.perf_counter() - t1
    out["rows"] = con.execute("SELECT count(*) FROM prescribing").fetchone()[0]
    out["check"] = total


def phase_scan_codes(root: Path, out: dict) -> None:
    """The scorecard's irreducible prescribing work: read month, practice, bnf_code and the
    measures, keep the catalogue's codes, sum per practice × TA × month."""
    import duckdb

    from uptake.catalogue import load_catalogue
    from uptake.engine import inputs
    from uptake.warehouse import Warehouse

    codes = inputs.codes_table(load_catalogue())
    t0 = time.perf_counter()
    con = Warehouse(root).connect(duckdb.connect())
    con.register("codes", codes)
    got = con.execute("""
        SELECT count(*), sum(q), sum(i), sum(a) FROM (
          SELECT rx.month, rx.practice, c.ta, sum(rx.total_quantity / c.units_per_day) AS q,
                 sum(rx.items) AS i, sum(rx.actual_cost) AS a
          FROM prescribing rx JOIN codes c ON rx.bnf_code = c.code AND c.code_length = 15
          GROUP BY ALL)""").fetchone()
    out["seconds"] = time.perf_counter() - t0
    out["rows"] = got[0]
    out["check"] = got[1]


def phase_scorecard(root: Path, out: dict, engine: str, results: Path, ta: str, profile: bool,
                    spark_memory: str) -> None:
    """The complete scorecard through the engine's own API (what `Analysis.ta_table` runs, for
    every TA, level and month): open the warehouse, read the catalogue, prepare the inputs, run
    the query, then the deciles. All of it is timed; measure definitions, which the TA
    scorecard does not use, are not loaded."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from uptake.catalogue import load_catalogue
    from uptake.engine import scorecard as sc
    from uptake.engine.backends import connect
    from uptake.engine.prepare import loaded_months, prepare
    from uptake.warehouse import Warehouse

    t0 = time.perf_counter()
    if engine == "spark":
        from uptake.engine.backends import spark_session

        spark_session(None, {"spark.driver.memory": spark_memory})  # connect() reuses it
        out["spark_start_seconds"] = time.perf_counter() - t0
        t0 = time.perf_counter()
    wh = Warehouse(root)
    datasets = tuple(wh.status()["datasets"])
    eng = connect(wh, engine)
    out["open_seconds"] = time.perf_counter() - t0
    t = time.perf_counter()
    cat = load_catalogue()
    out["catalogue_seconds"] = time.perf_counter() - t
    t = time.perf_counter()
    months = loaded_months(eng, datasets)
    inp = prepare(eng, datasets, cat, loaded=months)  # every month with prescribing, every catalogue TA
    out["inputs_seconds"] = time.perf_counter() - t
    out["months"] = len(months)
    out["tas"] = len(cat.technology_appraisals)
    out["prepare_seconds"] = time.perf_counter() - t0
    if profile:  # before the timed run, untimed
        out["stages"] = profile_stages(eng, inp)
    t1 = time.perf_counter()
    card = eng.execute(sc.with_metrics(sc.level_facts(sc.base_facts(inp), inp), inp))
    t2 = time.perf_counter()
    dec = eng.execute(sc.deciles(eng.memtable(card)))
    t3 = time.perf_counter()
    out.update(scorecard_seconds=t2 - t1, deciles_seconds=t3 - t2, seconds=out["prepare_seconds"] + (t3 - t1),
               rows=card.num_rows, decile_rows=dec.num_rows)
    # (untimed) the part of the scorecard's seconds that is building the expression and compiling it to SQL
    t = time.perf_counter()
    eng.backend.compile(sc.with_metrics(sc.level_facts(sc.base_facts(inp), inp), inp))
    out["compile_seconds"] = time.perf_counter() - t
    if profile and engine == "duckdb":
        out["operators"] = explain_analyze(eng, inp, results)
    if engine == "spark":
        out["jvm_peak_mb"] = descendants_hwm_mb()
    # checks (untimed): the same figures on every engine, and the pandas TA's ICB rows
    out["check"] = {"patients": pc.sum(card.column("patients")).as_py(),
                    "values": card.num_rows - card.column("value").null_count}
    mask = pc.and_(pc.equal(card.column("ta"), ta), pc.equal(card.column("level"), "icb"))
    pq.write_table(card.filter(mask), results / f"scorecard-{engine}-{ta}-icb.parquet")
    eng.close()


def profile_stages(eng, inp) -> dict:
    """Cumulative seconds to execute each stage of the expression alone."""
    from uptake.engine import scorecard as sc

    stages = {}
    t = time.perf_counter()
    facts = sc.base_facts(inp)
    stages["base_facts"] = (eng.execute(facts).num_rows, time.perf_counter() - t)
    t = time.perf_counter()
    levels = sc.level_facts(facts, inp)
    stages["base_facts+level_facts"] = (eng.execute(levels).num_rows, time.perf_counter() - t)
    # the same roll-up from base facts already materialised: level_facts' own cost
    mem = eng.memtable(eng.execute(facts))
    t = time.perf_counter()
    stages["level_facts from materialised base facts"] = (
        eng.execute(sc.level_facts(mem, inp)).num_rows, time.perf_counter() - t)
    lv = eng.memtable(eng.execute(levels))
    t = time.perf_counter()
    stages["with_metrics from materialised level facts"] = (
        eng.execute(sc.with_metrics(lv, inp)).num_rows, time.perf_counter() - t)
    return stages


def explain_analyze(eng, inp, results: Path) -> list[dict]:
    """DuckDB's own per-operator timings for the scorecard query (its JSON profile), the slowest
    first; the whole profile is kept in results/profile-duckdb.json."""
    from uptake.engine import scorecard as sc

    expr = sc.with_metrics(sc.level_facts(sc.base_facts(inp), inp), inp)
    sql = str(eng.backend.compile(expr))
    (results / "scorecard-duckdb.sql").write_text(sql)
    target = results / "profile-duckdb.json"
    con = eng.backend.con
    con.execute("PRAGMA enable_profiling = 'json'")
    con.execute(f"PRAGMA profiling_output = '{target}'")
    rel = con.sql(sql)
    (getattr(rel, "to_arrow_table", None) or rel.arrow)()
    con.execute("PRAGMA disable_profiling")
    tree = json.loads(target.read_text())
    ops: list[dict] = []

    def walk(node: dict, depth: int) -> None:
        info = node.get("extra_info") or {}
        detail = "; ".join(f"{k}: {str(v)[:90]}" for k, v in info.items()
                           if k in ("Table", "Function", "Groups", "Aggregates", "Join Type", "Conditions",
                                    "Projections", "Filters", "Partition By"))
        ops.append({"operator": node.get("type") or node.get("operator_type"),
                    "seconds": float(node.get("timing") or node.get("operator_timing") or 0.0),
                    "rows": int(node.get("intermediate_rows") or node.get("operator_cardinality") or 0),
                    "depth": depth, "detail": detail})
        for child in node.get("children", []):
            walk(child, depth + 1)

    for top in tree.get("operator", tree.get("children", [])):
        walk(top, 0)
    return sorted(ops, key=lambda x: -x["seconds"])[:15]


def phase_pandas(root: Path, out: dict, ta: str, results: Path) -> None:
    """One TA's scorecard by ICB and month in plain pandas, as an analyst would write it."""
    import numpy as np
    import pandas as pd

    from uptake.catalogue import load_catalogue
    from uptake.engine import inputs
    from uptake.warehouse import Warehouse

    # catalogue facts: the TA's codes, eligible population and bands (lookups, untimed)
    cat = load_catalogue()
    codes = inputs.codes_table(cat).to_pandas()
    codes = codes[(codes.ta == ta) & (codes.code_length == 15)]
    pop = inputs.population_table(cat).to_pandas().set_index("ta").loc[ta]
    wh = Warehouse(root)
    t0 = time.perf_counter()

    def read(name: str, columns=None) -> pd.DataFrame:
        return pd.concat([pd.read_parquet(f, columns=columns) for f in wh.files(name)], ignore_index=True)

    # prescribing: month by month, keep the TA's codes
    frames = []
    for f in wh.files("prescribing"):
        df = pd.read_parquet(f, columns=["month", "practice", "bnf_code", "items", "total_quantity", "actual_cost"])
        frames.append(df[df.bnf_code.isin(codes.code)])
    rx = pd.concat(frames, ignore_index=True)
    rx = rx.merge(codes[["code", "units_per_day", "ddd_per_unit"]], left_on="bnf_code", right_on="code")
    rx["treatment_days"] = rx.total_quantity / rx.units_per_day
    rx["ddd"] = rx.total_quantity * rx.ddd_per_unit
    rx["month"] = pd.to_datetime(rx.month)
    observed = rx.groupby(["month", "practice"], as_index=False)[
        ["items", "total_quantity", "actual_cost", "treatment_days", "ddd"]].sum()
    months = sorted(observed.month.unique())

    # list sizes: everyone, and the TA's age/sex band
    ls = read("list_sizes")
    ls["month"] = pd.to_datetime(ls.month)
    ls = ls[ls.month.isin(months)]
    total = ls[(ls.sex == "all") & (ls.age_band == "all")][["month", "practice", "patients"]].rename(
        columns={"patients": "registered_all"})
    pairs = list(ls[["sex", "age_band"]].drop_duplicates().itertuples(index=False, name=None))
    bands = inputs.bands_table(cat, pairs).to_pandas()  # one set of weights per distinct age/sex band
    if pop.banded:
        bands = bands[bands.band == pop.band]
    den = total.copy()
    if pop.banded:
        b = ls.merge(bands, on=["sex", "age_band"])
        b["w"] = b.patients * b.weight
        den = den.merge(b.groupby(["month", "practice"], as_index=False).w.sum(), on=["month", "practice"], how="left")
        den["registered"] = den.w.fillna(0.0)
    else:
        den["registered"] = den.registered_all
    # QOF register of the month's financial year (or the nearest loaded)
    qof = read("qof_registers")
    years = inputs.months_table([m.date() for m in pd.to_datetime(months)], qof.year.unique()).to_pandas()
    years["month"] = pd.to_datetime(years.month)
    den = den.merge(years, on="month")
    if pop.register is not None and not pd.isna(pop.register):
        reg = qof[qof.register == pop.register][["year", "practice", "patients"]].rename(
            columns={"patients": "on_register"})
        den = den.merge(reg, on=["year", "practice"], how="left")
        base = den.on_register
    else:
        base = den.registered
    den["eligible"] = base * pop.fraction
    den["expected"] = den.eligible * pop.share

    # practice -> sub-ICB -> ICB, the membership valid in each month
    rel = read("org_relations")
    rel["valid_from"] = pd.to_datetime(rel.valid_from)
    rel["valid_to"] = pd.to_datetime(rel.valid_to)

    def members(child_type: str, parent_type: str) -> pd.DataFrame:
        r = rel[(rel.child_type == child_type) & (rel.parent_type == parent_type)]
        day = (r.valid_from.dt.year * 10000 + r.valid_from.dt.month * 100 + r.valid_from.dt.day).fillna(0)
        out = []
        for m in months:
            keep = r.valid_to.isna() | (r.valid_to >= m)
            c = r[keep][["child", "parent"]].copy()
            started = (r.valid_from.isna() | (r.valid_from <= m))[keep]
            c["later"] = np.where(started, 0, 1)
            c["order"] = np.where(started, -day[keep], day[keep])
            c = c.sort_values(["later", "order", "parent"]).drop_duplicates("child")
            c["month"] = m
            out.append(c[["month", "child", "parent"]])
        return pd.concat(out, ignore_index=True)

    p2s = members("practice", "sub_icb").rename(columns={"child": "practice", "parent": "sub_icb"})
    s2i = members("sub_icb", "icb").rename(columns={"child": "sub_icb", "parent": "icb"})
    p2i = p2s.merge(s2i, on=["month", "sub_icb"])[["month", "practice", "icb"]]

    # per practice and month, then per ICB and month
    facts = den[["month", "practice", "registered_all", "registered", "eligible", "expected"]].merge(
        observed, on=["month", "practice"], how="outer")
    for c in ("items", "total_quantity", "actual_cost", "treatment_days"):
        facts[c] = facts[c].fillna(0.0)
    icb = facts.merge(p2i, on=["month", "practice"]).groupby(["icb", "month"], as_index=False).sum(
        numeric_only=True, min_count=1)
    days = pd.Series(pd.DatetimeIndex(icb.month).days_in_month, index=icb.index)
    icb["patients"] = icb.treatment_days / days
    icb["index"] = (icb.patients / icb.expected).where(icb.expected > 0)
    icb["per_1000"] = (icb.patients / icb.registered * 1000).where(icb.registered > 0)
    icb["per_100_eligible"] = (icb.patients / icb.eligible * 100).where(icb.eligible > 0)
    head = {"index": "index", "per_1000": "per_1000"}.get(_headline(cat, ta))
    icb["value"] = icb[head] if head else np.nan
    rank = icb.groupby("month").value.rank(method="min")
    n = icb.groupby("month").value.transform("count")
    icb["percentile"] = ((rank - 1) / (n - 1) * 100).where(n > 1, 0.0).where(icb.value.notna())
    eng = facts.groupby("month", as_index=False)[["treatment_days", "expected"]].sum()
    eng["england_index"] = eng.treatment_days / pd.DatetimeIndex(eng.month).days_in_month / eng.expected
    icb = icb.merge(eng[["month", "england_index"]], on="month")
    out["seconds"] = time.perf_counter() - t0
    out["rows"] = len(icb)
    out["rx_rows"] = len(rx)
    icb.to_parquet(results / f"pandas-{ta}-icb.parquet")


def _headline(cat, ta: str) -> str:
    from uptake.engine.prepare import headline

    return headline(cat.ta(ta))


def phase_verify(results: Path, ta: str, out: dict) -> None:
    """The pandas baseline computes the same numbers as the engine (else the timing means nothing)."""
    import numpy as np
    import pandas as pd

    eng = pd.read_parquet(results / f"scorecard-duckdb-{ta}-icb.parquet").rename(columns={"org": "icb"})
    pdx = pd.read_parquet(results / f"pandas-{ta}-icb.parquet")
    for df in (eng, pdx):
        df["month"] = pd.to_datetime(df.month).astype("datetime64[ns]")
    m = eng.merge(pdx, on=["icb", "month"], suffixes=("", "_pd"), how="outer", indicator=True)
    out["rows_engine"], out["rows_pandas"] = len(eng), len(pdx)
    out["unmatched"] = int((m._merge != "both").sum())
    worst = {}
    for col in ("patients", "registered", "expected", "index", "per_1000", "percentile", "england_index"):
        a, b = m[col].astype(float), m[f"{col}_pd"].astype(float)
        both = a.notna() & b.notna()
        nulls = int((a.isna() != b.isna()).sum())
        rel = (np.abs(a[both] - b[both]) / np.maximum(np.abs(b[both]), 1e-12)).max() if both.any() else 0.0
        worst[col] = {"max_rel_diff": float(rel), "null_mismatch": nulls}
    out["columns"] = worst
    out["same"] = out["unmatched"] == 0 and all(v["max_rel_diff"] < 1e-6 and v["null_mismatch"] == 0
                                                for v in worst.values())


# --- the parent ------------------------------------------------------------------------------


def run_child(argv: list[str], label: str) -> dict:
    """Run one phase in a fresh child process; its result, wall seconds and peak RSS (MB)."""
    fd, name = tempfile.mkstemp(prefix=f"bench-engine-{label}-", suffix=".json")
    os.close(fd)
    load = os.getloadavg()[0]
    try:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, __file__, "--child", *argv, "--result", name])
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{label} failed (exit {os.waitstatus_to_exitcode(status)})")
        out = json.loads(Path(name).read_text())
    finally:
        Path(name).unlink(missing_ok=True)
    out["wall"] = wall
    out["cpu"] = usage.ru_utime + usage.ru_stime  # the child's (and its waited-for children's) CPU time
    out["peak_mb"] = usage.ru_maxrss / 1024 + out.get("jvm_peak_mb", 0.0)
    out["load_before"] = load
    return out


def child_main(args) -> None:
    out: dict = {}
    root = Path(args.warehouse) if args.warehouse else None
    results = Path(args.results) if args.results else None
    phase = args.child
    if phase == "build":
        start, end = month_range(args.end, args.months)
        out = build_warehouse(Path(args.target), args.scale, start, end, args.seed)
    elif phase == "scan":
        phase_scan(root, out)
    elif phase == "scan-codes":
        phase_scan_codes(root, out)
    elif phase in ("scorecard-duckdb", "scorecard-spark"):
        phase_scorecard(root, out, phase.split("-")[1], results, args.ta, args.profile, args.spark_memory)
    elif phase == "pandas":
        phase_pandas(root, out, args.ta, results)
    elif phase == "verify":
        phase_verify(results, args.ta, out)
    else:
        raise SystemExit(f"unknown phase {phase}")
    Path(args.result).write_text(json.dumps(out, default=str))


def warm(files: list[Path]) -> None:
    """Read the files once so that every phase starts with them in the page cache."""
    for f in files:
        with open(f, "rb") as fh:
            while fh.read(1 << 24):
                pass


def fmt_mb(mb: float) -> str:
    return f"{mb / GB:5.2f} GB" if mb >= GB else f"{mb:5.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="national", choices=("tiny", "small", "national"))
    parser.add_argument("--months", type=int, default=3, help="months of prescribing (default 3)")
    parser.add_argument("--end", default="2022-09", help="last month, YYYY-MM (default 2022-09)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workdir", default=DEFAULT_WORKDIR, help="where generated warehouses are kept and reused")
    parser.add_argument("--engine", default="duckdb", choices=("duckdb", "spark"),
                        help="spark: also run the complete scorecard on Spark local mode")
    parser.add_argument("--spark-memory", default="4g", help="spark.driver.memory (default 4g)")
    parser.add_argument("--ta", default=DEFAULT_TA, help=f"the TA of the pandas baseline (default {DEFAULT_TA})")
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--skip-duckdb", action="store_true", help="with --engine spark: only Spark")
    parser.add_argument("--profile", action="store_true",
                        help="time each stage of the expression and print DuckDB's slowest operators")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each phase N times, each in a fresh child; report the fastest (and the largest peak)")
    parser.add_argument("--rebuild", action="store_true", help="regenerate the warehouse even if it exists")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--warehouse", help=argparse.SUPPRESS)
    parser.add_argument("--results", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args)
        return

    target = warehouse_dir(args)
    root = target / "warehouse"
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}, "
          f"{os.cpu_count()} CPUs")
    if args.rebuild or not (target / "ready.json").exists():
        start, end = month_range(args.end, args.months)
        print(f"building a {args.scale} warehouse, {start} to {end}, seed {args.seed}, in {target}")
        target.mkdir(parents=True, exist_ok=True)
        (target / "ready.json").unlink(missing_ok=True)
        built = run_child(["build", "--target", str(target), "--scale", args.scale, "--months", str(args.months),
                           "--end", args.end, "--seed", str(args.seed)], "build")
        print(f"  generated in {built['generate_seconds']:.0f}s, loaded in {built['load_seconds']:.0f}s, "
              f"peak {fmt_mb(built['peak_mb'])}")
    ready = json.loads((target / "ready.json").read_text())
    rows = ready["rows"]
    print(f"warehouse {root}: {ready['scale']}, {ready['start']} to {ready['end']}, {ready['practices']:,} practices, "
          f"{rows.get('prescribing', 0):,} prescribing rows, {rows.get('list_sizes', 0):,} list-size rows, "
          f"{rows.get('qof_registers', 0):,} register rows")
    results = target / "results"
    results.mkdir(exist_ok=True)
    files = prescribing_files(root)
    warm(files)
    print(f"prescribing Parquet: {len(files)} files, {sum(f.stat().st_size for f in files) / 1e6:,.0f} MB")

    common = ["--warehouse", str(root), "--results", str(results), "--ta", args.ta,
              "--spark-memory", args.spark_memory] + (["--profile"] if args.profile else [])
    phases = ["scan", "scan-codes"]
    if not args.skip_duckdb:
        phases.append("scorecard-duckdb")
    if not args.skip_pandas:
        phases.append("pandas")
    if args.engine == "spark":
        phases.append("scorecard-spark")
    res: dict[str, dict] = {}
    for phase in phases:
        runs = []
        for k in range(args.repeat):
            print(f"running {phase}{f' ({k + 1}/{args.repeat})' if args.repeat > 1 else ''} "
                  f"(load average {os.getloadavg()[0]:.2f})", flush=True)
            runs.append(run_child([phase, *common], phase))
        best = min(runs, key=lambda r: r["seconds"])
        best["peak_mb"] = max(r["peak_mb"] for r in runs)
        best["all_seconds"] = [r["seconds"] for r in runs]
        res[phase] = best
    if "pandas" in res and "scorecard-duckdb" in res:
        res["verify"] = run_child(["verify", *common], "verify")

    print()
    print(f"{'phase':<28}{'rows':>14}{'seconds':>10}{'process':>10}{'CPU':>9}{'peak RSS':>11}{'load':>7}")
    labels = {"scan": "bare scan sum(quantity)", "scan-codes": "scan + catalogue codes",
              "scorecard-duckdb": "scorecard, DuckDB", "pandas": f"pandas, {args.ta} by ICB",
              "scorecard-spark": "scorecard, Spark local[2]"}
    for phase in phases:
        r = res[phase]
        print(f"{labels[phase]:<28}{r['rows']:>14,}{r['seconds']:>10.2f}{r['wall']:>10.2f}{r['cpu']:>9.2f}"
              f"{fmt_mb(r['peak_mb']):>11}{r['load_before']:>7.2f}")
    print("  seconds: the work, timed inside the child (the fastest of --repeat runs); process: that child's wall "
          "time, with imports and start-up; CPU: its user + system seconds (Spark's JVM not included)")
    if args.repeat > 1:
        for phase in phases:
            print(f"  {phase} runs: " + ", ".join(f"{x:.2f}s" for x in res[phase]["all_seconds"]))
    for eng in ("duckdb", "spark"):
        r = res.get(f"scorecard-{eng}")
        if r:
            extra = f", Spark start {r['spark_start_seconds']:.2f}s, JVM peak {fmt_mb(r['jvm_peak_mb'])}" \
                if eng == "spark" else ""
            print(f"  {eng}: {r['tas']} TAs x 6 levels x {r['months']} months: prepare {r['prepare_seconds']:.2f}s "
                  f"(open the warehouse {r['open_seconds']:.2f}s, read the catalogue {r['catalogue_seconds']:.2f}s, "
                  f"inputs {r['inputs_seconds']:.2f}s), scorecard query {r['scorecard_seconds']:.2f}s "
                  f"(of which building and compiling the expression ~{r['compile_seconds']:.2f}s), "
                  f"deciles {r['deciles_seconds']:.2f}s ({r['decile_rows']:,} rows){extra}")
            for name, (n, secs) in (r.get("stages") or {}).items():
                print(f"    profile: {name:<45} {n:>10,} rows {secs:8.2f}s")
            if r.get("operators"):
                print("    DuckDB profile, slowest operators (seconds are summed over threads):")
                for op in r["operators"]:
                    print(f"      {op['seconds']:8.2f}s {op['rows']:>13,} rows  {op['operator']:<18} {op['detail']}")
    if "scorecard-duckdb" in res and "scorecard-spark" in res:
        a, b = res["scorecard-duckdb"]["check"], res["scorecard-spark"]["check"]
        same = res["scorecard-duckdb"]["rows"] == res["scorecard-spark"]["rows"] and a["values"] == b["values"] \
            and abs(a["patients"] - b["patients"]) <= 1e-9 * max(abs(a["patients"]), 1.0)
        print(f"  Spark and DuckDB results {'agree' if same else 'DIFFER'}: rows, values and Σ patients")
    if "verify" in res:
        v = res["verify"]
        print(f"  pandas and the engine {'agree' if v['same'] else 'DIFFER'} on {args.ta} by ICB and month "
              f"({v['rows_pandas']} rows; worst relative difference "
              f"{max(c['max_rel_diff'] for c in v['columns'].values()):.1e})")
        if not v["same"]:
            print("   ", json.dumps(v["columns"]))
    print()

    card = res.get("scorecard-duckdb") or res.get("scorecard-spark")
    if card:
        ratio = card["seconds"] / res["scan"]["seconds"]
        print(f"scorecard / bare scan:          {ratio:7.2f}x  (target <= 3x)  {'met' if ratio <= 3 else 'NOT MET'}")
        queries = card["scorecard_seconds"] + card["deciles_seconds"]
        print(f"  queries only:                 {queries / res['scan']['query_seconds']:7.2f}x  (scorecard + deciles "
              f"{queries:.2f}s; sum(quantity) {res['scan']['query_seconds']:.2f}s, without opening the warehouse "
              "and preparing inputs)")
        print(f"scorecard / codes scan:         {card['seconds'] / res['scan-codes']['seconds']:7.2f}x")
        if "pandas" in res:
            per_ta = card["seconds"] / card["tas"]
            ratio = res["pandas"]["seconds"] / per_ta
            print(f"pandas one TA / (scorecard / {card['tas']} TAs): {ratio:7.1f}x  (target > 20x)  "
                  f"{'met' if ratio > 20 else 'NOT MET'}")
        if "scorecard-duckdb" in res and "scorecard-spark" in res:
            print(f"Spark / DuckDB scorecard:       {res['scorecard-spark']['seconds'] / res['scorecard-duckdb']['seconds']:7.2f}x")
    worst = max(res[p]["peak_mb"] for p in phases)
    print(f"peak memory (largest phase):    {fmt_mb(worst)}  (target < 8 GB)  {'met' if worst < 8 * GB else 'NOT MET'}")
    print(f"load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
