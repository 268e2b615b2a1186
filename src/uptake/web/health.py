"""/healthz: is this instance able to serve? 200 with every check, or 503 naming the failed ones.

    {"ok": false,
     "database":  {"ok": true, "vendor": "postgresql"},
     "published": {"ok": true, "published_at": "...", "months": 18},
     "warehouse": {"ok": false, "path": "/srv/uptake/warehouse", "error": "... does not exist"}}

- **database**: the portal's own database answers `SELECT 1`.
- **published**: the published scorecard (what every page reads) opens and names its months.
- **warehouse**: `state.json` reads, every Parquet file it names is there, the newest partition
  of every dataset has a readable Parquet footer with the rows the ledger recorded, and the DuckDB
  catalogue (`catalogue.duckdb`) opens read-only and has a view for every dataset loaded. Checked
  where UPTAKE_WAREHOUSE says, or at `<home>/warehouse` when that directory exists. A portal that
  serves a publication made elsewhere (the warehouse on a Spark cluster's storage, not beside the
  portal) has no warehouse to check: it reports `{"ok": true, "checked": false}`. Set
  UPTAKE_WAREHOUSE where the warehouse must be there, so that a missing one fails the check.

Every check catches every exception: a health check reports failures, whatever their kind.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.http import JsonResponse


def database() -> dict:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT 1")
        cur.fetchone()
    return {"ok": True, "vendor": connection.vendor}


def published() -> dict:
    from .store import published as current

    pub = current()
    return {"ok": True, "published_at": pub.published_at, "months": len(pub.months())}


def warehouse_root() -> tuple[Path, bool]:
    """The warehouse directory and whether it must exist (UPTAKE_WAREHOUSE set)."""
    from ..config import WAREHOUSE_ENV, warehouse_dir

    return Path(getattr(settings, "WAREHOUSE", None) or warehouse_dir()), bool(os.environ.get(WAREHOUSE_ENV))


def warehouse() -> dict:
    import duckdb
    import pyarrow.parquet as pq

    from ..warehouse import Warehouse

    root, required = warehouse_root()
    if not root.is_dir():
        if not required:
            return {"ok": True, "checked": False, "path": str(root),
                    "note": "no warehouse beside this portal (set UPTAKE_WAREHOUSE to require one)"}
        raise WarehouseProblem(root, f"{root} does not exist (UPTAKE_WAREHOUSE)")
    wh = Warehouse(root)
    if not wh.state_path.exists():
        raise WarehouseProblem(root, f"{wh.state_path} is missing: nothing has been loaded")
    state = wh.state()
    datasets = {name: parts for name, parts in state["datasets"].items() if parts}
    files = 0
    for name, parts in datasets.items():
        for key, part in parts.items():
            for rel in part["files"]:
                if not (root / rel).is_file():
                    raise WarehouseProblem(root, f"{root / rel} is missing (dataset {name}, partition {key})")
                files += 1
        newest, rows = parts[max(parts)], 0
        for rel in newest["files"]:
            try:
                rows += pq.read_metadata(root / rel).num_rows
            except Exception as exc:  # whatever Arrow says about a damaged file
                raise WarehouseProblem(root, f"{root / rel}: its Parquet footer cannot be read ({exc})") from None
        if rows != newest["rows"]:
            raise WarehouseProblem(root, f"dataset {name}, partition {max(parts)}: the Parquet files hold {rows} "
                                         f"rows; the ledger recorded {newest['rows']}")
    catalogue = root / "catalogue.duckdb"
    if datasets:
        if not catalogue.exists():
            raise WarehouseProblem(root, f"{catalogue} is missing")
        con = duckdb.connect(str(catalogue), read_only=True)
        try:
            views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        finally:
            con.close()
        missing = sorted(set(datasets) - views)
        if missing:
            raise WarehouseProblem(root, f"{catalogue} has no view for {', '.join(missing)}")
    return {"ok": True, "checked": True, "path": str(root), "serial": state.get("serial", 0),
            "datasets": len(datasets), "files": files}


class WarehouseProblem(Exception):
    def __init__(self, root: Path, message: str):
        super().__init__(message)
        self.root = root


CHECKS = {"database": database, "published": published, "warehouse": warehouse}


def run_checks() -> dict:
    results = {}
    for name, check in CHECKS.items():
        try:
            results[name] = check()
        except WarehouseProblem as exc:
            results[name] = {"ok": False, "path": str(exc.root), "error": str(exc)}
        except Exception as exc:  # a health check reports every failure, whatever its kind
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    failed = [name for name, r in results.items() if not r["ok"]]
    return {"ok": not failed, "failed": failed, **results}


def healthz(request):
    body = run_checks()
    return JsonResponse(body, status=200 if body["ok"] else 503)
