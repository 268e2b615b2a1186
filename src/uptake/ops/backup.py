"""Back up an instance to a directory, and restore one from it.

An instance is the portal's database and the files beside it:

    database            PostgreSQL: `pg_dump --format=custom` (a consistent snapshot of a live
                        database); SQLite: the online backup API (sqlite3 `Connection.backup`),
                        never a copy of the file, which a running portal may be writing
    warehouse/          state.json (the current files and the load ledger) and every Parquet file
                        it names, copied while the warehouse's load lock is held; catalogue.duckdb
                        is not kept: it names the files by absolute path, so a restore rebuilds it
    published/          the published scorecard and its maps (the downloads cache is not kept)
    uploads/            case-study attachments (settings.UPLOAD_ROOT)
    settings.json       the home's settings (a demo's frozen today)

A backup directory holds those files, `manifest.json` (every file's path, size and SHA-256, and
what was backed up from where) and `manifest.sha256` (the manifest's own checksum). It is written
as `.<name>.partial-…` beside its final name and renamed when complete, so a directory with the
final name is always a whole backup.

A restore first verifies everything: the manifest's checksum, that the directory holds exactly
the files the manifest lists, and each file's size and SHA-256. A damaged backup is refused before
anything is touched. It refuses an instance that already has data unless `force` is given. Then
it stages every file beside its destination (Parquet files beside the current ones, under names
the current state does not use; the publication, uploads and settings under temporary names),
restores the database in one transaction (`pg_restore --single-transaction`; SQLite's backup
API, itself one transaction), and swaps the staged files in by renames, the warehouse by
replacing state.json (its commit point, as a load does). A failure before the database is
restored removes what was staged and leaves the instance as it was. Last, it migrates the
database to this version's schema and rebuilds the knowledge search index.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from .. import __version__
from ..errors import UptakeError
from ..fsutil import fsync_dir

FORMAT = "uptake-backup"
VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_SUM = "manifest.sha256"
PG_FILE = "database.pgdump"
SQLITE_FILE = "database.sqlite3"
SETTINGS = "settings.json"
PUBLISHED_FILE = "published/scorecard.duckdb"
TOP_LEVEL = {PG_FILE, SQLITE_FILE, SETTINGS, "warehouse", "published", "uploads"}
CHUNK = 1 << 22
PG_BIN_ENV = "UPTAKE_PG_BIN"
# Tables a freshly migrated database already fills: not "data" when deciding whether a restore
# would replace something.
SCHEMA_TABLES = {"django_migrations", "django_content_type", "auth_permission"}


class BackupError(UptakeError):
    pass


@dataclass
class Instance:
    """Where one instance keeps its things."""

    home: Path
    warehouse: Path
    published: Path
    uploads: Path
    database: dict  # Django's DATABASES["default"]

    @property
    def vendor(self) -> str:
        engine = self.database["ENGINE"]
        if engine.endswith("postgresql"):
            return "postgresql"
        if engine.endswith("sqlite3"):
            return "sqlite"
        raise BackupError(f"database engine {engine}: backups support PostgreSQL and SQLite")

    @property
    def geo(self) -> Path:
        return self.published.parent / "geo"

    def describe(self) -> dict:
        db = self.database
        return {"home": str(self.home), "warehouse": str(self.warehouse), "published": str(self.published),
                "uploads": str(self.uploads),
                "database": {"vendor": self.vendor, "name": str(db.get("NAME", "")), "host": db.get("HOST") or ""}}


def current_instance(home: Path, warehouse: Path) -> Instance:
    """The instance Django's settings describe (Django must be set up), with its warehouse."""
    from django.conf import settings

    return Instance(home=Path(home), warehouse=Path(warehouse), published=Path(settings.PUBLISHED),
                    uploads=Path(settings.UPLOAD_ROOT), database=dict(settings.DATABASES["default"]))


# --- files ------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def _copy(src: Path, dst: Path) -> tuple[int, str]:
    """Copy src to dst (flushed to disk): its size and SHA-256, computed while copying."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    h, size = hashlib.sha256(), 0
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        while block := fi.read(CHUNK):
            h.update(block)
            fo.write(block)
            size += len(block)
        fo.flush()
        os.fsync(fo.fileno())
    return size, h.hexdigest()


_fsync_dir = fsync_dir


def _files_under(root: Path) -> Iterator[Path]:
    """Regular files under root, without hidden ones (an upload being written is `.name.part`)."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            yield path


