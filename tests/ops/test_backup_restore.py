"""docs/operations.md followed: install from scratch (a new database, `uptake migrate`, the tiny
demo), add content (users, a published case study with a PDF, a wiki page's revisions, a formulary
decision), `uptake backup --out DIR`, then `uptake restore DIR` into a new instance (a new
database and a new home) — which then holds the same content: rows per table, the records
themselves, what search finds, the warehouse's tables and ledger, the publication, the uploads,
and /healthz answers 200. On PostgreSQL (pg_dump/pg_restore) and on SQLite (the online backup
API). A damaged backup is refused and the instance restored into is left exactly as it was."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from ops.helpers import SNAPSHOT, Instance, child, make_source, uptake

pytestmark = pytest.mark.slow


def _content_is_there(snap: dict, made: dict) -> None:
    """What ADD_CONTENT made, as the source instance shows it (so that equality below means
    something)."""
    assert snap["healthz"] == [200, [], True]
    users = {u[0]: u for u in snap["users"]}
    assert users["ops.author@example.org"][5] == ["QOX"]
    assert users["ops.moderator@example.org"][4] == ["Moderators"] or users["ops.moderator@example.org"][4]
    cs = snap["case_study"]
    assert cs["slug"] == made["case_study"] and cs["status"] == "published" and cs["tas"] == ["TA464"]
    assert snap["case_study_page"] == [200, True]
    [[name, size, digest, on_disk]] = cs["attachments"]
    assert name == "clinic plan.pdf" and digest == on_disk and snap["attachment_download"] == [200, digest]
    assert ["case_study", made["case_study"]] in snap["search"]["quokka"]
    assert ["wiki", made["wiki"]] in snap["search"]["wallaby month"]
    assert snap["search"]["osteoporosis"]  # the demo's example content is indexed too
    version, revisions = snap["wiki"]
    assert version == 2 and [r[2] for r in revisions] == ["First: restore every quarter.", "Second: restore every month."]
    [decision] = snap["decision"]
    assert decision["ta"] == "TA464" and decision["restrictions"] == "Only after a fragility fracture"
    assert len(snap["decisions"]) > 1000
    assert int(snap["warehouse"]["prescribing"][0]) > 10_000 and snap["published"] and snap["uploads"]
    assert json.loads(snap["settings_json"])["today"] == "2022-09-30"
    assert snap["tables"]["compliance_decision"] > 1000 and snap["tables"]["knowledge_wikirevision"] >= 2


def _manifest(backup: Path) -> dict:
    raw = (backup / "manifest.json").read_bytes()
    assert (backup / "manifest.sha256").read_text().split()[0] == hashlib.sha256(raw).hexdigest()
    return json.loads(raw)


def test_the_guide_on_postgresql_install_back_up_and_restore_into_a_new_instance(pg_database, tmp_path):
    source = Instance(tmp_path / "source", pg_database())
    made = make_source(source)
    before = child(source, SNAPSHOT)
    _content_is_there(before, made)

    backup = tmp_path / "backups" / "2022-09-30"
    uptake(source, "backup", "--out", str(backup))
    manifest = _manifest(backup)
    assert manifest["database"] == {"vendor": "postgresql", "file": "database.pgdump"}
    assert (backup / "database.pgdump").read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    assert not list(backup.parent.glob(".*partial*"))

    target = Instance(tmp_path / "restored", pg_database())
    done = uptake(target, "restore", str(backup))
    assert "search index rebuilt" in done.stdout
    after = child(target, SNAPSHOT)
    assert after == before

    again = uptake(target, "restore", str(backup), ok=False)
    assert again.returncode == 1 and "already has data" in again.stderr and "--force" in again.stderr


def test_the_guide_on_sqlite_with_the_warehouse_elsewhere(sqlite_source, tmp_path):
    source, made = sqlite_source
    before = child(source, SNAPSHOT)
    _content_is_there(before, made)

    backup = tmp_path / "backup"
    uptake(source, "backup", "--out", str(backup))
    manifest = _manifest(backup)
    assert manifest["database"] == {"vendor": "sqlite", "file": "database.sqlite3"}
    copy = sqlite3.connect(backup / "database.sqlite3")
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    copy.close()
    assert not (backup / "warehouse" / "catalogue.duckdb").exists()  # rebuilt on restore: it names absolute paths
    verified = uptake(source, "restore", str(backup), "--verify-only")
    assert "every checksum matches" in verified.stdout

    # the new instance keeps its warehouse on a "shared filesystem" (UPTAKE_WAREHOUSE), not in its home
    shared = tmp_path / "shared" / "warehouse"
    target = Instance(tmp_path / "restored" / "home", extra={"UPTAKE_WAREHOUSE": str(shared)})
    uptake(target, "restore", str(backup))
    assert (shared / "state.json").exists() and (shared / "catalogue.duckdb").exists()
    assert not (target.home / "warehouse").exists()
    after = child(target, SNAPSHOT)
    assert after == before
    status = json.loads(uptake(target, "status", "--json").stdout)
    assert status["home"] == str(shared)


def _tree(root: Path) -> dict[str, str | None]:
    """Every file (its SHA-256) and directory (None) under root."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None
            for p in sorted(root.rglob("*"))}


def _flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


USERS = "import json\nfrom django.contrib.auth import get_user_model\n" \
        "print(json.dumps(sorted(get_user_model().objects.values_list('username', flat=True))))"


def test_a_damaged_backup_is_refused_and_the_instance_is_left_as_it_was(sqlite_source, tmp_path):
    source, _ = sqlite_source
    good = tmp_path / "good"
    uptake(source, "backup", "--out", str(good))

    # the instance to restore into has data of its own: a user and one ODS file loaded
    target = Instance(tmp_path / "target")
    target.home.mkdir()
    uptake(target, "migrate")
    uptake(target, "user", "add", "only.here@example.org", "--password", "a target password 77")
    uptake(target, "ingest", str(next((source.home / "demo-files").rglob("epraccur*"))))
    untouched = _tree(target.home)
    assert child(target, USERS) == ["only.here@example.org"]

    files = [f["path"] for f in _manifest(good)["files"]]
    damaged = {"the database": "database.sqlite3",
               "a Parquet file": next(p for p in files if p.startswith("warehouse/data/prescribing/")),
               "the warehouse state": "warehouse/state.json",
               "the publication": "published/scorecard.duckdb",
               "an upload": next(p for p in files if p.startswith("uploads/")),
               "the manifest": "manifest.json"}
    for what, rel in damaged.items():
        bad = tmp_path / f"bad-{rel.replace('/', '_')}"
        shutil.copytree(good, bad)
        _flip_one_byte(bad / rel)
        done = uptake(target, "restore", str(bad), "--force", ok=False)
        assert done.returncode == 1, (what, done.stdout)
        assert str(bad / rel) in done.stderr and "nothing was restored" in done.stderr, (what, done.stderr)
        assert _tree(target.home) == untouched, what

    missing = tmp_path / "bad-missing"
    shutil.copytree(good, missing)
    (missing / "settings.json").unlink()
    done = uptake(target, "restore", str(missing), "--force", ok=False)
    assert done.returncode == 1 and "settings.json is missing" in done.stderr
    assert _tree(target.home) == untouched

    # the whole backup, with --force, replaces what the instance had
    uptake(target, "restore", str(good), "--force")
    assert "only.here@example.org" not in child(target, USERS)
    assert "ops.author@example.org" in child(target, USERS)
    leftovers = [p for p in target.home.rglob("*") if ".restore-" in p.name or ".old-" in p.name]
    assert not leftovers
