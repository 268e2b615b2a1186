"""Readers for the Secondary Care Medicines Data (SCMD, NHSBSA): the published layout and
the reduced five-column layout (year_month, ods_code, vmp_snomed_code, vmp_product_name,
total_quantity) found in analysts' extracts."""

from __future__ import annotations

import pyarrow as pa

from .base import Header, register
from .csvscan import (
    check_duplicates,
    check_months,
    check_required,
    connect,
    month_sql,
    query_arrow,
    quote_ident,
    resolve_columns,
    scan,
)

# NHSBSA's column is spelt TOTAL_QUANITY_IN_VMP_UNIT (sic); accept the correct spelling too.
ALIASES = {
    "month": ["YEAR_MONTH"],
    "trust": ["ODS_CODE"],
    "vmp_code": ["VMP_SNOMED_CODE"],
    "vmp_name": ["VMP_PRODUCT_NAME"],
    "total_quantity": ["TOTAL_QUANITY_IN_VMP_UNIT", "TOTAL_QUANTITY_IN_VMP_UNIT", "TOTAL_QUANTITY"],
    "unit": ["UNIT_OF_MEASURE_NAME"],
    "indicative_cost": ["INDICATIVE_COST"],
}


def _is_full(h: Header) -> bool:
    return h.has("YEAR_MONTH", "ODS_CODE", "VMP_SNOMED_CODE", "UNIT_OF_MEASURE_NAME") and (
        h.has("TOTAL_QUANITY_IN_VMP_UNIT") or h.has("TOTAL_QUANTITY_IN_VMP_UNIT"))


def _is_reduced(h: Header) -> bool:
    return h.has("YEAR_MONTH", "ODS_CODE", "VMP_SNOMED_CODE", "TOTAL_QUANTITY") and not h.has("UNIT_OF_MEASURE_NAME")


def _read(header: Header, optional: tuple[str, ...]) -> pa.Table:
    required = ["month", "trust", "vmp_code", "total_quantity"]
    cols = resolve_columns(header, required, {k: v for k, v in ALIASES.items()})
    have = resolve_columns(header, [k for k in optional], ALIASES) if optional else {}
    cols |= have
    if "vmp_name" not in cols and header.has("VMP_PRODUCT_NAME"):
        cols |= resolve_columns(header, ["vmp_name"], ALIASES)
    types = {cols["total_quantity"]: "DOUBLE"}
    if "indicative_cost" in cols:
        types[cols["indicative_cost"]] = "DOUBLE"
    con = connect()
    scan(con, header, types, list(cols.values()),
         what={cols["total_quantity"]: "the quantity issued in VMP units, a number"})
    q = {k: quote_ident(v) for k, v in cols.items()}
    check_months(con, header, "raw", cols["month"])
    check_required(con, header, "raw", [cols["trust"], cols["vmp_code"]])
    # Negative quantities are real in SCMD (returns to pharmacy exceed issues in a month): kept.
    unit = f"trim({q['unit']})" if "unit" in q else "NULL"
    con.execute(
        f"""CREATE TEMP TABLE typed AS SELECT {month_sql(cols['month'])} AS month, upper(trim({q['trust']})) AS trust,
               trim({q['vmp_code']}) AS vmp_code, {f"trim({q['vmp_name']})" if 'vmp_name' in q else 'NULL'} AS vmp_name,
               {unit} AS unit, {q['total_quantity']} AS total_quantity,
               {q['indicative_cost'] if 'indicative_cost' in q else 'NULL'} AS indicative_cost FROM raw""")
    check_duplicates(con, header, "typed", {"month": "month", "trust": "trust", "vmp_code": "vmp_code",
                                            "unit": "coalesce(unit, '')"})
    return query_arrow(con, "SELECT * FROM typed")


@register("scmd", "scmd", "Secondary Care Medicines Data, NHSBSA published layout", _is_full,
          columns=("YEAR_MONTH", "ODS_CODE", "VMP_SNOMED_CODE", "UNIT_OF_MEASURE_NAME",
                   ("TOTAL_QUANITY_IN_VMP_UNIT", "TOTAL_QUANTITY_IN_VMP_UNIT")))
def read_scmd(header: Header) -> pa.Table:
    return _read(header, ("vmp_name", "unit", "indicative_cost"))


@register("scmd_reduced", "scmd",
          "Secondary Care Medicines Data, reduced 5-column layout (year_month, ods_code, vmp_snomed_code, "
          "vmp_product_name, total_quantity)", _is_reduced,
          columns=("YEAR_MONTH", "ODS_CODE", "VMP_SNOMED_CODE", "TOTAL_QUANTITY"))
def read_scmd_reduced(header: Header) -> pa.Table:
    return _read(header, ())
