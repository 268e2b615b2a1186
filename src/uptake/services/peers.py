"""Peer groups from loaded data: NHS England's Similar-10 for sub-ICB locations and ICBs, nearest
neighbours for practices and PCNs (docs/metrics.md, "Peers").

The variables (engine.peers) come from the warehouse's list sizes, QOF registers and
organisation memberships, plus a practice IMD file (`imd`, practice_code → score) weighted to
areas by registered patients. Variables that are not loaded are left out, each with a note; an
organisation missing a variable that others have is left out of the peer groups, counted in the
notes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from ..catalogue.loader import DATA_DIR, _read_yaml
from ..engine import peers as ep
from ..engine.stats.similar import Peer, similar
from ..errors import UptakeError
from .analysis import Source

VARIABLES_FILE = DATA_DIR / "peers" / "variables.yaml"
IMD_COVERAGE = 0.5  # an area's IMD needs practices with a score holding half its patients


def variable_sets() -> dict:
    return _read_yaml(VARIABLES_FILE)


def weights_for(level: str) -> tuple[str, dict]:
    for name, spec in variable_sets().items():
        if level in spec["levels"]:
            return name, spec
    raise UptakeError(f"level {level!r}: peers are computed for practice, pcn, sub_icb and icb")


@dataclass
class PeerGroups:
    level: str
    method: str
    month: str  # the list sizes' month
    variables: list[str]
    weights: dict[str, float]
    notes: list[str]
    values: dict[str, dict[str, float]]  # org → variable → value
    peers: list[Peer] = field(default_factory=list)

    def of(self, org: str) -> list[Peer]:
        return [p for p in self.peers if p.org == org]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["peers"] = [{**asdict(p), "distance": p.distance} for p in self.peers]
        return d


def _list_size_month(an: Source, month: str | None) -> date:
    ls = an.engine.table("list_sizes")
    months = sorted(an.engine.execute(ls.select("month").distinct()).column("month").to_pylist())
    if month is None:
        return months[-1]
    want = date(int(month[:4]), int(month[5:7]), 1)
    if want in months:
        return want
    earlier = [m for m in months if m <= want]
    return earlier[-1] if earlier else months[0]


def _population(an: Source, level: str, when: date) -> tuple[dict[str, dict], dict[str, str], set[str]]:
    """org → {poptot, banded, age counts}, practice → org, at `level` in `when`, and the age
    groups the loaded bands cannot measure."""
    eng = an.engine
    ls = eng.table("list_sizes")
    bands = eng.execute(ls.filter(ls.month == when).select("sex", "age_band").distinct())
    table, unmeasurable = ep.age_group_weights(zip(bands.column("sex").to_pylist(), bands.column("age_band").to_pylist()))
    weights = eng.memtable(table)
    practices = ep.practice_population(ls, weights, when)
    if level == "practice":
        rows = eng.execute(practices).to_pylist()
        return {r["practice"]: r for r in rows}, {r["practice"]: r["practice"] for r in rows}, unmeasurable
    if "org_relations" not in an.datasets:
        raise UptakeError(f"peers of {level}s need organisation files (e.g. epraccur) to place practices in them")
    import pyarrow as pa

    month_table = eng.memtable(pa.table({"month": pa.array([when], pa.date32())}))
    areas = ep.practice_areas(eng.table("org_relations"), month_table, level)
    mapping = eng.execute(areas).to_pylist()
    rows = eng.execute(ep.area_population(practices, areas)).to_pylist()
    return {r["org"]: r for r in rows}, {m["practice"]: m["org"] for m in mapping}, unmeasurable


def _imd(pop_practice: dict[str, float], member: dict[str, str], imd: dict[str, float]) -> dict[str, float]:
    """Each area's IMD: its practices' scores weighted by their registered patients, where
    practices with a score hold at least IMD_COVERAGE of the area's patients."""
    num: dict[str, float] = {}
    covered: dict[str, float] = {}
    total: dict[str, float] = {}
    for practice, org in member.items():
        n = pop_practice.get(practice) or 0
        total[org] = total.get(org, 0) + n
        if practice in imd and n > 0:
            num[org] = num.get(org, 0) + imd[practice] * n
            covered[org] = covered.get(org, 0) + n
    return {o: num[o] / covered[o] for o in num if covered[o] >= IMD_COVERAGE * total[o]}


