"""Month-by-month membership: the rules of engine/hierarchy.py on hand-made relations."""

from __future__ import annotations

from datetime import date

import ibis
import pyarrow as pa

from uptake.engine.hierarchy import memberships, rollup

REL = pa.schema([("child", pa.string()), ("child_type", pa.string()), ("parent", pa.string()),
                 ("parent_type", pa.string()), ("valid_from", pa.date32()), ("valid_to", pa.date32())])
M = [date(2021, 1, 1), date(2021, 6, 1), date(2022, 1, 1)]


def _run(rows, months=M, current=False):
    rel = ibis.memtable(pa.Table.from_pylist(rows, schema=REL))
    mon = ibis.memtable(pa.table({"month": pa.array(months, pa.date32())}))
    got = ibis.duckdb.connect().to_pyarrow(memberships(rel, mon, current=current)).to_pylist()
    return {(r["month"], r["child"], r["parent_type"]): r["parent"] for r in got}


def rel(child, parent, start=None, end=None, ctype="practice", ptype="sub_icb"):
    return {"child": child, "child_type": ctype, "parent": parent, "parent_type": ptype,
            "valid_from": start, "valid_to": end}


def test_newer_mapping_supersedes_older_from_its_month():
    got = _run([rel("P1", "A", date(2013, 4, 1)), rel("P1", "B", date(2021, 6, 1))])
    assert got[(M[0], "P1", "sub_icb")] == "A"
    assert got[(M[1], "P1", "sub_icb")] == "B" and got[(M[2], "P1", "sub_icb")] == "B"


def test_closed_membership_ends_after_its_last_day():
    got = _run([rel("P1", "A", date(2013, 4, 1), date(2021, 6, 30))])
    assert got[(M[1], "P1", "sub_icb")] == "A"  # valid to 30 June: June counts
    assert (M[2], "P1", "sub_icb") not in got


def test_snapshot_published_later_is_used_for_earlier_months():
    got = _run([rel("P1", "A", date(2021, 6, 1)), rel("P1", "C", date(2022, 1, 1))])
    assert got[(M[0], "P1", "sub_icb")] == "A"  # the earliest known mapping, not nothing
    assert got[(M[2], "P1", "sub_icb")] == "C"


def test_current_membership_applies_the_latest_month_everywhere():
    got = _run([rel("P1", "A", date(2013, 4, 1)), rel("P1", "B", date(2021, 6, 1))], current=True)
    assert {got[(m, "P1", "sub_icb")] for m in M} == {"B"}


def test_rollup_follows_the_chain_in_each_month():
    rows = [rel("P1", "S1", date(2013, 4, 1)), rel("P1", "S2", date(2022, 1, 1)),
            rel("S1", "I1", ctype="sub_icb", ptype="icb"), rel("S2", "I2", ctype="sub_icb", ptype="icb"),
            rel("I1", "R1", ctype="icb", ptype="region"), rel("I2", "R1", ctype="icb", ptype="region")]
    relt = ibis.memtable(pa.Table.from_pylist(rows, schema=REL))
    mon = ibis.memtable(pa.table({"month": pa.array(M, pa.date32())}))
    member = memberships(relt, mon)
    con = ibis.duckdb.connect()
    icb = {(r["month"], r["base"]): r["org"] for r in con.to_pyarrow(rollup(member, "practice", "icb")).to_pylist()}
    assert icb[(M[0], "P1")] == "I1" and icb[(M[2], "P1")] == "I2"
    region = con.to_pyarrow(rollup(member, "practice", "region")).to_pylist()
    assert {r["org"] for r in region} == {"R1"} and len(region) == 3
    assert rollup(member, "icb", "practice") is None


def test_current_membership_is_the_latest_month_loaded_not_the_latest_asked():
    rows = [rel("P1", "A", date(2013, 4, 1)), rel("P1", "B", date(2022, 1, 1))]
    relt = ibis.memtable(pa.Table.from_pylist(rows, schema=REL))
    asked = ibis.memtable(pa.table({"month": pa.array([M[0]], pa.date32())}))
    latest = ibis.memtable(pa.table({"month": pa.array([M[2]], pa.date32())}))
    got = ibis.duckdb.connect().to_pyarrow(memberships(relt, asked, current=True, latest=latest)).to_pylist()
    assert [(r["month"], r["parent"]) for r in got] == [(M[0], "B")]