def _safe(rel: str) -> str:
    """A manifest path: relative, inside the backup, under one of its known parts."""
    p = PurePosixPath(rel)
    if p.is_absolute() or ".." in p.parts or not p.parts or p.parts[0] not in TOP_LEVEL or "\\" in rel:
        raise BackupError(f"manifest path {rel!r} is not a path inside a backup; the manifest is not uptake's")
    return rel


# --- PostgreSQL ------------------------------------------------------------------------------------


def _pg_tool(name: str) -> str:
    folder = os.environ.get(PG_BIN_ENV)
    candidates = [Path(folder) / name] if folder else []
    found = shutil.which(name)
    if found:
        candidates.append(Path(found))
    candidates += sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    raise BackupError(f"{name} not found: install the PostgreSQL client programs (e.g. apt install "
                      f"postgresql-client), or set {PG_BIN_ENV} to the directory that holds them")


def _conninfo(db: dict) -> tuple[str, dict]:
    """A libpq connection string for Django's database settings (the password goes in the
    environment, not on a command line other users can see), and that environment."""
    def quoted(v) -> str:
        return "'" + str(v).replace("\\", "\\\\").replace("'", "\\'") + "'"

    params = {"dbname": db.get("NAME"), "host": db.get("HOST"), "port": db.get("PORT"), "user": db.get("USER"),
              **(db.get("OPTIONS") or {})}
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return " ".join(f"{k}={quoted(v)}" for k, v in params.items() if v not in (None, "")), env


def _run(command: list[str], env: dict, what: str) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        detail = " ".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise BackupError(f"{what} failed ({Path(command[0]).name} exited with {done.returncode}): {detail}")


# --- the database ---------------------------------------------------------------------------------


def _backup_database(inst: Instance, folder: Path) -> str:
    if inst.vendor == "postgresql":
        conninfo, env = _conninfo(inst.database)
        _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file",
              str(folder / PG_FILE), "--dbname", conninfo], env, "pg_dump")
        return PG_FILE
    name = str(inst.database.get("NAME") or "")
    if not name or name == ":memory:" or not Path(name).is_file():
        raise BackupError(f"the portal's SQLite database {name or '(none)'} does not exist: nothing to back up "
                          "(run `uptake migrate` first)")
    dest = folder / SQLITE_FILE
    src = sqlite3.connect(name, timeout=60)
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst)  # one consistent snapshot, even while the portal writes
        check = dst.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        src.close()
        dst.close()
    if check != "ok":
        raise BackupError(f"{name}: SQLite's integrity check of the copy says {check!r}")
    return SQLITE_FILE


def _restore_database(inst: Instance, source: Path) -> None:
    from django.db import connections

    connections.close_all()
    if inst.vendor == "postgresql":
        conninfo, env = _conninfo(inst.database)
        _run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
              "--single-transaction", "--exit-on-error", "--dbname", conninfo, str(source)], env, "pg_restore")
        return
    target = Path(inst.database["NAME"])
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{quote(str(source.resolve()))}?mode=ro&immutable=1", uri=True)
    dst = sqlite3.connect(target, timeout=60)
    try:
        src.backup(dst)  # written in one transaction: a failure leaves the target as it was
    finally:
        src.close()
        dst.close()


def database_contents() -> dict[str, int]:
    """Rows per table of the portal's database (Django's tables that exist; Django set up)."""
    from django.db import connection

    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    counts = {}
    with connection.cursor() as cur:
        for table in sorted(tables):
            cur.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cur.fetchone()[0]
    return counts


# --- what an instance holds -------------------------------------------------------------------------


