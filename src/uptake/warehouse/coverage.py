"""Coverage: what a loaded file says something about.

A monthly file covers, in each month it holds, a set of organisations (practices, sub-ICB
locations, trusts) and a set of products (BNF chemicals, dm+d VMPs). It says nothing about any
other organisation or product: an SCMD extract of narcolepsy medicines is silent about
palbociclib, a four-practice EPD about every other practice. So a load replaces, in each month,
only the rows of earlier files whose organisation *and* product the new file covers
(docs/warehouse.md), and the engine counts a product as measured in a month only where a file
covered it (docs/metrics.md).

`RULES` says, per dataset, which column names the organisation and which the product (and how
many leading characters of it: a BNF presentation code counts for its chemical, its first nine).
Datasets without a rule (reference data: organisation files, BNF and dm+d lists) are replaced
whole per partition, as a newer edition of the same file replaces the older.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class Rule:
    org: str  # the column naming the organisation
    product: str | None  # the column naming the product (None: the file covers its organisations only)
    chars: int | None = None  # leading characters of the product column that name the product

    def products(self, table: pa.Table) -> pa.Array | None:
        if self.product is None:
            return None
        column = table.column(self.product)
        return pc.utf8_slice_codeunits(column, 0, self.chars) if self.chars else column


BNF_CHEMICAL = 9  # characters of a BNF code naming its chemical substance

RULES: dict[str, Rule] = {
    "prescribing": Rule("practice", "bnf_code", BNF_CHEMICAL),
    "prescribing_org": Rule("org_code", "bnf_code", BNF_CHEMICAL),
    "scmd": Rule("trust", "vmp_code"),
    "list_sizes": Rule("practice", "age_band"),  # a file of totals ('all') leaves the age bands alone
    "qof_registers": Rule("practice", "register"),  # QOF comes split by domain: each file its registers
}


def covered(name: str, table: pa.Table) -> dict[str, list[str]]:
    """The organisations and products a table (one partition of dataset `name`) covers."""
    rule = RULES[name]
    out = {"orgs": sorted(pc.unique(table.column(rule.org)).drop_null().to_pylist())}
    products = rule.products(table)
    if products is not None:
        out["products"] = sorted(pc.unique(products).drop_null().to_pylist())
    return out


def overlap(name: str, table: pa.Table, coverage: dict[str, list[str]]) -> pa.Array:
    """Which rows of `table` fall inside `coverage` (their organisation and product both covered)."""
    rule = RULES[name]
    mask = pc.is_in(table.column(rule.org), value_set=pa.array(coverage["orgs"], pa.string()))
    products = rule.products(table)
    if products is not None:
        mask = pc.and_(mask, pc.is_in(products, value_set=pa.array(coverage.get("products", []), pa.string())))
    return pc.fill_null(mask, False)


def columns(name: str) -> list[str]:
    """The columns `overlap` reads."""
    rule = RULES[name]
    return [rule.org] + ([rule.product] if rule.product else [])


def load_is_current(state: dict, load: dict) -> bool:
    """Whether everything a load wrote is still in the warehouse: every partition it wrote still
    holds its part, untrimmed by a later load."""
    datasets = load.get("datasets") or {}
    if not datasets:
        return False
    for name, info in datasets.items():
        for part in info.get("partitions", []):
            entry = state["datasets"].get(name, {}).get(part, {})
            parts = entry.get("parts")
            if parts is None:  # a warehouse written before coverage was recorded: one load per partition
                if entry.get("load") != load["id"]:
                    return False
            elif not any(p["load"] == load["id"] and not p.get("trimmed_by") for p in parts):
                return False
    return True
