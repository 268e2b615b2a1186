"""One open analysis: a warehouse on an engine, the catalogue, and the queries the scorecard
services share (prepared inputs, organisation names, the latest month)."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import ibis
import pyarrow as pa

from ..catalogue import Catalogue, load_catalogue
from ..catalogue.measures import Measure, load_measures
from ..engine import prepare as prep
from ..engine import scorecard as sc
from ..engine.hierarchy import ENGLAND, ENGLAND_CODE, LEVELS
from ..errors import UptakeError
from ..vocabulary import CHILD_LEVEL, PARENT_LEVEL, PUBLISHED_LEVELS
from ..warehouse import Warehouse

if TYPE_CHECKING:
    from ..engine.backends import Engine

MEMBERSHIP_VALID = "membership valid in each month"
MEMBERSHIP_CURRENT = "current membership (the latest month's) for every month"
ALL_LEVELS = PUBLISHED_LEVELS


def parse_month(text: str) -> date:
    try:
        year, month = text.split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise UptakeError(f"month {text!r}: expected YYYY-MM, e.g. 2022-09") from None


def check_level(level: str) -> str:
    if level not in ALL_LEVELS:
        raise UptakeError(f"level {level!r}: expected one of {', '.join(ALL_LEVELS)}")
    return level




class Source:
    """What the scorecard services read: scorecard rows from the engine (`Analysis`) or from the
    precomputed tables the portal serves (`uptake.services.published.Published`). Subclasses
    provide the attributes and the methods that raise NotImplementedError here."""

    catalogue: Catalogue
    measures: tuple[Measure, ...]
    current_orgs: bool
    datasets: tuple[str, ...]

    # --- what each kind of source provides ----------------------------------------------------

    @property
    def engine_name(self) -> str:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def months(self) -> list[date]:
        raise NotImplementedError

    def names(self) -> dict[tuple[str, str], str]:
        raise NotImplementedError

    def ta_table(self, tas: list[str], months: list[date], levels: tuple[str, ...]) -> pa.Table:
        raise NotImplementedError

    def measure_table(self, measure_ids: list[str], months: list[date], levels: tuple[str, ...]) -> pa.Table:
        raise NotImplementedError

    def org_series(self, code: str, level: str, tas: list[str], months: list[date]) -> list[dict]:
        raise NotImplementedError

    def relatives(self, code: str, level: str, when: date, *, upward: bool) -> list[dict]:
        raise NotImplementedError

    # --- shared -------------------------------------------------------------------------------

    def month_sources(self, when: date) -> dict[str, list[str]]:
        """{dataset: [file names]} of the monthly data in month `when` (none known: {})."""
        return {}

    def sources_note(self, when: date, level: str) -> str | None:
        """Which source each figure of month `when` comes from, when practice-level and
        organisation-level prescribing are mixed in it (docs/metrics.md, "Coverage and precedence")."""
        got = self.month_sources(when)
        practice, org = got.get("prescribing"), got.get("prescribing_org")
        if not (practice and org):
            return None
        where = ("practice-level prescribing" if level in ("practice", "pcn") else
                 "organisation-level prescribing wherever it has a row for the organisation and product, "
                 "practice-level prescribing elsewhere")
        note = (f"Sources mixed in {when:%Y-%m}: organisation-level prescribing ({', '.join(org)}) and practice-level "
                f"prescribing ({', '.join(practice)}). Each organisation-level row is that organisation's whole total; "
                f"its practices' own rows count within it, never twice. These {level} figures come from {where}.")
        lost = self.outside_extract(when)
        if lost:
            note += (f" {len(lost)} practice(s) with practice-level prescribing ({', '.join(lost[:5])}"
                     f"{', …' if len(lost) > 5 else ''}) sit in no organisation the organisation-level file holds "
                     "this month (e.g. a predecessor's code): their rows count on top of it above them, England "
                     "included.")
        return note

    def outside_extract(self, when: date) -> list[str]:
        """Practices of month `when` that organisation-level rows cannot account for
        (engine.scorecard.unplaced_practices); none known: []."""
        return []

    def month(self, text: str | None) -> date:
        """The month asked for, or the latest with prescribing; refused when none is loaded."""
        months = self.months()
        if not months:
            raise UptakeError(f"{self.describe()}: no prescribing loaded; run `uptake demo` or "
                              "`uptake ingest` an EPD file")
        if text is None:
            return months[-1]
        when = parse_month(text)
        if when not in months:
            raise UptakeError(f"no prescribing loaded for {when:%Y-%m}; loaded: {months[0]:%Y-%m} to "
                              f"{months[-1]:%Y-%m}")
        return when

    @property
    def membership(self) -> str:
        return MEMBERSHIP_CURRENT if self.current_orgs else MEMBERSHIP_VALID

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def org_level(self, code: str) -> str:
        """The level of an organisation code (the highest level when a code is used at several)."""
        code = code.strip().upper()
        if code == ENGLAND_CODE:
            return ENGLAND
        levels = self.levels_of(code)
        for level in reversed(LEVELS):
            if level in levels:
                return level
        raise UptakeError(self.unknown_org(code))

    def levels_of(self, code: str) -> set[str]:
        """Every level the organisation files give `code` (upper-case)."""
        return {t for (t, c) in self.names() if c == code}

    def unknown_org(self, code: str) -> str:
        return (f"no organisation {code!r} in the loaded organisation files; load ODS files with `uptake ingest` "
                "(e.g. epraccur, the practice mapping) or check the code")

    def find(self, key: str):
        """A TA or a measure by id."""
        for m in self.measures:
            if m.id == key:
                return m
        return self.catalogue.ta(key)

    def unplaced(self, kind: str, subjects: list[str], months: list[date], levels: tuple[str, ...]) -> pa.Table:
        """(level, subject, month, organisations, counted): activity placed in no organisation of
        a level; empty where the source cannot tell."""
        return pa.table({"level": pa.array([], pa.string())})

    def undated_membership(self, months: list[date]) -> pa.Table:
        """(month, sub_icbs, undated): how many sub-ICBs each month places in an ICB, and how
        many of them by a row not dated to the month (epraccur's, or a later file's); empty where
        the source cannot tell."""
        return pa.table({"month": pa.array([], pa.date32())})

    def parent(self, code: str, level: str, when: date) -> dict | None:
        """{level, org, name} of the organisation `code` belongs to in `when`, or None."""
        if level == ENGLAND:
            return None
        if level == "region":
            return {"level": ENGLAND, "org": ENGLAND_CODE, "name": "England"}
        up = self.relatives(code, level, when, upward=True)
        return up[0] if up else None

    def children(self, code: str, level: str, when: date) -> list[dict]:
        """[{level, org, name}] of the organisations that belong to `code` in `when`, by name."""
        return self.relatives(code, level, when, upward=False)


@dataclass
class Analysis(Source):
    """Opened with `open_analysis`; close it (or use it as a context manager) when done."""

    warehouse: Warehouse
    engine: Engine
    catalogue: Catalogue
    measures: tuple[Measure, ...]
    datasets: tuple[str, ...]
    current_orgs: bool = False
    _names: dict[tuple[str, str], str] | None = field(default=None, repr=False)
    _months: list[date] | None = field(default=None, repr=False)
    _pin: ExitStack | None = field(default=None, repr=False)

    def close(self) -> None:
        try:
            self.engine.close()
        finally:
            if self._pin is not None:
                self._pin.close()

    def describe(self) -> str:
        return str(self.warehouse.root)

    @property
    def engine_name(self) -> str:
        return self.engine.name

    def month_sources(self, when: date) -> dict[str, list[str]]:
        """{dataset: [file names]} of the monthly data current in month `when`."""
        return self.warehouse.month_sources().get(f"{when:%Y-%m}", {})

    def outside_extract(self, when: date) -> list[str]:
        return self.outside_extract_by_month([when]).get(f"{when:%Y-%m}", [])

    def outside_extract_by_month(self, months: list[date]) -> dict[str, list[str]]:
        """{month: [practices]} of engine.scorecard.unplaced_practices over `months`."""
        t = sc.unplaced_practices(self.inputs(months, tas=[]))
        if t is None:
            return {}
        out: dict[str, list[str]] = {}
        for r in self.engine.execute(t).to_pylist():
            out.setdefault(f"{r['month']:%Y-%m}", []).append(r["practice"])
        return {m: sorted(ps) for m, ps in sorted(out.items())}

    def months(self) -> list[date]:
        if self._months is None:
            self._months = prep.loaded_months(self.engine, self.datasets)
        return self._months

    def inputs(self, months: list[date] | None = None, tas: list[str] | None = None,
               measures: tuple[Measure, ...] = ()) -> sc.Inputs:
        return prep.prepare(self.engine, self.datasets, self.catalogue, measures, months,
                            loaded=self.months(), tas=tas)

    def ta_table(self, tas: list[str], months: list[date], levels: tuple[str, ...]) -> pa.Table:
        """The scorecard rows (every column of engine.scorecard.with_metrics) for these TAs,
        months and levels (England always included)."""
        inp = self.inputs(months, tas)
        facts = sc.base_facts(inp)
        lv = sc.level_facts(facts, inp, tuple(x for x in levels if x != ENGLAND), current=self.current_orgs)
        return self.engine.execute(sc.with_metrics(lv, inp))

    def measure_table(self, measure_ids: list[str], months: list[date], levels: tuple[str, ...]) -> pa.Table:
        chosen = tuple(m for m in self.measures if m.id in measure_ids)
        inp = self.inputs(months, measures=chosen)
        facts = sc.measure_base_facts(inp)
        lv = sc.measure_level_facts(facts, inp, tuple(x for x in levels if x != ENGLAND), current=self.current_orgs)
        return self.engine.execute(lv)

    def unplaced(self, kind: str, subjects: list[str], months: list[date], levels: tuple[str, ...]) -> pa.Table:
        """(level, subject, month, organisations, counted): activity that cannot be placed in any
        organisation of each level (engine.scorecard.unplaced), for TAs (`kind` 'ta': items) or
        measures ('measure': the prescribing counted, see `unplaced_column`)."""
        parts = []
        if kind == "ta":
            inp = self.inputs(months, subjects)
            facts, key = sc.base_facts(inp), "ta"
        else:
            chosen = tuple(m for m in self.measures if m.id in subjects)
            inp = self.inputs(months, measures=chosen)
            facts, key = sc.measure_base_facts(inp), "measure"
        by_column: dict[str, list[str]] = {}
        for subject, column in _counted(kind, subjects, self.measures):
            by_column.setdefault(column, []).append(subject)
        # the hierarchy once, and each column's non-zero facts once: small tables, used per level
        member = sc.organisation_memberships(inp, self.current_orgs)
        if member is not None:
            member = self.engine.memtable(self.engine.execute(member))
        for column, these in by_column.items():
            only = facts.filter(facts[key].isin(these) & (facts[column].fill_null(0.0) != 0))
            only = self.engine.memtable(self.engine.execute(only.select("month", "base_type", "base", key, column)))
            for level in levels:
                if level == ENGLAND:
                    continue
                t = sc.unplaced(only, inp, level, column, current=self.current_orgs, key=key, columns=(column,),
                                member=member)
                if t is not None:
                    parts.append(self.engine.execute(t.select(
                        level=ibis.literal(level), subject=t[key], month=t.month, organisations=t.organisations,
                        counted=t[column].cast("float64"))))
        return pa.concat_tables(parts) if parts else pa.table(
            {"level": pa.array([], pa.string()), "subject": pa.array([], pa.string()),
             "month": pa.array([], pa.date32()), "organisations": pa.array([], pa.int64()),
             "counted": pa.array([], pa.float64())})

    def org_series(self, code: str, level: str, tas: list[str], months: list[date]) -> list[dict]:
        """The rows of one organisation for these TAs and months, each with `flag_998_od`: its
        funnel flag (allowing for overdispersion) among its level in the last of `months`."""
        from .funnels import funnel_for

        rows = self.ta_table(tas, months, (level,)).to_pylist()
        now = months[-1]
        mine = [r for r in rows if r["level"] == level and r["org"] == code]
        for r in mine:
            r["flag_998_od"] = None
        if level == ENGLAND:
            return mine
        latest = {r["ta"]: r for r in mine if r["month"] == now}
        for ta in tas:
            peers = sorted((r for r in rows if r["ta"] == ta and r["month"] == now and r["level"] == level),
                           key=lambda r: r["org"])
            f = funnel_for(peers[0]["headline"], peers) if peers else None
            if f is not None and ta in latest:
                latest[ta]["flag_998_od"] = f.flags([r["org"] for r in peers].index(code))[2]
        return mine

    def undated_membership(self, months: list[date]) -> pa.Table:
        from ..engine.scorecard import organisation_memberships

        if "org_relations" not in self.datasets or not months:
            return super().undated_membership(months)
        inp = self.inputs(months, tas=[])
        m = organisation_memberships(inp, self.current_orgs)
        m = m.filter((m.child_type == "sub_icb") & (m.parent_type == "icb"))
        # a sub-ICB whose dated rows all start after the month did not exist yet (D4U1Y, April 2021)
        r = inp.relations.filter((inp.relations.child_type == "sub_icb") & (inp.relations.parent_type == "icb"))
        first = r.group_by("child").aggregate(first=r.valid_from.min())
        m = m.left_join(first, m.child == first.child)
        m = m.filter(first.first.isnull() | (first.first <= m.month))
        return self.engine.execute(m.group_by("month").aggregate(
            sub_icbs=m.child.nunique(), undated=m.snapshot.cast("int64").sum()))

    def relatives(self, code: str, level: str, when: date, *, upward: bool) -> list[dict]:
        from ..engine.scorecard import organisation_memberships

        if "org_relations" not in self.datasets:
            return []
        inp = self.inputs([when], tas=[])
        m = organisation_memberships(inp, self.current_orgs)
        names = self.names()
        if upward:
            ups = [PARENT_LEVEL[level]] + (["sub_icb"] if level == "practice" else [])
            for up in ups:
                got = self.engine.execute(m.filter((m.child == code) & (m.child_type == level)
                                                   & (m.parent_type == up)))
                if got.num_rows:
                    parent = got.column("parent")[0].as_py()
                    return [{"level": up, "org": parent, "name": names.get((up, parent))}]
            return []
        down = CHILD_LEVEL.get(level)
        if down is None:
            return []
        if level == ENGLAND:
            got = self.engine.execute(m.filter(m.child_type == down).select("child").distinct())
        else:
            got = self.engine.execute(m.filter((m.parent == code) & (m.parent_type == level)
                                               & (m.child_type == down)).select("child").distinct())
        kids = [{"level": down, "org": c, "name": names.get((down, c))} for c in got.column("child").to_pylist()]
        return sorted(kids, key=lambda k: (k["name"] or k["org"]))

    def names(self) -> dict[tuple[str, str], str]:
        """(type, code) → name, from every loaded organisation file (the first name found)."""
        if self._names is None:
            self._names = {("england", ENGLAND_CODE): "England"}
            if "organisations" in self.datasets:
                t = self.engine.table("organisations")
                got = self.engine.execute(t.filter(t.name.notnull()).select("type", "code", "name"))
                for typ, code, name in zip(got.column("type").to_pylist(), got.column("code").to_pylist(),
                                           got.column("name").to_pylist()):
                    self._names.setdefault((typ, code), name)
        return self._names


def unplaced_column(measure: Measure | None) -> str:
    """What an unplaced figure counts: a TA's items; a proportion's denominator (its numerator's
    prescribing and the rest); a rate's numerator."""
    if measure is None:
        return "items"
    return "denominator" if measure.kind == "proportion" else "numerator"


def _counted(kind: str, subjects: list[str], measures) -> list[tuple[str, str]]:
    if kind == "ta":
        return [(s, "items") for s in subjects]
    by_id = {m.id: m for m in measures}
    return [(s, unplaced_column(by_id[s])) for s in subjects if s in by_id]


def open_analysis(warehouse: Warehouse, engine: str = "duckdb", *, current_orgs: bool = False,
                  spark_master: str | None = None) -> Analysis:
    from ..engine.backends import connect

    pin = ExitStack()  # the files of the state read here stay on disk until close (Warehouse.pinned)
    pin.enter_context(warehouse.pinned())
    try:
        datasets = tuple(warehouse.status()["datasets"])
        eng = connect(warehouse, engine, spark_master=spark_master)
    except BaseException:
        pin.close()
        raise
    return Analysis(warehouse=warehouse, engine=eng, catalogue=load_catalogue(), measures=load_measures(),
                    datasets=datasets, current_orgs=current_orgs, _pin=pin)
