"""Publishing: the complete scorecard (every TA and measure × every level × every month, with
funnel flags) computed once by the engine and written to one DuckDB file that the portal, the
API and reports read instead of scanning raw prescribing.

The file is `<home>/published/scorecard.duckdb`. It is written beside the old one and swapped in
with one rename, so a portal reading it never sees half a publication. Its tables:

    ta_scorecard       engine.scorecard.with_metrics rows + flag_95, flag_998, flag_998_od
    measure_scorecard  engine.scorecard.measure_level_facts rows + the flags
    organisations      level, code, name, parent_level, parent: the hierarchy in the latest month
    diffusion          ta, level, JSON of services.diffusion.Diffusion (region and ICB levels)
    peers              level, org, peer, rank, similarity: services.peers (meta 'peers': the notes)
    meta               key, value (JSON): when, from which warehouse state, months, sources

The full downloads (services.downloads) are written from the new file before it is swapped in,
and temporary files that a killed publish (or download, or report) left are swept first.

Figures are stored unsuppressed: the services suppress small counts when they read them, the
same way for the engine and for the published tables.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from .. import __version__
from ..engine.hierarchy import ENGLAND, ENGLAND_CODE, LEVELS
from ..errors import UptakeError
from ..fsutil import sweep_temporary, temporary_name
from . import downloads
from .analysis import ALL_LEVELS, PARENT_LEVEL, Analysis
from .funnels import flag_columns, measure_headline

FILE_NAME = "scorecard.duckdb"
DIFFUSION_LEVELS = ("region", "icb")


def published_path(home: Path) -> Path:
    return Path(home) / "published" / FILE_NAME


@dataclass
class PublishReport:
    path: str
    months: int
    first_month: str
    last_month: str
    ta_rows: int
    measure_rows: int
    organisations: int
    seconds: dict[str, float]
    bytes: int

    def to_dict(self) -> dict:
        return asdict(self)


def publish(an: Analysis, path: Path, *, step: Callable[[str], None] = lambda _: None,
            imd: dict[str, float] | None = None) -> PublishReport:
    """Compute the complete scorecard with the engine of `an` and write it to `path`."""
    months = an.months()
    if not months:
        raise UptakeError(f"{an.describe()}: no prescribing loaded; nothing to publish")
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now
        step(name)

    tas = [t.id for t in an.catalogue.technology_appraisals]
    ta = an.ta_table(tas, months, ALL_LEVELS)
    lap("scorecard computed")
    ta = _with(ta, flag_columns(ta, "ta"))
    lap("funnel flags")
    measure_ids = [m.id for m in an.measures]
    ms = an.measure_table(measure_ids, months, ALL_LEVELS) if measure_ids else None
    if ms is not None:
        heads = {m.id: measure_headline(m) for m in an.measures}
        ms = ms.append_column("headline", pa.array([heads[m] for m in ms.column("measure").to_pylist()], pa.string()))
        ms = _with(ms, flag_columns(ms, "measure"))
    lap("measures computed")
    orgs = organisation_table(an, months[-1], ta)
    lap("organisations")
    unplaced = unplaced_table(an, tas, measure_ids, months)
    undated = an.undated_membership(months)
    lap("unplaced activity")
    from .peers import peer_table, publishable

    peer_groups, peer_notes = publishable(an, imd)
    lap("peers")

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_temporary(path.parent)  # what a killed publish, download or report left
    tmp = temporary_name(path)
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        con.register("ta_in", ta)
        con.execute("CREATE TABLE ta_scorecard AS SELECT * FROM ta_in ORDER BY ta, level, month, org")
        if ms is not None:
            con.register("ms_in", ms)
            con.execute("CREATE TABLE measure_scorecard AS SELECT * FROM ms_in ORDER BY measure, level, month, org")
        if undated.num_columns > 1:
            con.register("undated_in", undated)
            con.execute("CREATE TABLE undated_membership AS SELECT * FROM undated_in ORDER BY month")
        con.register("unplaced_in", unplaced)
        con.execute("CREATE TABLE unplaced AS SELECT * FROM unplaced_in ORDER BY kind, subject, level, month")
        con.register("org_in", orgs)
        con.execute("CREATE TABLE organisations AS SELECT * FROM org_in ORDER BY level, code")
        con.register("peers_in", peer_table(peer_groups))
        con.execute("CREATE TABLE peers AS SELECT * FROM peers_in ORDER BY level, org, rank")
        con.execute("CREATE TABLE diffusion (ta VARCHAR, level VARCHAR, body VARCHAR)")
        con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        meta = _meta(an, months, ta.num_rows, 0 if ms is None else ms.num_rows)
        meta["peers"] = peer_notes
        con.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
    finally:
        con.close()
    lap("written")
    _add_diffusion(tmp, tas)
    lap("diffusion fitted")
    with duckdb.connect(str(tmp), read_only=True) as con:  # ready before anyone can ask for them
        downloads.write_scorecards(con, path, meta["published_at"])
    lap("downloads written")
    os.replace(tmp, path)
    downloads.prune(path)
    return PublishReport(
        path=str(path), months=len(months), first_month=f"{months[0]:%Y-%m}", last_month=f"{months[-1]:%Y-%m}",
        ta_rows=ta.num_rows, measure_rows=0 if ms is None else ms.num_rows, organisations=orgs.num_rows,
        seconds=timings, bytes=path.stat().st_size)


def unplaced_table(an: Analysis, tas: list[str], measure_ids: list[str], months) -> pa.Table:
    """(kind, level, subject, month, organisations, counted) for every TA and measure: what the
    scorecard pages report as not placed in any organisation of a level."""
    levels = tuple(x for x in ALL_LEVELS if x != ENGLAND)
    parts = [(kind, an.unplaced(kind, ids, months, levels)) for kind, ids in (("ta", tas), ("measure", measure_ids))
             if ids]
    tables = [t.append_column("kind", pa.array([kind] * t.num_rows, pa.string())) for kind, t in parts]
    return pa.concat_tables(tables) if tables else an.unplaced("ta", [], months, ()).append_column(
        "kind", pa.array([], pa.string()))


def _with(table: pa.Table, columns: dict[str, pa.Array]) -> pa.Table:
    for name, values in columns.items():
        if name in table.column_names:
            table = table.drop_columns([name])
        table = table.append_column(name, values)
    return table


def organisation_table(an: Analysis, when, scorecard: pa.Table | None = None) -> pa.Table:
    """Every organisation of every level — in the organisation files or in the scorecard — with
    its name (None when no file names it: then pages show the code) and its parent in `when`
    (the latest month): the directory the portal searches and drills down."""
    from ..engine.scorecard import organisation_memberships

    parents: dict[tuple[str, str], tuple[str, str]] = {}
    if "org_relations" in an.datasets:
        inp = an.inputs([when], tas=[])
        m = organisation_memberships(inp, an.current_orgs)
        got = an.engine.execute(m.select("child", "child_type", "parent", "parent_type")).to_pylist()
        for r in got:
            level = r["child_type"]
            if level in PARENT_LEVEL and r["parent_type"] == PARENT_LEVEL[level]:
                parents[(level, r["child"])] = (r["parent_type"], r["parent"])
        for r in got:  # practices outside any PCN hang from their sub-ICB
            if r["child_type"] == "practice" and r["parent_type"] == "sub_icb":
                parents.setdefault(("practice", r["child"]), ("sub_icb", r["parent"]))
    names = an.names()
    known = {key for key in names if key[0] in LEVELS}
    if "organisations" in an.datasets:
        t = an.engine.table("organisations")
        got = an.engine.execute(t.filter(t.type.isin(list(LEVELS))).select("type", "code").distinct())
        known.update(zip(got.column("type").to_pylist(), got.column("code").to_pylist()))
    if scorecard is not None:
        pairs = scorecard.select(["level", "org"]).group_by(["level", "org"]).aggregate([])
        known.update((lv, org) for lv, org in zip(pairs.column("level").to_pylist(), pairs.column("org").to_pylist())
                     if lv in LEVELS)
    rows = []
    for level, code in sorted(known):
        up = ("england", ENGLAND_CODE) if level == "region" else parents.get((level, code), (None, None))
        rows.append({"level": level, "code": code, "name": names.get((level, code)), "parent_level": up[0],
                     "parent": up[1]})
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("level", pa.string()), ("code", pa.string()), ("name", pa.string()),
        ("parent_level", pa.string()), ("parent", pa.string())]))


def _meta(an: Analysis, months, ta_rows: int, measure_rows: int) -> dict:
    status = an.warehouse.status()
    sources = {}
    for name, d in status["datasets"].items():
        sources[name] = {k: d.get(k) for k in ("partitions", "rows", "first", "last", "last_loaded", "sources")}
    return {
        "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "uptake_version": __version__,
        "warehouse": str(an.warehouse.root),
        "warehouse_serial": status.get("serial", 0),
        "engine": an.engine_name,
        "membership": an.membership,
        "current_orgs": an.current_orgs,
        "months": [f"{m:%Y-%m}" for m in months],
        "datasets": list(an.datasets),
        "sources": sources,
        "month_sources": an.warehouse.month_sources(),
        "outside_extract": an.outside_extract_by_month(months),
        "ta_rows": ta_rows,
        "measure_rows": measure_rows,
    }


def _add_diffusion(path: Path, tas: list[str]) -> None:
    """Fit every TA's diffusion curves from the published tables themselves (the same service
    the CLI runs) and store them, so that no page fits a curve while a person waits."""
    from .diffusion import diffusion
    from .published import Published

    bodies = []
    with Published(path) as pub:
        for ta in tas:
            for level in DIFFUSION_LEVELS:
                try:
                    d = diffusion(pub, ta, level)
                except UptakeError:
                    continue
                bodies.append((ta, level, json.dumps(d.to_dict())))
    con = duckdb.connect(str(path))
    try:
        con.executemany("INSERT INTO diffusion VALUES (?, ?, ?)", bodies)
    finally:
        con.close()
