"""Roll-up of base facts through the levels (scorecard.level_facts) on hand-made facts with base
organisations at every level, against the rule written again in Python: each base row counts
once at every level its path reaches, through the membership valid in its month."""

from __future__ import annotations

from datetime import date

import ibis
import pyarrow as pa
import pytest

from uptake.engine import scorecard as sc
from uptake.engine.hierarchy import ENGLAND, LEVELS, PATHS

M1, M2 = date(2022, 8, 1), date(2022, 9, 1)
REL = [  # (child, child_type, parent, parent_type, valid_from)
    ("P1", "practice", "N1", "pcn", None), ("P1", "practice", "S1", "sub_icb", None),
    ("P2", "practice", "N1", "pcn", None), ("P2", "practice", "S1", "sub_icb", None),
    ("P2", "practice", "S2", "sub_icb", M2),  # moves to S2 in September
    ("P3", "practice", "N2", "pcn", None),  # no sub-ICB: only practice, PCN and England
    ("N1", "pcn", "S1", "sub_icb", None), ("N2", "pcn", "S2", "sub_icb", None),
    ("S1", "sub_icb", "I1", "icb", None), ("S2", "sub_icb", "I2", "icb", None),
    ("I1", "icb", "R1", "region", None), ("I2", "icb", "R1", "region", None),
]
FACTS = [  # (month, base_type, base, items)
    (m, t, b, v * (1 if m == M1 else 10))
    for m in (M1, M2)
    for t, b, v in (("practice", "P1", 1.0), ("practice", "P2", 2.0), ("practice", "P3", 4.0),
                    ("pcn", "N2", 8.0), ("sub_icb", "S1", 16.0), ("sub_icb", "S2", 32.0),
                    ("icb", "I2", 64.0), ("region", "R1", 128.0))
]


def _inputs(with_org: bool) -> sc.Inputs:
    rel = pa.Table.from_pylist(
        [{"child": c, "child_type": ct, "parent": p, "parent_type": pt, "valid_from": vf, "valid_to": None}
         for c, ct, p, pt, vf in REL],
        schema=pa.schema([("child", pa.string()), ("child_type", pa.string()), ("parent", pa.string()),
                          ("parent_type", pa.string()), ("valid_from", pa.date32()), ("valid_to", pa.date32())]))
    months = ibis.memtable(pa.table({"month": pa.array([M1, M2], pa.date32()), "days": [31, 30],
                                     "year": ["2022-23", "2022-23"]}))
    empty = ibis.memtable(pa.table({"x": pa.array([], pa.int64())}))
    return sc.Inputs(prescribing=empty, prescribing_org=empty if with_org else None, relations=ibis.memtable(rel),
                     list_sizes=None, registers=None, codes=empty, population=empty, bands=empty, months=months)


def _facts(rows) -> ibis.Table:
    return ibis.memtable(pa.Table.from_pylist(
        [{"month": m, "base_type": t, "base": b, "ta": "T", "items": v} for m, t, b, v in rows],
        schema=pa.schema([("month", pa.date32()), ("base_type", pa.string()), ("base", pa.string()),
                          ("ta", pa.string()), ("items", pa.float64())])))


def _expected(rows, levels) -> dict:
    parent = {}
    for m in (M1, M2):
        for c, ct, p, pt, vf in sorted(REL, key=lambda r: r[4] or date.min):
            if vf is None or vf <= m:
                parent[(m, ct, c, pt)] = p
    out: dict = {}
    for m, t, b, v in rows:
        for level in levels:
            chain = PATHS[t].get(level)
            if chain is None:
                continue
            org, typ = b, t
            for step in chain:
                org, typ = parent.get((m, typ, org, step)), step
                if org is None:
                    break
            if org is not None:
                out[(level, org, m)] = out.get((level, org, m), 0.0) + v
        out[(ENGLAND, "ENG", m)] = out.get((ENGLAND, "ENG", m), 0.0) + v
    return out