def existing_data(inst: Instance) -> list[str]:
    """What in this instance a restore would replace (empty for a new instance)."""
    from ..warehouse import Warehouse

    found = []
    try:
        if inst.vendor == "sqlite" and not Path(inst.database["NAME"]).exists():
            rows = {}  # no database yet (opening it would make an empty file)
        else:
            rows = {t: n for t, n in database_contents().items() if n and t not in SCHEMA_TABLES}
    except Exception as exc:  # the database named by the settings cannot be read at all
        raise BackupError(f"cannot read the portal's database ({inst.vendor}): {exc}") from None
    if rows:
        examples = ", ".join(f"{t} {n:,}" for t, n in sorted(rows.items(), key=lambda kv: -kv[1])[:3])
        found.append(f"the database has {sum(rows.values()):,} rows in {len(rows)} tables ({examples}, …)")
    if (inst.warehouse / "state.json").exists():
        loaded = {k: v for k, v in Warehouse(inst.warehouse).state()["datasets"].items() if v}
        if loaded:
            found.append(f"the warehouse {inst.warehouse} holds {len(loaded)} datasets")
    if inst.published.exists():
        found.append(f"a published scorecard {inst.published}")
    uploads = sum(1 for _ in _files_under(inst.uploads))
    if uploads:
        found.append(f"{uploads} uploaded files in {inst.uploads}")
    return found


# --- back up ---------------------------------------------------------------------------------------


@dataclass
class _Files:
    folder: Path
    listed: dict[str, dict] = field(default_factory=dict)

    def copy(self, src: Path, rel: str) -> None:
        size, digest = _copy(src, self.folder / _safe(rel))
        self.listed[rel] = {"path": rel, "size": size, "sha256": digest}

    def add(self, rel: str) -> None:
        path = self.folder / _safe(rel)
        self.listed[rel] = {"path": rel, "size": path.stat().st_size, "sha256": _sha256(path)}


