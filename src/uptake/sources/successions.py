"""Reader for the ODS successor-organisations file (`succ.csv`): which organisation took over
from which, and from when (mergers and re-codings of CCGs, practices, trusts and older bodies).

The file has no header line and five fields: the old code, the code that succeeded it, a reason
(blank in every row of the 2026 file), the effective date (YYYYMMDD) and an indicator (0 or 1;
ODS's file gives no name for it and uptake does not use it). One dataset: `org_successions`.
`successor_chains` follows chains (10G → 15D in 2018, 15D → D4U1Y in 2021) for the engine.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date

import pyarrow as pa

from ..errors import InputError
from .base import Header, register
from .reference import KeyCheck, need_code, parse_date, read_small, rows_to_table

SUCC_FIELDS = ("old code (field 1)", "new code (field 2)", "reason (field 3)", "effective date (field 4)",
               "indicator (field 5)")
ODS_CODE = re.compile(r"[A-Z0-9]{3,12}")
SOURCE = "ods_successors"


def _is_succ(h: Header) -> bool:
    f = h.fields
    return (len(f) == 5 and all(ODS_CODE.fullmatch(x.upper()) for x in f[:2]) and not f[2].strip()
            and bool(re.fullmatch(r"\d{8}", f[3])) and f[4] in ("0", "1"))


def _code(header: Header, line: int, column: int, value: str) -> str:
    code = need_code(header.path, line, SUCC_FIELDS[column], value, "an ODS organisation code").upper()
    if not ODS_CODE.fullmatch(code):
        raise InputError(header.path, f"{value!r} is not an ODS code; expected 3 to 12 letters and digits",
                         line=line, column=SUCC_FIELDS[column])
    return code


@register("ods_successors", "org_successions",
          "ODS successor organisations (succ.csv: old code, new code, reason, effective date YYYYMMDD, "
          "indicator; no header line)", _is_succ)
def read_ods_successors(header: Header) -> pa.Table:
    """One row per succession, as written. A code succeeded by itself, or a repeated pair, is
    refused with its line."""
    f = read_small(header, headerless=True, names=SUCC_FIELDS)
    keys = KeyCheck(header.path, ["old", "new"])
    rows = []
    for line, r in f.rows:
        old, new = _code(header, line, 0, r[0]), _code(header, line, 1, r[1])
        if old == new:
            raise InputError(header.path, f"{old} is succeeded by itself; expected a different new code",
                             line=line, column=SUCC_FIELDS[1])
        keys.add((old, new), line)
        effective = parse_date(header.path, line, SUCC_FIELDS[3], r[3], ["yyyymmdd"], nulls=(),
                               what="an effective date")
        rows.append({"old": old, "new": new, "effective": effective, "source": SOURCE})
    return rows_to_table("org_successions", rows)


def successor_chains(table: pa.Table) -> pa.Table:
    """(old, new, effective) for every organisation an old code passed into, following chains:
    10G → 15D (2018-04-01) and 15D → D4U1Y (2021-04-01) give 10G → 15D from 2018-04-01 and
    10G → D4U1Y from 2021-04-01. A code with several successors on the same date (a split) has no
    single successor from that date: the chain stops before it. Loops end where they close."""
    nexts: dict[str, dict[date, set[str]]] = defaultdict(lambda: defaultdict(set))
    for old, new, eff in zip(table.column("old").to_pylist(), table.column("new").to_pylist(),
                             table.column("effective").to_pylist()):
        nexts[old][eff].add(new)
    out: dict[tuple[str, str], date] = {}
    for start in nexts:
        todo = [(start, date.min)]
        seen = {start}
        while todo:
            code, after = todo.pop()
            for eff, news in sorted(nexts.get(code, {}).items()):
                if len(news) != 1:
                    continue
                (new,) = news
                when = max(eff, after)
                if new in seen:
                    continue
                seen.add(new)
                out[(start, new)] = min(out.get((start, new), when), when)
                todo.append((new, when))
    return pa.table({"old": pa.array([k[0] for k in out], pa.string()),
                     "new": pa.array([k[1] for k in out], pa.string()),
                     "effective": pa.array(list(out.values()), pa.date32())})
