"""The warehouse: Parquet files per dataset and partition, one state file that says which files
are current, and a ledger of every load.

Layout under the warehouse directory::

    state.json                      the commit point: current files per dataset/partition + ledger
    data/<dataset>/<partition value>/<load-id>.parquet   (e.g. data/prescribing/2022-09/...)
    catalogue.duckdb                views over the current files, for people with a DuckDB shell
    lock                            held by the one process loading at a time

A load writes its Parquet files beside the current ones (nothing refers to them yet), then
replaces ``state.json`` in one ``os.replace``. A process killed at any moment leaves either the
old state or the new one; files written by a load that never committed are swept away by the
next load. Readers need no lock: they read ``state.json`` once and the files it names, which a
load never modifies (it only adds new files and deletes unreferenced ones after committing).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import UptakeError
from ..fsutil import exclusive, fsync_dir, shared, unshared
from ..schemas import DATASETS, Dataset
from ..sources import ReadResult, read_file
from . import coverage as cov

STATE_VERSION = 1
READERS = "readers"  # the lock file long readers hold shared (`Warehouse.pinned`)
CRASH_ENV = "UPTAKE_TEST_CRASH_AT"  # test hook: die (SIGKILL) at a named point of a load
# Rows per Parquet row group: DuckDB's own default, so that queries over the warehouse split
# and skip a file's rows as they would in a file DuckDB wrote.
ROW_GROUP_ROWS = 122_880
# A load may shrink a month it touches by at most this share of its rows without --replace ...
MAX_NET_LOSS = 0.10
# ... and may remove rows of a month only if that month holds at least this share of the rows the
# file holds in its largest month (one stray row for August in a September file replaces nothing).
MINOR_MONTH = 0.05


def _crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), 9)


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def partitions(ds: Dataset, table: pa.Table) -> list[tuple[str, pa.Array, int]]:
    """The partitions a table covers, sorted by name: (name, values of the partition column, rows).

    Works on the distinct values only (a monthly file has one or a few): naming every row
    (strftime over millions of dates) would cost seconds. Rows whose partition value is null
    belong to no partition. (Arrow values are selected with Arrow scalars, never made from
    Python ones: pyarrow imports pandas, 0.3 s, the first time it converts a Python value.)
    """
    counts = pc.value_counts(table.column(ds.partition))
    values, rows = counts.field("values"), counts.field("counts")
    names = pc.strftime(values, format="%Y-%m") if ds.monthly else pc.cast(values, pa.string())
    first = {name: i for i, name in reversed(list(enumerate(names.to_pylist()))) if name is not None}
    found = []
    for name in sorted(first):
        mine = pc.equal(names, names[first[name]])
        found.append((name, values.filter(mine), pc.sum(rows.filter(mine)).as_py()))
    return found


@dataclass
class LoadResult:
    file: str
    status: str  # "loaded" | "unchanged"
    format: str
    load_id: str | None
    rows: dict[str, int] = field(default_factory=dict)  # dataset → rows
    partitions: dict[str, list[str]] = field(default_factory=dict)  # dataset → partitions written
    seconds: float = 0.0
    # what the load removed from earlier loads: dataset, partition, rows, and the load and file
    replaced: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return self.__dict__.copy()


class Warehouse:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.data_dir = self.root / "data"
        self.state_path = self.root / "state.json"

    # --- state ------------------------------------------------------------------------------

    def state(self) -> dict:
        try:
            with open(self.state_path, encoding="utf-8") as f:
                state = json.load(f)
        except FileNotFoundError:
            return {"version": STATE_VERSION, "serial": 0, "datasets": {}, "loads": []}
        if state.get("version") != STATE_VERSION:
            raise UptakeError(f"{self.state_path}: warehouse format {state.get('version')} is not supported "
                              f"(expected {STATE_VERSION})")
        return state

    def _write_state(self, state: dict) -> None:
        tmp = self.state_path.with_suffix(f".{uuid.uuid4().hex}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(state, f, indent=1, sort_keys=True, default=str)
            f.flush()
            os.fsync(f.fileno())
        _crash_point("before-commit")
        os.replace(tmp, self.state_path)
        _fsync_dir(self.root)

    def _locked(self):
        return exclusive(self.root, lambda: UptakeError(
            f"{self.root}: another uptake process is loading into this warehouse; wait for it to finish"))

    # --- loading ----------------------------------------------------------------------------

    def load(self, path: str | Path, format: str | None = None,
             on_stage: Callable[[str], None] | None = None, *, replace: bool = False) -> LoadResult:
        """Load one file atomically. Loading the same bytes again changes nothing. In each month
        it holds, a file replaces only the earlier rows it covers: those whose organisation and
        product it also holds (`coverage`). A load that would shrink a month by more than
        MAX_NET_LOSS of its rows, or remove rows of a month it barely touches, is refused unless
        `replace` is given, naming what it would remove."""
        started = time.perf_counter()
        path = Path(path)
        stage = on_stage or (lambda s: None)
        with self._locked():
            state = self.state()
            # The checksum is needed first only when an earlier load had the same size (and so
            # may be the same bytes); otherwise it is computed while the file is being read.
            size = path.stat().st_size if path.is_file() else -1
            hashing = ThreadPoolExecutor(1).submit(sha256_file, path) if size >= 0 else None
            if any(load.get("size") == size for load in state["loads"]) and hashing is not None:
                stage("checksum")
                previous = self._current_load_of(state, hashing.result(), format)
                if previous is not None:
                    return LoadResult(str(path), "unchanged", previous["format"], previous["id"],
                                      previous["rows"], {}, time.perf_counter() - started)
            stage("read")
            result = read_file(path, format)
            digest = hashing.result() if hashing is not None else ""
            stage("write")
            load_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + (digest[:10] or uuid.uuid4().hex[:10])
            new_state, written, replaced = self._write_partitions(state, result, load_id, path, replace)
            rows = {name: t.num_rows for name, t in result.tables.items()}
            months = sorted({p for name, parts in written.items() if DATASETS[name].monthly for p in parts})
            new_state["loads"].append({
                "id": load_id,
                "file": str(path.resolve()),
                "sha256": digest,
                "size": size,
                "format": result.format.id,
                "datasets": {name: {"rows": rows[name], "partitions": parts} for name, parts in written.items()},
                "rows": rows,
                "months": months,
                "replaced": replaced,
                "loaded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "seconds": round(time.perf_counter() - started, 3),
            })
            new_state["serial"] = state.get("serial", 0) + 1
            stage("commit")
            self._write_state(new_state)
            _crash_point("after-commit")
            with unshared(self.root / READERS) as unread:
                if unread:  # a reader holding a pin (`pinned`) may read the files the sweep would delete
                    self._sweep(new_state)
            self._refresh_catalogue(new_state)
            return LoadResult(str(path), "loaded", result.format.id, load_id, rows, written,
                              time.perf_counter() - started, replaced)

    def _current_load_of(self, state: dict, digest: str, format: str | None) -> dict | None:
        """The earlier load of the same bytes, if everything it wrote is still current."""
        if not digest:
            return None
        for load in reversed(state["loads"]):
            if load["sha256"] != digest or (format and load["format"] != format):
                continue
            return load if cov.load_is_current(state, load) else None
        return None

    def _parts(self, name: str, entry: dict) -> list[dict]:
        """A partition's parts, each with its file: (file, load, rows, coverage). A warehouse
        written before coverage was recorded has one part per file; its coverage is read."""
        parts = entry.get("parts")
        if parts is None:
            parts = [{"load": entry.get("load"), "rows": pq.read_metadata(self.root / f).num_rows}
                     for f in entry["files"]]
        out = []
        for f, p in zip(entry["files"], parts):
            p = dict(p, file=f)
            if name in cov.RULES and "orgs" not in p:
                p.update(cov.covered(name, pq.read_table(self.root / f, columns=cov.columns(name))))
            out.append(p)
        return out

    def _write_partitions(self, state: dict, result: ReadResult, load_id: str, path: Path,
                          replace: bool) -> tuple[dict, dict[str, list[str]], list[dict]]:
        new_state = json.loads(json.dumps(state))
        loads = {load["id"]: load for load in state["loads"]}
        written: dict[str, list[str]] = {}
        replaced: list[dict] = []
        made: list[Path] = []
        try:
            for name, table in result.tables.items():
                ds = DATASETS[name]
                covered = partitions(ds, table)
                column = table.column(ds.partition)
                whole = len(covered) == 1 and column.null_count == 0
                largest = max((n for _, _, n in covered), default=0)
                # Every column written as optional, as DuckDB writes them: files of every load read alike.
                schema = pa.schema([f.with_nullable(True) for f in ds.schema])
                entries = new_state["datasets"].setdefault(name, {})
                for value, keys, n in covered:
                    rel_dir = Path("data") / name / value
                    (self.root / rel_dir).mkdir(parents=True, exist_ok=True)
                    # One partition (the usual monthly file) is the whole table; otherwise the rows
                    # whose partition column holds one of this partition's values.
                    part = table if whole else table.filter(pc.is_in(column, value_set=keys))
                    mine = {"load": load_id, "rows": n}
                    if name in cov.RULES:
                        mine.update(cov.covered(name, part))
                    kept, removed = self._keep(name, entries.get(value), mine, rel_dir, load_id, schema, made)
                    before = entries[value]["rows"] if value in entries else 0
                    gone = sum(r["rows"] for r in removed)
                    if gone and not replace:
                        _refuse_if_lossy(path, name, value, before, gone, n, largest, removed, loads)
                    rel = rel_dir / f"{load_id}.parquet"
                    made.append(self.root / rel)
                    pq.write_table(part.select(ds.schema.names).cast(schema), self.root / rel,
                                   compression="zstd", row_group_size=ROW_GROUP_ROWS)
                    parts = kept + [dict(mine, file=str(rel))]
                    entries[value] = {"files": [p.pop("file") for p in parts], "parts": parts,
                                      "rows": sum(p["rows"] for p in parts), "load": load_id}
                    replaced.extend({"dataset": name, "partition": value, "rows": r["rows"], "load": r["load"],
                                     "file": loads.get(r["load"], {}).get("file")} for r in removed)
                    _crash_point("mid-write")
                written[name] = [value for value, _, _ in covered]
        except BaseException:
            for f in made:
                f.unlink(missing_ok=True)
            raise
        return new_state, written, replaced

    def _keep(self, name: str, entry: dict | None, mine: dict, rel_dir: Path, load_id: str,
              schema: pa.Schema, made: list[Path]) -> tuple[list[dict], list[dict]]:
        """What stays of a partition's earlier parts when a part with coverage `mine` is added:
        (the parts kept, each with its file; the rows removed, per earlier part). A dataset with
        no coverage rule is replaced whole. A part only partly covered is rewritten without the
        covered rows, still under its own load, marked as trimmed by this one."""
        if entry is None:
            return [], []
        if name not in cov.RULES:
            return [], [{"load": entry.get("load"), "rows": entry["rows"]}]
        kept, removed = [], []
        for i, p in enumerate(self._parts(name, entry)):
            if not (set(p["orgs"]) & set(mine["orgs"])) or (
                    "products" in mine and not set(p["products"]) & set(mine["products"])):
                kept.append(p)
                continue
            old = pq.read_table(self.root / p["file"])
            inside = cov.overlap(name, old, mine)
            n_in = pc.sum(inside).as_py() or 0
            if n_in == 0:
                kept.append(p)
                continue
            removed.append({"load": p["load"], "rows": n_in})
            if n_in == old.num_rows:
                continue
            rest = old.filter(pc.invert(inside))
            rel = rel_dir / f"{load_id}.kept{i}.parquet"
            made.append(self.root / rel)
            pq.write_table(rest.cast(schema), self.root / rel, compression="zstd", row_group_size=ROW_GROUP_ROWS)
            kept.append({"load": p["load"], "rows": rest.num_rows, "trimmed_by": load_id, "file": str(rel),
                         **cov.covered(name, rest)})
        return kept, removed

    def _sweep(self, state: dict) -> None:
        """Delete Parquet files that the committed state no longer names (replaced partitions,
        and leftovers of loads that were killed before committing)."""
        keep = {self.root / f for parts in state["datasets"].values() for p in parts.values() for f in p["files"]}
        if not self.data_dir.exists():
            return
        for file in self.data_dir.rglob("*.parquet"):
            if file not in keep:
                file.unlink(missing_ok=True)
        for tmp in self.root.glob("state.*.tmp"):
            tmp.unlink(missing_ok=True)
        for d in sorted(self.data_dir.rglob("*"), reverse=True):
            if d.is_dir() and not any(d.iterdir()):
                d.rmdir()

    # --- reading ----------------------------------------------------------------------------

    def pinned(self):
        """A shared lock for a long reader (`uptake publish`): while it is held, loads still commit
        but delete no file (the next load after it is released sweeps them), so every file of the
        state read under it stays readable. Take it before reading the state."""
        return shared(self.root / READERS)

    def files(self, dataset: str, state: dict | None = None) -> list[Path]:
        state = state or self.state()
        parts = state["datasets"].get(dataset, {})
        return [self.root / f for key in sorted(parts) for f in parts[key]["files"]]

    def connect(self, con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with one view per dataset over the current files (an empty
        table of the right schema for datasets not loaded yet)."""
        con = con or duckdb.connect()
        state = self.state()
        for name, ds in DATASETS.items():
            files = self.files(name, state)
            if files:
                listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
                con.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM read_parquet([{listed}], hive_partitioning = false)')
            else:
                con.register(f"__empty_{name}", ds.schema.empty_table())
                con.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM "__empty_{name}"')
        return con

    def _refresh_catalogue(self, state: dict) -> None:
        """Rewrite catalogue.duckdb (views over the current files) for use from a DuckDB shell.
        Derived from state.json; a failure here never affects the loaded data."""
        target = self.root / "catalogue.duckdb"
        tmp = self.root / f"catalogue.{uuid.uuid4().hex}.tmp.duckdb"
        try:
            con = duckdb.connect(str(tmp))
            for name in DATASETS:
                files = self.files(name, state)
                if files:
                    listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
                    con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM read_parquet([{listed}], hive_partitioning = false)')
            con.close()
            os.replace(tmp, target)
        except duckdb.Error:
            tmp.unlink(missing_ok=True)

    # --- reporting --------------------------------------------------------------------------

    def status(self) -> dict:
        """What is loaded: per dataset the partitions, rows and the files they came from."""
        state = self.state()
        loads = {load["id"]: load for load in state["loads"]}
        datasets = {}
        for name, parts in sorted(state["datasets"].items()):
            if not parts:
                continue
            keys = sorted(parts)
            ids = {q["load"] for p in parts.values() for q in p.get("parts", [p])}
            sources = sorted({loads[i]["file"] for i in ids if i in loads})
            last = max((loads[i]["loaded_at"] for i in ids if i in loads), default=None)
            datasets[name] = {
                "partition": DATASETS[name].partition,
                "partitions": len(keys),
                "first": keys[0],
                "last": keys[-1],
                "rows": sum(p["rows"] for p in parts.values()),
                "sources": sources,
                "last_loaded": last,
            }
        return {"home": str(self.root), "serial": state.get("serial", 0), "datasets": datasets,
                "loads": len(state["loads"]), "recent_loads": state["loads"][-10:]}

    def month_sources(self, state: dict | None = None) -> dict[str, dict[str, list[str]]]:
        """{month: {dataset: [file names]}}: the files whose rows are current in each month of
        the monthly datasets (several when files split by product or organisation share a month)."""
        state = state or self.state()
        files = {load["id"]: Path(load["file"]).name for load in state["loads"]}
        out: dict[str, dict[str, list[str]]] = {}
        for name, parts in sorted(state["datasets"].items()):
            if not DATASETS[name].monthly:
                continue
            for month, entry in parts.items():
                ids = [p["load"] for p in entry.get("parts", [entry])]
                out.setdefault(month, {})[name] = sorted({files.get(i, "?") for i in ids})
        return dict(sorted(out.items()))

    def clear(self) -> None:
        """Remove every loaded file and the ledger (used by `uptake demo --fresh`)."""
        with self._locked():
            for sub in ("data",):
                shutil.rmtree(self.root / sub, ignore_errors=True)
            for f in ("state.json", "catalogue.duckdb"):
                (self.root / f).unlink(missing_ok=True)


def _refuse_if_lossy(path: Path, name: str, month: str, before: int, gone: int, added: int, largest: int,
                     removed: list[dict], loads: dict) -> None:
    """Refuse a load that would shrink `month` by more than MAX_NET_LOSS of its rows, or remove
    rows of a month that holds a small share of the file's rows, saying what it would remove."""
    shrinks = before - (before - gone + added) > MAX_NET_LOSS * before
    stray = added < MINOR_MONTH * largest
    if not (shrinks or stray):
        return
    whose = "; ".join(f"{r['rows']:,} from {Path(loads.get(r['load'], {}).get('file') or '?').name}" for r in removed)
    why = (f"the file holds only {added:,} rows for {month} against {largest:,} in its largest month"
           if stray else f"{month} would go from {before:,} to {before - gone + added:,} rows")
    raise UptakeError(f"{path}: refused: this load would remove {gone:,} of the {before:,} {name} rows of {month} "
                      f"({whose}) and {why}; load it with --replace to accept that")


_fsync_dir = fsync_dir