def backup(inst: Instance, out: Path, *, on_stage: Callable[[str], None] | None = None) -> dict:
    """Back up `inst` to the new directory `out`; returns the manifest."""
    from ..warehouse import Warehouse

    stage = on_stage or (lambda s: None)
    out = Path(out).expanduser().resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BackupError(f"{out} already exists; back up to a new directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    files = _Files(tmp)
    try:
        stage("database")
        db_file = _backup_database(inst, tmp)
        files.add(db_file)

        stage("warehouse")
        warehouse = None
        wh = Warehouse(inst.warehouse)
        if wh.state_path.exists():
            with wh._locked():  # no load commits (and sweeps files away) while they are copied
                raw = wh.state_path.read_bytes()
                state = wh.state()
                for _name, parts in sorted(state["datasets"].items()):
                    for part in parts.values():
                        for rel in part["files"]:
                            files.copy(inst.warehouse / rel, f"warehouse/{PurePosixPath(rel)}")
                (tmp / "warehouse").mkdir(exist_ok=True)
                (tmp / "warehouse" / "state.json").write_bytes(raw)
                files.add("warehouse/state.json")
            warehouse = {"serial": state.get("serial", 0), "loads": len(state["loads"]),
                         "datasets": {name: sum(p["rows"] for p in parts.values())
                                      for name, parts in sorted(state["datasets"].items()) if parts}}

        stage("published")
        published = None
        if inst.published.is_file():
            files.copy(inst.published, PUBLISHED_FILE)
            geo = [p for p in _files_under(inst.geo)]
            for p in geo:
                files.copy(p, f"published/geo/{p.relative_to(inst.geo).as_posix()}")
            published = {"file": PUBLISHED_FILE, "maps": len(geo)}

        stage("uploads")
        uploads = 0
        for p in _files_under(inst.uploads):
            files.copy(p, f"uploads/{p.relative_to(inst.uploads).as_posix()}")
            uploads += 1
        settings_file = inst.home / SETTINGS
        if settings_file.is_file():
            files.copy(settings_file, SETTINGS)

        manifest = {
            "format": FORMAT, "version": VERSION, "uptake_version": __version__,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "source": inst.describe(),
            "database": {"vendor": inst.vendor, "file": db_file},
            "warehouse": warehouse, "published": published, "uploads": {"files": uploads},
            "settings": settings_file.is_file(),
            "files": [files.listed[k] for k in sorted(files.listed)],
        }
        raw = json.dumps(manifest, indent=1).encode()
        (tmp / MANIFEST).write_bytes(raw)
        (tmp / MANIFEST_SUM).write_text(f"{hashlib.sha256(raw).hexdigest()}  {MANIFEST}\n")
        for d in sorted({p.parent for p in tmp.rglob("*")} | {tmp}, key=lambda p: -len(p.parts)):
            _fsync_dir(d)
        if out.exists():
            out.rmdir()
        os.rename(tmp, out)
        _fsync_dir(out.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


# --- verify ----------------------------------------------------------------------------------------


def verify(folder: Path) -> dict:
    """The manifest of a whole, undamaged backup; BackupError naming the first problem otherwise."""
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise BackupError(f"{folder}: no such backup directory")
    mpath, spath = folder / MANIFEST, folder / MANIFEST_SUM
    if not mpath.is_file():
        raise BackupError(f"{folder}: not an uptake backup (no {MANIFEST})")
    if not spath.is_file():
        raise BackupError(f"{spath} is missing: the backup is incomplete; nothing was restored")
    raw = mpath.read_bytes()
    recorded = (spath.read_text(errors="replace").split() or [""])[0]
    if hashlib.sha256(raw).hexdigest() != recorded:
        raise BackupError(f"{mpath}: its SHA-256 does not match {MANIFEST_SUM}: the manifest is damaged; "
                          "nothing was restored")
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        raise BackupError(f"{mpath}: not JSON ({exc})") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise BackupError(f"{mpath}: backup format {manifest.get('format')!r} version {manifest.get('version')!r}; "
                          f"this uptake reads {FORMAT!r} version {VERSION}")
    listed = {_safe(f["path"]): f for f in manifest["files"]}
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {MANIFEST, MANIFEST_SUM}
    missing, extra = sorted(set(listed) - present), sorted(present - set(listed))
    if missing:
        raise BackupError(f"{folder / missing[0]} is missing ({len(missing)} files the manifest lists are); "
                          "nothing was restored")
    if extra:
        raise BackupError(f"{folder / extra[0]} is not in the manifest ({len(extra)} such files); "
                          "nothing was restored")
    for rel, entry in sorted(listed.items()):
        path = folder / rel
        size = path.stat().st_size
        if size != entry["size"]:
            raise BackupError(f"{path}: {size:,} bytes; the manifest says {entry['size']:,}: the backup is damaged; "
                              "nothing was restored")
        digest = _sha256(path)
        if digest != entry["sha256"]:
            raise BackupError(f"{path}: its SHA-256 ({digest[:12]}…) does not match the manifest "
                              f"({entry['sha256'][:12]}…): the backup is damaged; nothing was restored")
    if manifest["database"]["file"] not in listed:
        raise BackupError(f"{mpath}: the database file {manifest['database']['file']} is not listed")
    return manifest


# --- restore ---------------------------------------------------------------------------------------


@dataclass
class _Staged:
    """Files and directories written beside their destinations, and what to rename where."""

    created: list[Path] = field(default_factory=list)  # removed if the restore fails
    renames: list[tuple[Path, Path]] = field(default_factory=list)  # (staged, destination)

    def discard(self) -> None:
        for p in reversed(self.created):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)


def _stage_copy(staged: _Staged, src: Path, dst: Path, expected: str) -> None:
    staged.created.append(dst)
    _, digest = _copy(src, dst)
    if digest != expected:  # the backup changed since it was verified
        raise BackupError(f"{src}: changed while it was being restored (SHA-256 {digest[:12]}… ≠ {expected[:12]}…)")


def _stage_warehouse(folder: Path, listed: dict, root: Path, staged: _Staged) -> tuple[dict, Path]:
    """Copy the backup's Parquet files into the warehouse beside the current ones (a file of the
    same name and content is kept; one of the same name and other content is given a new name),
    and write the backup's state, with those names, to a temporary file: (state, its path)."""
    state = json.loads((folder / "warehouse" / "state.json").read_bytes())
    tag = uuid.uuid4().hex[:8]
    for parts in state["datasets"].values():
        for part in parts.values():
            names = []
            for rel in part["files"]:
                src = folder / "warehouse" / rel
                expected = listed[f"warehouse/{PurePosixPath(rel)}"]["sha256"]
                dst = root / rel
                if dst.exists():
                    if _sha256(dst) == expected:
                        names.append(rel)
                        continue
                    rel = str(PurePosixPath(rel).with_name(f"{PurePosixPath(rel).stem}.restored-{tag}.parquet"))
                    dst = root / rel
                _stage_copy(staged, src, dst, expected)
                names.append(rel)
            part["files"] = names
    tmp = root / f"state.restore-{tag}.tmp"
    staged.created.append(tmp)
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=1, sort_keys=True, default=str)
        f.flush()
        os.fsync(f.fileno())
    return state, tmp