def _qof(an: Source, registers: list[str], member: dict[str, str], pop: dict[str, float]) -> tuple[dict, str | None]:
    """register → {org → prevalence} for the latest QOF year (areas: register / list size summed)."""
    if "qof_registers" not in an.datasets or not registers:
        return {}, None
    eng = an.engine
    q = eng.table("qof_registers")
    year = max(eng.execute(q.select("year").distinct()).column("year").to_pylist())
    got = eng.execute(q.filter((q.year == year) & q.register.isin(registers) & (q.list_size > 0))
                      .select("practice", "register", "patients", "list_size")).to_pylist()
    num: dict[tuple[str, str], float] = {}
    den: dict[tuple[str, str], float] = {}
    for r in got:
        org = member.get(r["practice"])
        if org is None:
            continue
        key = (r["register"], org)
        num[key] = num.get(key, 0) + r["patients"]
        den[key] = den.get(key, 0) + r["list_size"]
    out: dict[str, dict[str, float]] = {}
    for (reg, org), n in num.items():
        out.setdefault(reg, {})[org] = n / den[(reg, org)]
    return out, year


def peer_groups(an: Source, level: str = "sub_icb", *, imd: dict[str, float] | None = None,
                month: str | None = None, n: int = 10) -> PeerGroups:
    """The peers of every organisation at `level` from the loaded data (see the module doc)."""
    method, spec = weights_for(level)
    if "list_sizes" not in an.datasets:
        raise UptakeError("peers need registered patients: load a list-size file with `uptake ingest`")
    when = _list_size_month(an, month)
    pop, member, unmeasurable = _population(an, level, when)
    if level != "practice":
        practice_pop, _, _ = _population(an, "practice", when)
        ptot = {p: r["poptot"] for p, r in practice_pop.items()}
    else:
        ptot = {p: r["poptot"] for p, r in pop.items()}
    columns: dict[str, dict[str, float]] = {"poptot": {o: float(r["poptot"]) for o, r in pop.items() if r["poptot"]}}
    notes: list[str] = []
    for g in ep.AGE_GROUPS:
        if g in spec["weights"] and g not in unmeasurable:
            col = {o: r[g] / r["banded"] for o, r in pop.items() if r["banded"] and r[g] is not None}
            if col:
                columns[g] = col
    if imd:
        columns["IMDscore"] = _imd(ptot, member, imd)
    qof_regs = [v[4:] for v in spec["weights"] if v.startswith("qof_")]
    prevalences, year = _qof(an, qof_regs, member, ptot)
    for reg, col in prevalences.items():
        columns[f"qof_{reg}"] = col
    used = [v for v in spec["weights"] if columns.get(v)]
    for v in spec["weights"]:
        if v not in used:
            why = spec.get("not_loaded", {}).get(v)
            if v in unmeasurable:
                why = "the loaded age bands cannot measure it (an open band such as 75+ crosses its edge)"
            if why is None:
                why = {"IMDscore": "no practice IMD file given (e.g. --imd deprivation/"
                                   "practice_imd2019_score_decile_subicb_2023.csv.gz)"}.get(
                    v, "not in the loaded data" if not v.startswith("qof_") else f"QOF register {v[4:]} not loaded")
            notes.append(f"{v} (weight {spec['weights'][v]}) left out: {why}")
    if any(g in used for g in ep.AGE_GROUPS):
        notes.append(f"age shares from the list sizes of {when:%Y-%m}; ages spread evenly within each loaded band")
    if year:
        notes.append(f"QOF prevalence from {year}")
    orgs = sorted(set.intersection(*(set(columns[v]) for v in used))) if used else []
    dropped = set(pop) - set(orgs)
    if dropped:
        lacking = ", ".join(f"{v} for {len(dropped - set(columns[v]))}" for v in used if dropped - set(columns[v]))
        share = sum(pop[o]["poptot"] or 0 for o in dropped) / max(1, sum(r["poptot"] or 0 for r in pop.values()))
        notes.append(f"{len(dropped)} {level}(s) with {share:.1%} of registered patients left out, lacking {lacking}")
    if len(orgs) <= n:
        raise UptakeError(f"peers need more than {n} {level}s with every variable; found {len(orgs)}")
    values = np.array([[columns[v][o] for v in used] for o in orgs])
    found = similar(orgs, values, [spec["weights"][v] for v in used], used, n)
    return PeerGroups(level=level, method=method, month=f"{when:%Y-%m}", variables=used,
                      weights={v: spec["weights"][v] for v in used}, notes=notes,
                      values={o: {v: columns[v][o] for v in used} for o in orgs}, peers=found)