@pytest.mark.parametrize("levels", [LEVELS, ("icb",), ("practice", "region"), ("sub_icb", "pcn")])
def test_every_base_row_counts_once_at_every_level_its_path_reaches(levels):
    got = ibis.duckdb.connect().to_pyarrow(
        sc.level_facts(_facts(FACTS), _inputs(True), levels, columns=("items",))).to_pylist()
    assert [r["level"] for r in got if r["level"] not in levels] == [ENGLAND] * 2
    assert {(r["level"], r["org"], r["month"]): r["items"] for r in got} == _expected(FACTS, levels)
    assert list(got[0]) == ["level", "org", "ta", "month", "items"]


def test_practices_only_roll_up_level_by_level():
    rows = [r for r in FACTS if r[1] == "practice"]
    inp = _inputs(False)
    assert sc.base_types(inp) == ("practice",)
    got = ibis.duckdb.connect().to_pyarrow(sc.level_facts(_facts(rows), inp, columns=("items",))).to_pylist()
    want = _expected(rows, LEVELS)
    assert {(r["level"], r["org"], r["month"]): r["items"] for r in got} == want
    assert want[("icb", "I2", M2)] == 20.0 and ("icb", "I2", M1) not in want  # P2 moved in September


def test_each_level_is_summed_from_the_level_below_when_every_path_passes_through_it():
    everything = tuple(t for t in PATHS if t != "trust")
    assert sc._sources("practice", everything) == [("base", "practice")]
    assert sc._sources("pcn", everything) == [("base", "pcn"), ("level", "practice")]
    # practices reach sub-ICBs directly, not through their PCN: the PCN level cannot be used
    assert sorted(sc._sources("sub_icb", everything)) == [("base", "sub_icb"), ("level", "practice"),
                                                          ("path", "pcn")]
    assert sc._sources("icb", everything) == [("base", "icb"), ("level", "sub_icb")]
    assert sc._sources("region", everything) == [("base", "region"), ("level", "icb")]
    assert sc._sources("icb", ("practice",)) == [("level", "sub_icb")]
    # trusts reach ICBs directly and regions through their ICB
    assert sc._sources("icb", ("practice", "trust")) == [("level", "sub_icb"), ("level", "trust")]
    assert sc._sources("region", ("practice", "trust")) == [("level", "icb")]
    assert sc._sources("sub_icb", ("practice", "trust")) == [("level", "practice")]


def test_hospital_issues_count_at_their_trust_its_icb_region_and_england_only():
    rel = REL + [("T1", "trust", "I1", "icb", None), ("T1", "trust", "R1", "region", None),
                 ("T2", "trust", "I2", "icb", None), ("T2", "trust", "R1", "region", None)]
    rows = [r for r in FACTS if r[1] == "practice"] + [(m, "trust", t, v) for m in (M1, M2)
                                                       for t, v in (("T1", 1000.0), ("T2", 3000.0))]
    inp = _inputs(False)
    inp.relations = ibis.memtable(pa.Table.from_pylist(
        [{"child": c, "child_type": ct, "parent": p, "parent_type": pt, "valid_from": vf, "valid_to": None}
         for c, ct, p, pt, vf in rel],
        schema=pa.schema([("child", pa.string()), ("child_type", pa.string()), ("parent", pa.string()),
                          ("parent_type", pa.string()), ("valid_from", pa.date32()), ("valid_to", pa.date32())])))
    inp.scmd = ibis.memtable(pa.table({"month": pa.array([], pa.date32())}))  # loaded (its rows are in the facts)
    assert sc.base_types(inp) == ("practice", "trust")
    got = ibis.duckdb.connect().to_pyarrow(
        sc.level_facts(_facts(rows), inp, (*LEVELS, "trust"), columns=("items",))).to_pylist()
    got = {(r["level"], r["org"], r["month"]): r["items"] for r in got}
    assert got[("trust", "T1", M2)] == 1000.0
    assert got[("icb", "I1", M2)] == 1000.0 + 10.0  # T1 and P1 (P2 moved to S2 → I2 in September)
    assert got[("icb", "I2", M2)] == 3000.0 + 20.0
    assert got[("region", "R1", M1)] == 4000.0 + 1.0 + 2.0  # P3 has no sub-ICB, so no region
    assert got[(ENGLAND, "ENG", M1)] == 4000.0 + 7.0
    assert {k for k in got if k[0] in ("practice", "pcn", "sub_icb") and k[1].startswith("T")} == set()
    assert got[("sub_icb", "S1", M1)] == 3.0  # no hospital issues below the ICB
