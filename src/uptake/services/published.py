"""The published scorecard as a `Source`: the services (scorecard, profile, variation,
diffusion) read the precomputed tables written by `services.publish` exactly as they read the
engine, so a page shows the figures `uptake scorecard` prints, without scanning prescribing.

Opened read-only; several processes (the portal's workers) may hold it at once. One DuckDB
cursor per thread."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from ..catalogue import load_catalogue
from ..catalogue.measures import load_measures
from ..engine.hierarchy import ENGLAND, ENGLAND_CODE
from ..errors import UptakeError
from .analysis import CHILD_LEVEL, Source, parse_month


class Published(Source):
    def __init__(self, path: str | Path, *, threads: int | None = None):
        self.path = Path(path)
        if not self.path.exists():
            raise UptakeError(f"{self.path}: no published scorecard; run `uptake publish` (or `uptake demo`)")
        self._con = duckdb.connect(str(self.path), read_only=True)
        if threads:  # a setting of the database instance, shared by connections in this process
            self._con.execute(f"SET threads TO {int(threads)}")
        self._local = threading.local()
        self.catalogue = load_catalogue()
        self.measures = load_measures()
        self.meta = {k: json.loads(v) for k, v in self._con.execute("SELECT key, value FROM meta").fetchall()}
        self._months = [parse_month(m) for m in self.meta["months"]]
        self.datasets = tuple(self.meta["datasets"])
        self.current_orgs = bool(self.meta["current_orgs"])
        self._names: dict[tuple[str, str], str] | None = None
        self._orgs: list[dict] | None = None
        self._by_key: dict[tuple[str, str], dict] | None = None
        tables = {r[0] for r in self._con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        self._has_measures = "measure_scorecard" in tables
        self._has_unplaced = "unplaced" in tables
        self._has_undated = "undated_membership" in tables

    def close(self) -> None:
        self._con.close()

    def describe(self) -> str:
        return str(self.path)

    @property
    def engine_name(self) -> str:
        return f"published ({self.meta['engine']})"

    @property
    def published_at(self) -> str:
        return self.meta["published_at"]

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self._con.cursor()
        return cur

    def query(self, sql: str, params: Sequence = ()) -> pa.Table:
        rel = self._cursor().sql(sql, params=list(params))
        # DuckDB 2 names it to_arrow_table; 1.x arrow()
        return rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()

    def months(self) -> list[date]:
        return self._months

    def month_sources(self, when: date) -> dict[str, list[str]]:
        return self.meta.get("month_sources", {}).get(f"{when:%Y-%m}", {})

    def outside_extract(self, when: date) -> list[str]:
        return self.meta.get("outside_extract", {}).get(f"{when:%Y-%m}", [])

    # --- the Source interface ----------------------------------------------------------------

    def ta_table(self, tas: list[str], months: list[date], levels: tuple[str, ...]) -> pa.Table:
        return self._rows("ta_scorecard", "ta", tas, months, levels)

    def measure_table(self, measure_ids: list[str], months: list[date], levels: tuple[str, ...]) -> pa.Table:
        if not self._has_measures:
            raise UptakeError(f"{self.path}: no measures were published")
        return self._rows("measure_scorecard", "measure", measure_ids, months, levels)

    def _rows(self, table: str, key: str, subjects: list[str], months: list[date], levels) -> pa.Table:
        wanted = sorted({*levels, ENGLAND})
        return self.query(
            f"SELECT * FROM {table} WHERE {key} IN (SELECT unnest(?)) AND month IN (SELECT unnest(?)) "
            f"AND level IN (SELECT unnest(?))", [list(subjects), list(months), wanted])

    def unplaced(self, kind: str, subjects: list[str], months: list[date], levels: tuple[str, ...]) -> pa.Table:
        """As `Analysis.unplaced`, from the table written when publishing (none before it was)."""
        if not self._has_unplaced:
            return pa.table({"level": pa.array([], pa.string())})
        return self.query(
            "SELECT level, subject, month, organisations, counted FROM unplaced WHERE kind = ? "
            "AND subject IN (SELECT unnest(?)) AND month IN (SELECT unnest(?)) AND level IN (SELECT unnest(?))",
            [kind, list(subjects), list(months), list(levels)])

    def undated_membership(self, months: list[date]) -> pa.Table:
        if not self._has_undated:
            return super().undated_membership(months)
        return self.query("SELECT month, sub_icbs, undated FROM undated_membership WHERE month IN (SELECT unnest(?))",
                          [list(months)])

    def org_series(self, code: str, level: str, tas: list[str], months: list[date]) -> list[dict]:
        rows = self.query(
            "SELECT * EXCLUDE (flag_95, flag_998) FROM ta_scorecard WHERE level = ? AND org = ? "
            "AND ta IN (SELECT unnest(?)) AND month IN (SELECT unnest(?))",
            [level, code, list(tas), list(months)]).to_pylist()
        now = months[-1]
        for r in rows:
            if r["month"] != now:
                r["flag_998_od"] = None
        return rows

    def names(self) -> dict[tuple[str, str], str]:
        if self._names is None:
            self._names = {(o["level"], o["code"]): o["name"] for o in self.organisations() if o["name"]}
            self._names[(ENGLAND, ENGLAND_CODE)] = "England"
        return self._names

    def levels_of(self, code: str) -> set[str]:
        """Every level the published directory gives `code`, named or not."""
        self._directory()
        return self._levels.get(code, set())

    def unknown_org(self, code: str) -> str:
        return f"no organisation {code!r} in the published scorecard"

    def organisation(self, code: str) -> dict:
        """The directory entry (level, code, name, parent_level, parent) of a code at its highest
        level; England for ENG."""
        level = self.org_level(code)
        if level == ENGLAND:
            return {"level": ENGLAND, "code": ENGLAND_CODE, "name": "England", "parent_level": None, "parent": None}
        return self._directory()[(level, code.strip().upper())]

    def organisations(self) -> list[dict]:
        """Every organisation: level, code, name (None when no file names it), parent_level, parent."""
        if self._orgs is None:
            self._orgs = self.query("SELECT * FROM organisations").to_pylist()
        return self._orgs

    def _directory(self) -> dict[tuple[str, str], dict]:
        if self._by_key is None:
            self._by_key = {(o["level"], o["code"]): o for o in self.organisations()}
            self._levels: dict[str, set[str]] = {}
            for level, code in self._by_key:
                self._levels.setdefault(code, set()).add(level)
        return self._by_key

    def relatives(self, code: str, level: str, when: date, *, upward: bool) -> list[dict]:
        # the published hierarchy is the latest month's (it is what the portal drills through)
        if upward:
            me = self._directory().get((level, code))
            if me is None or me["parent"] is None:
                return []
            return [{"level": me["parent_level"], "org": me["parent"],
                     "name": self.names().get((me["parent_level"], me["parent"]))}]
        down = CHILD_LEVEL.get(level)
        kids = [{"level": o["level"], "org": o["code"], "name": o["name"]} for o in self.organisations()
                if o["parent_level"] == level and o["parent"] == code
                and (o["level"] == down or (level == "sub_icb" and o["level"] == "practice"))]
        return sorted(kids, key=lambda k: (k["level"] != down, k["name"] or k["org"]))

    def diffusion(self, ta: str, level: str) -> dict | None:
        """The stored diffusion (services.diffusion.Diffusion as a dict), or None."""
        got = self._cursor().execute("SELECT body FROM diffusion WHERE ta = ? AND level = ?", [ta, level]).fetchall()
        return json.loads(got[0][0]) if got else None
