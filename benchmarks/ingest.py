"""Time `uptake ingest` on a large EPD-layout file against baselines, in one run:

  duckdb          DuckDB reading the same CSV straight into Parquet with no validation — the
                  practical limit;
  pandas          pandas read_csv (its default C engine, as a typical user runs it) + to_parquet;
  pandas-pyarrow  the same with read_csv(engine="pyarrow"), pandas' fastest reader.

Each method runs in its own child process, so that its peak memory (max RSS) is its own, and
the methods take turns (--repeat rounds), so that other work on the machine falls on all of
them alike. Prints, per method, the median wall time, CPU time (user + system) and peak memory
over the rounds, and the ratios of medians. Targets: uptake no slower than 1.5x the DuckDB limit,
at least 3x faster than pandas (default engine), peak memory under 2 GB.

    python benchmarks/ingest.py --rows 5000000 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

HEADER = ("YEAR_MONTH,REGIONAL_OFFICE_NAME,REGIONAL_OFFICE_CODE,ICB_NAME,ICB_CODE,PCO_NAME,PCO_CODE,PRACTICE_NAME,"
          "PRACTICE_CODE,ADDRESS_1,ADDRESS_2,ADDRESS_3,ADDRESS_4,POSTCODE,BNF_CHEMICAL_SUBSTANCE,"
          "CHEMICAL_SUBSTANCE_BNF_DESCR,BNF_CODE,BNF_DESCRIPTION,BNF_CHAPTER_PLUS_CODE,QUANTITY,ITEMS,TOTAL_QUANTITY,"
          "ADQUSAGE,NIC,ACTUAL_COST,UNIDENTIFIED").split(",")


def make_epd(path: Path, rows: int, seed: int = 1) -> None:
    """Write `rows` rows in the current EPD layout: ~2,700 presentations per practice, like the real file."""
    rng = np.random.default_rng(seed)
    per_practice = 2700
    chunk = 500_000
    with pacsv.CSVWriter(path, pa.schema([(h, pa.string()) for h in HEADER]),
                         write_options=pacsv.WriteOptions(quoting_style="needed")) as writer:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            idx = np.arange(start, start + n)
            practice = idx // per_practice
            code = idx % per_practice
            items = rng.poisson(6, n) + 1
            qty = rng.choice([14, 28, 56, 84, 100], n).astype(float)
            nic = np.round(qty * rng.gamma(2.0, 0.08, n) * items, 2)
            icb = practice % 42
            cols = {
                "YEAR_MONTH": np.full(n, "202209"),
                "REGIONAL_OFFICE_NAME": np.full(n, "NORTH EAST AND YORKSHIRE"),
                "REGIONAL_OFFICE_CODE": np.full(n, "Y63"),
                "ICB_NAME": np.char.add("NHS SYNTHETIC ICB ", icb.astype(str)),
                "ICB_CODE": np.char.add("Q", np.char.zfill(icb.astype(str), 2)),
                "PCO_NAME": np.char.add("NHS SYNTHETIC SUB-ICB ", (practice % 106).astype(str)),
                "PCO_CODE": np.char.zfill((practice % 106).astype(str), 3),
                "PRACTICE_NAME": np.char.add("SYNTHETIC SURGERY ", practice.astype(str)),
                "PRACTICE_CODE": np.char.add("Z", np.char.zfill(practice.astype(str), 5)),
                "ADDRESS_1": np.full(n, "1 HIGH STREET"), "ADDRESS_2": np.full(n, ""),
                "ADDRESS_3": np.full(n, "TOWN"), "ADDRESS_4": np.full(n, ""),
                "POSTCODE": np.full(n, "AB1 2CD"),
                "BNF_CHEMICAL_SUBSTANCE": np.char.add("0208020Z", (code % 10).astype(str)),
                "CHEMICAL_SUBSTANCE_BNF_DESCR": np.full(n, "Apixaban"),
                "BNF_CODE": np.char.add("0208020Z0AA", np.char.zfill(code.astype(str), 4)),
                "BNF_DESCRIPTION": np.full(n, "Apixaban 5mg tablets"),
                "BNF_CHAPTER_PLUS_CODE": np.full(n, "02: Cardiovascular System"),
                "QUANTITY": qty.astype(str), "ITEMS": items.astype(str), "TOTAL_QUANTITY": (qty * items).astype(str),
                "ADQUSAGE": np.round(qty * items / 2, 1).astype(str),
                "NIC": nic.astype(str), "ACTUAL_COST": np.round(nic * 0.93, 5).astype(str),
                "UNIDENTIFIED": np.full(n, "N"),
            }
            writer.write_table(pa.table({h: pa.array(cols[h]) for h in HEADER}))


def run_method(method: str, csv_path: Path, work: Path) -> None:
    """Child process body: one method, timed from the parent."""
    if method == "duckdb":
        import duckdb

        duckdb.connect().execute(f"COPY (SELECT * FROM read_csv('{csv_path}')) TO '{work / 'out.parquet'}' "
                                 "(FORMAT parquet, COMPRESSION zstd)")
    elif method == "pandas":
        import pandas as pd

        pd.read_csv(csv_path).to_parquet(work / "out.parquet")
    elif method == "pandas-pyarrow":
        import pandas as pd

        pd.read_csv(csv_path, engine="pyarrow").to_parquet(work / "out.parquet")
    elif method == "uptake":
        from uptake.warehouse import Warehouse

        Warehouse(work / "warehouse").load(csv_path)
    else:
        raise SystemExit(f"unknown method {method}")


def measure(method: str, csv_path: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MB) of one method in a fresh child."""
    work = Path(tempfile.mkdtemp(prefix=f"bench-{method}-"))
    try:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, __file__, "--child", method, str(csv_path), str(work)])
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{method} failed")
        return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; medians are reported (default 3)")
    parser.add_argument("--skip-pandas", action="store_true", help="skip the pandas baselines (the slowest)")
    parser.add_argument("--child", nargs=3, metavar=("METHOD", "CSV", "WORK"), help=argparse.SUPPRESS)
    parser.add_argument("--make", metavar="CSV", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_method(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    if args.make:
        make_epd(Path(args.make), args.rows)
        return
    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        csv_path = tmp / "epd_202209.csv"
        t0 = time.perf_counter()
        # in a child, so that this process stays small: Linux carries max RSS across fork and exec
        subprocess.run([sys.executable, __file__, "--make", str(csv_path), "--rows", str(args.rows)], check=True)
        size = csv_path.stat().st_size / 1e6
        print(f"generated {args.rows:,} EPD rows ({size:,.0f} MB) in {time.perf_counter() - t0:.1f}s; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
        methods = ["duckdb", "uptake"] + ([] if args.skip_pandas else ["pandas", "pandas-pyarrow"])
        runs: dict[str, list[tuple[float, float, float]]] = {m: [] for m in methods}
        for round_ in range(1, args.repeat + 1):
            for m in methods:
                runs[m].append(measure(m, csv_path))
            print(f"round {round_}: " + "  ".join(f"{m} {runs[m][-1][0]:.2f}s" for m in methods)
                  + f"  (uptake/duckdb {runs['uptake'][-1][0] / runs['duckdb'][-1][0]:.2f}x)", flush=True)
        med = {m: tuple(statistics.median(r[i] for r in runs[m]) for i in range(3)) for m in methods}
        print(f"\nmedians of {args.repeat} round(s), load average now {os.getloadavg()[0]:.1f}:")
        print(f"{'method':>15}  {'wall s':>7}  {'cpu s':>7}  {'rows/s':>12}  {'peak MB':>8}")
        for m in methods:
            wall, cpu, rss = med[m]
            print(f"{m:>15}  {wall:7.2f}  {cpu:7.2f}  {args.rows / wall:12,.0f}  {rss:8,.0f}")
        ours = med["uptake"][0]
        rounds = [u[0] / d[0] for u, d in zip(runs["uptake"], runs["duckdb"])]
        print(f"uptake / duckdb limit:     {ours / med['duckdb'][0]:.2f}x wall "
              f"(per round {', '.join(f'{r:.2f}' for r in rounds)}), {med['uptake'][1] / med['duckdb'][1]:.2f}x CPU"
              "  (target <= 1.5x)")
        if "pandas" in med:
            print(f"pandas / uptake:           {med['pandas'][0] / ours:.2f}x  (target >= 3x)")
            print(f"pandas-pyarrow / uptake:   {med['pandas-pyarrow'][0] / ours:.2f}x")
        print(f"uptake peak memory:        {med['uptake'][2]:,.0f} MB  (target < 2048 MB)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