def _stage_tree(folder: Path, prefix: str, listed: dict, dest: Path, staged: _Staged) -> None:
    """The backup's files under `prefix` copied to a new directory beside `dest`, to be renamed
    over it."""
    tmp = dest.parent / f".{dest.name}.restore-{uuid.uuid4().hex[:8]}"
    staged.created.append(tmp)
    tmp.mkdir(parents=True)
    for rel, entry in listed.items():
        if rel.startswith(prefix + "/"):
            _stage_copy(staged, folder / rel, tmp / rel[len(prefix) + 1:], entry["sha256"])
    staged.renames.append((tmp, dest))


def _stage_file(folder: Path, rel: str, listed: dict, dest: Path, staged: _Staged) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.restore-{uuid.uuid4().hex[:8]}.tmp"
    _stage_copy(staged, folder / rel, tmp, listed[rel]["sha256"])
    staged.renames.append((tmp, dest))


def _swap(staged: Path, dest: Path) -> None:
    """Put `staged` where `dest` is: a file by one rename; a directory by moving the old one
    aside, renaming the new one in and then deleting the old one."""
    if staged.is_dir():
        old = dest.parent / f".{dest.name}.old-{uuid.uuid4().hex[:8]}"
        if dest.exists():
            os.rename(dest, old)
        os.rename(staged, dest)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staged, dest)
    _fsync_dir(dest.parent)


def restore(folder: Path, inst: Instance, *, force: bool = False, manifest: dict | None = None,
            on_stage: Callable[[str], None] | None = None) -> dict:
    """Restore the backup in `folder` into `inst` (Django set up on inst's database). `manifest`:
    what `verify(folder)` answered just before, if it was called (else it is called here)."""
    from ..warehouse import Warehouse

    stage = on_stage or (lambda s: None)
    folder = Path(folder).expanduser().resolve()
    if manifest is None:
        stage("verifying checksums")
        manifest = verify(folder)
    listed = {f["path"]: f for f in manifest["files"]}
    theirs = manifest["database"]["vendor"]
    if theirs != inst.vendor:
        raise BackupError(f"the backup's database is {theirs}; this instance's is {inst.vendor} "
                          "(UPTAKE_DATABASE_URL): restore into an instance with the same kind of database")
    existing = existing_data(inst)
    if existing and not force:
        raise BackupError("this instance already has data, which a restore would replace: " + "; ".join(existing)
                          + ". Restore into a new database and home, or give --force to replace it")

    staged = _Staged()
    wh = Warehouse(inst.warehouse)
    with ExitStack() as stack:
        state = state_tmp = None
        try:
            stage("copying files")
            if manifest.get("warehouse") is not None:
                stack.enter_context(wh._locked())  # no load runs until the restored state is in
                state, state_tmp = _stage_warehouse(folder, listed, inst.warehouse, staged)
            if manifest.get("published"):
                _stage_file(folder, PUBLISHED_FILE, listed, inst.published, staged)
                if manifest["published"].get("maps"):
                    _stage_tree(folder, "published/geo", listed, inst.geo, staged)
            if manifest["uploads"]["files"] or any(_files_under(inst.uploads)):
                _stage_tree(folder, "uploads", listed, inst.uploads, staged)
            if manifest.get("settings"):
                _stage_file(folder, SETTINGS, listed, inst.home / SETTINGS, staged)
            stage("restoring the database")
            _restore_database(inst, folder / manifest["database"]["file"])
        except BaseException:
            staged.discard()
            raise
        stage("swapping files in")
        if state_tmp is not None:
            os.replace(state_tmp, wh.state_path)  # the warehouse's commit
            _fsync_dir(inst.warehouse)
            wh._sweep(state)
            wh._refresh_catalogue(state)
        for tmp, dest in staged.renames:
            _swap(tmp, dest)

    stage("migrating and rebuilding the search index")
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from ..web.knowledge.documents import reindex_all

    documents = reindex_all()
    rows = database_contents()
    return {"backup": str(folder), "created_at": manifest["created_at"], "source": manifest["source"],
            "database": {"vendor": inst.vendor, "tables": len(rows), "rows": sum(rows.values())},
            "warehouse": manifest.get("warehouse"), "published": bool(manifest.get("published")),
            "uploads": manifest["uploads"]["files"], "search_documents": documents,
            "replaced": existing}