def load_imd(path: str | Path | None) -> dict[str, float] | None:
    from ..sources.peers import read_practice_imd

    return read_practice_imd(Path(path)) if path else None


def overlap(mine: PeerGroups, published: dict[str, list[tuple[str, float]]], n: int = 10) -> dict:
    """How many of each organisation's peers are also among its published peers: the mean
    share over organisations in both, and what chance alone would give."""
    shares = []
    common = [o for o in mine.values if o in published]
    universe = len(set(mine.values) & set(published))
    by_org: dict[str, set[str]] = {}
    for p in mine.peers:
        by_org.setdefault(p.org, set()).add(p.peer)
    for o in common:
        theirs = {d for d, _ in published[o][:n]}
        shares.append(len(by_org.get(o, set()) & theirs) / max(1, min(n, len(theirs))))
    return {"organisations": len(common), "mean_overlap": float(np.mean(shares)) if shares else None,
            "chance": n / max(1, universe - 1), "any_overlap": float(np.mean([s > 0 for s in shares])) if shares else None}


PEER_LEVELS = ("practice", "pcn", "sub_icb", "icb")
_PUBLISHED_TABLE = "peers"


def _stored(src: Source, level: str) -> list[Peer] | None:
    """The published peers of `level` (None when `src` is not a published scorecard)."""
    query = getattr(src, "query", None)
    if query is None:
        return None
    got = query("SELECT table_name FROM information_schema.tables WHERE table_name = ?", [_PUBLISHED_TABLE])
    if got.num_rows == 0:
        return []
    rows = query(f"SELECT org, peer, rank, similarity FROM {_PUBLISHED_TABLE} WHERE level = ? ORDER BY org, rank",
                 [level]).to_pylist()
    return [Peer(r["org"], r["peer"], r["rank"], r["similarity"]) for r in rows]


def level_peers(src: Source, level: str, imd: dict[str, float] | None = None) -> list[Peer]:
    """Every peer pair of `level`: published, or computed once per source from its warehouse
    (nothing when the data to compute them is not loaded)."""
    cache = src.__dict__.setdefault("_peers_cache", {})
    if level not in cache:
        got = _stored(src, level)
        if got is None:
            try:
                got = peer_groups(src, level, imd=imd).peers if level in PEER_LEVELS else []
            except UptakeError:
                got = []
        cache[level] = got
    return cache[level]


def peers_of(src: Source, code: str, level: str) -> list[Peer]:
    """The peers of one organisation, nearest first ([] when none are known)."""
    return [p for p in level_peers(src, level) if p.org == code]


def peer_table(groups: list[PeerGroups]):
    """The published `peers` table: level, org, peer, rank, similarity."""
    import pyarrow as pa

    rows = [{"level": g.level, "org": p.org, "peer": p.peer, "rank": p.rank, "similarity": p.similarity}
            for g in groups for p in g.peers]
    return pa.Table.from_pylist(rows, schema=pa.schema([("level", pa.string()), ("org", pa.string()),
                                                         ("peer", pa.string()), ("rank", pa.int32()),
                                                         ("similarity", pa.float64())]))


def publishable(an: Source, imd: dict[str, float] | None = None) -> tuple[list[PeerGroups], dict[str, list[str]]]:
    """The peer groups of every level that can be computed, and each level's notes (or why not)."""
    groups, notes = [], {}
    for level in PEER_LEVELS:
        try:
            g = peer_groups(an, level, imd=imd)
        except UptakeError as e:
            notes[level] = [f"no peers: {e}"]
            continue
        groups.append(g)
        notes[level] = [f"{g.method}: {', '.join(g.variables)} (list sizes {g.month})", *g.notes]
    return groups, notes
