"""The operations commands: `uptake backup`, `uptake restore` and `uptake migrate`
(docs/operations.md)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from .cli import HomeOption, JsonOption, State, _errors, _home, _print_json, app, err, out
from .errors import UptakeError


def _instance(home: Path | None):
    """Django set up on this instance's settings (UPTAKE_DATABASE_URL, ...): where its things are."""
    from .cli_portal import django_setup
    from .config import warehouse_dir
    from .ops.backup import current_instance

    django_setup(home)
    return current_instance(_home(home), warehouse_dir(home or State.home))


@contextmanager
def _database_errors():
    """A database that cannot be reached is one line, not a traceback."""
    from django.db import Error

    try:
        yield
    except Error as exc:
        raise UptakeError(f"the portal's database: {' '.join(str(exc).split())}") from None


def _stage(text: str) -> None:
    if err.is_terminal:
        err.print(f"[dim]{text}…[/]")


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


@app.command("backup")
def backup_command(
    out_dir: Annotated[Path, typer.Option("--out", help="A new directory to write the backup to.")],
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Back up the portal's database, the warehouse, the published scorecard, uploads and settings."""
    from .ops.backup import backup

    with _errors():
        inst = _instance(home)
        with _database_errors():
            manifest = backup(inst, out_dir, on_stage=_stage)
    files = manifest["files"]
    if as_json:
        _print_json({**{k: v for k, v in manifest.items() if k != "files"}, "path": str(out_dir.resolve()),
                     "file_count": len(files), "bytes": sum(f["size"] for f in files)})
        return
    sizes = {f["path"]: f["size"] for f in files}
    wh = manifest["warehouse"]
    parts = [f"database ({manifest['database']['vendor']}, {_mb(sizes[manifest['database']['file']])})"]
    if wh:
        parquet = [f for f in files if f["path"].startswith("warehouse/data/")]
        parts.append(f"warehouse ({len(wh['datasets'])} datasets, {sum(wh['datasets'].values()):,} rows, "
                     f"{len(parquet)} Parquet files, {_mb(sum(f['size'] for f in parquet))}; {wh['loads']} loads in the ledger)")
    if manifest["published"]:
        parts.append(f"published scorecard ({_mb(sizes[manifest['published']['file']])}, "
                     f"{manifest['published']['maps']} map files)")
    parts.append(f"{manifest['uploads']['files']} uploaded files")
    if manifest["settings"]:
        parts.append("settings.json")
    out.print(f"Backed up to {out_dir.resolve()}: " + "; ".join(parts) + ".")
    out.print(f"{len(files)} files, {_mb(sum(f['size'] for f in files))}, each with its SHA-256 in manifest.json.")


@app.command("restore")
def restore_command(
    backup_dir: Annotated[Path, typer.Argument(help="A directory written by `uptake backup`.")],
    force: Annotated[bool, typer.Option("--force", help="Replace this instance's data if it has some.")] = False,
    verify_only: Annotated[bool, typer.Option(
        "--verify-only", help="Only check the backup (every file's size and SHA-256); change nothing.")] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Restore a backup into this instance (its database, warehouse, publication, uploads, settings),
    after checking every file's checksum; then migrate and rebuild the search index."""
    from .ops.backup import restore, verify

    with _errors():
        _stage("verifying checksums")
        manifest = verify(backup_dir)  # before anything else: a damaged backup is refused at once
        if verify_only:
            report = {"backup": str(backup_dir.resolve()), "ok": True, "created_at": manifest["created_at"],
                      "files": len(manifest["files"]), "bytes": sum(f["size"] for f in manifest["files"])}
        else:
            inst = _instance(home)
            with _database_errors():
                report = restore(backup_dir, inst, force=force, manifest=manifest, on_stage=_stage)
    if as_json:
        _print_json(report)
        return
    if verify_only:
        out.print(f"{report['backup']}: a whole backup made {report['created_at']}: {report['files']} files, "
                  f"{_mb(report['bytes'])}, every checksum matches.")
        return
    wh = report["warehouse"]
    out.print(f"Restored {report['backup']} (made {report['created_at']} from {report['source']['home']}):")
    out.print(f"  database ({report['database']['vendor']}): {report['database']['rows']:,} rows in "
              f"{report['database']['tables']} tables, migrated; search index rebuilt "
              f"({report['search_documents']} documents)")
    if wh:
        out.print(f"  warehouse: {len(wh['datasets'])} datasets, {sum(wh['datasets'].values()):,} rows")
    out.print(f"  published scorecard: {'yes' if report['published'] else 'none in the backup'}; "
              f"{report['uploads']} uploaded files")
    if report["replaced"]:
        out.print("  replaced: " + "; ".join(report["replaced"]))


@app.command("migrate")
def migrate_command(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Bring the portal's database to this version's schema (after installing or upgrading)."""
    from .cli_portal import django_setup

    with _errors():
        django_setup(home)
        with _database_errors():
            from django.core.management import call_command
            from django.db import connection
            from django.db.migrations.executor import MigrationExecutor

            executor = MigrationExecutor(connection)
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
            call_command("migrate", interactive=False, verbosity=0)
            vendor = connection.vendor
    applied = [f"{m.app_label}.{m.name}" for m, _ in plan]
    if as_json:
        _print_json({"database": vendor, "applied": applied})
    elif applied:
        out.print(f"Applied {len(applied)} migrations to the portal's database ({vendor}): {', '.join(applied)}")
    else:
        out.print(f"The portal's database ({vendor}) is up to date: no migrations to apply.")
