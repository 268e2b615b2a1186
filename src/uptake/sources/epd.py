"""Readers for primary-care prescribing: the English Prescribing Dataset (both the 2017-era
AREA_TEAM_* layout and the current ICB_* layout) and organisation-level aggregates as exported
by OpenPrescribing's API and ePACT2."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError
from ..schemas import DATASETS
from .base import Header, missing_columns, register
from .csvscan import (
    check_duplicates,
    check_months,
    check_not_negative,
    check_present,
    check_required,
    connect,
    locate,
    month_dates,
    month_sql,
    query_arrow,
    quote_ident,
    resolve_columns,
    scan,
    scan_arrow,
)

EPD_COLUMNS = ["YEAR_MONTH", "PRACTICE_CODE", "BNF_CODE", "QUANTITY", "ITEMS", "TOTAL_QUANTITY", "NIC", "ACTUAL_COST"]
# Practice-level extracts of the EPD carry fewer columns: quantity per item and the costs may be absent.
EXTRACT_REQUIRED = ["YEAR_MONTH", "PRACTICE_CODE", "BNF_CODE", "ITEMS", "TOTAL_QUANTITY"]
EPD_TYPES = {"QUANTITY": "DOUBLE", "ITEMS": "BIGINT", "TOTAL_QUANTITY": "DOUBLE", "NIC": "DOUBLE", "ACTUAL_COST": "DOUBLE"}
EPD_WHAT = {
    "ITEMS": "the number of items, a whole number",
    "QUANTITY": "the quantity per item, a number",
    "TOTAL_QUANTITY": "the total quantity, a number",
    "NIC": "the net ingredient cost in pounds, a number",
    "ACTUAL_COST": "the actual cost in pounds, a number",
}


def _is_epd(h: Header, org_column: str) -> bool:
    return h.has(*EPD_COLUMNS) and h.has(org_column)


def _is_extract(h: Header) -> bool:
    return h.has(*EXTRACT_REQUIRED) and not (h.has("QUANTITY") and h.has("ACTUAL_COST"))


def _read_practice_level(header: Header, nulls: tuple[str, ...] = ("",)) -> pa.Table:
    cols = resolve_columns(header, EXTRACT_REQUIRED)
    for optional in ("QUANTITY", "NIC", "ACTUAL_COST"):
        if header.has(optional):
            cols |= resolve_columns(header, [optional])
    types = {cols[k]: v for k, v in EPD_TYPES.items() if k in cols}
    con = connect()
    # The parsed columns are the result, little changed, so they are parsed straight into Arrow
    # (registered as "raw" for the checks), and the codes are trimmed as they are parsed.
    raw = scan_arrow(con, header, types, list(cols.values()),
                     what={cols[k]: v for k, v in EPD_WHAT.items() if k in cols},
                     nulls=nulls, trim=[cols["PRACTICE_CODE"], cols["BNF_CODE"]])
    c = {k: quote_ident(v) for k, v in cols.items()}
    # Months are checked once per distinct value (a monthly file has one).
    con.execute("SELECT 1").fetchall()  # nothing left open before registering
    con.register("raw_months", pa.table({cols["YEAR_MONTH"]: pc.unique(raw.column(cols["YEAR_MONTH"]))}))
    check_months(con, header, "raw_months", cols["YEAR_MONTH"])
    check_required(con, header, "raw", [cols["PRACTICE_CODE"], cols["BNF_CODE"]])
    # The dataset requires these in every row (quantity per item, when missing, is derived).
    check_present(con, header, "raw", [cols["ITEMS"], cols["TOTAL_QUANTITY"]],
                  {cols[k]: EPD_WHAT[k] for k in ("ITEMS", "TOTAL_QUANTITY")}, nulls)
    counts = [cols[k] for k in ("ITEMS", "QUANTITY", "TOTAL_QUANTITY") if k in cols]
    check_not_negative(con, header, "raw", counts,
                       {cols[k]: v.replace(", a", " (zero or more), a") for k, v in EPD_WHAT.items() if k in cols})
    quantity = c.get("QUANTITY") or f"({c['TOTAL_QUANTITY']} / nullif({c['ITEMS']}, 0))"

    def raw_quantity(r: dict[str, str]) -> float:
        if "QUANTITY" in cols:
            return float(r[cols["QUANTITY"]] or 0)
        items = float(r[cols["ITEMS"]] or 0)
        return float(r[cols["TOTAL_QUANTITY"]] or 0) / items if items else 0.0

    month_key = f"trim({c['YEAR_MONTH']})"
    distinct_months = con.execute(f"SELECT DISTINCT {month_key} FROM raw_months").fetchall()
    if len(distinct_months) == 1:  # the same in every row: a constant, not trimmed row by row
        month_key = "'" + distinct_months[0][0].replace("'", "''") + "'"
    check_duplicates(
        con, header, "raw",
        {"month": month_key, "practice": c["PRACTICE_CODE"],
         "bnf_code": c["BNF_CODE"], "quantity": f"coalesce({quantity}, 0)"},
        lambda r: (r[cols["YEAR_MONTH"]].strip(), r[cols["PRACTICE_CODE"]].strip(), r[cols["BNF_CODE"]].strip(),
                   raw_quantity(r)),
    )
    column = lambda name: raw.column(cols[name])  # noqa: E731
    items = column("ITEMS")
    # Scalars made from Arrow buffers, not Python values: pyarrow imports pandas (0.3 s) the
    # first time it converts a Python value.
    zero, null = pa.Array.from_buffers(pa.float64(), 1, [None, pa.py_buffer(bytes(8))])[0], pa.nulls(1, pa.float64())[0]
    if "QUANTITY" in cols:
        per_item = column("QUANTITY")
    else:  # TOTAL_QUANTITY / nullif(ITEMS, 0), as in the key above
        per_item = pc.divide(column("TOTAL_QUANTITY"), pc.if_else(pc.equal(items, zero), null, items))
    def optional(name: str) -> pa.ChunkedArray | pa.Array:
        return column(name) if name in cols else pa.nulls(raw.num_rows, pa.float64())

    # Named columns, nullable: `read_file` casts them to the dataset's schema, which refuses a
    # null where the schema has none.
    return pa.Table.from_arrays(
        [month_dates(con, column("YEAR_MONTH")), column("PRACTICE_CODE"), column("BNF_CODE"),
         pc.cast(items, pa.int64()), pc.fill_null(per_item, zero) if per_item.null_count else per_item,
         column("TOTAL_QUANTITY"), optional("NIC"), optional("ACTUAL_COST")],
        names=DATASETS["prescribing"].schema.names)


def read_epd(header: Header) -> pa.Table:
    return _read_practice_level(header)


register("epd", "prescribing",
         "English Prescribing Dataset, current layout (ICB_CODE, ICB_NAME, ...), NHSBSA",
         lambda h: _is_epd(h, "ICB_CODE"), columns=(*EPD_COLUMNS, "ICB_CODE"))(read_epd)
register("epd_2017", "prescribing",
         "English Prescribing Dataset, 2017-era layout (AREA_TEAM_CODE, ...), NHSBSA",
         lambda h: _is_epd(h, "AREA_TEAM_CODE") and not h.has("ICB_CODE"),
         columns=(*EPD_COLUMNS, "AREA_TEAM_CODE"))(read_epd)


@register("epd_extract", "prescribing",
          "Practice-level extract of the EPD with fewer columns (year_month, PRACTICE_CODE, bnf_code, ITEMS, "
          "total_quantity[, NIC]); 'NA' read as missing", _is_extract, columns=EXTRACT_REQUIRED)
def read_epd_extract(header: Header) -> pa.Table:
    return _read_practice_level(header, nulls=("", "NA"))


# --- organisation-level aggregates --------------------------------------------------------

ORG_ALIASES = {
    "month": ["date", "year_month", "month"],
    "org_code": ["org_code", "ods_code", "row_id", "pct_id", "practice_code", "practice"],
    "bnf_code": ["bnf_code"],
}
NAME_ALIASES = ["name", "org_name", "row_name"]
MEASURE_ALIASES = {
    "items": ["items"],
    "quantity": ["quantity", "total_quantity", "y_quantity"],
    "actual_cost": ["actual_cost"],
    "nic": ["nic", "net_cost"],
    "list_size": ["total_list_size", "list_size"],
}


def _find(header: Header, options: list[str]) -> str | None:
    by_upper = {f.upper(): f for f in header.fields}
    return next((by_upper[o.upper()] for o in options if o.upper() in by_upper), None)


# What an organisation-level file needs: a month, an organisation, a BNF code, and items or a
# quantity (a file of quantities only serves the measures that need no items).
ORG_COLUMNS = (*(tuple(v) for v in ORG_ALIASES.values()), (*MEASURE_ALIASES["items"], *MEASURE_ALIASES["quantity"]))


def _is_org_level(h: Header) -> bool:
    if h.has(*EXTRACT_REQUIRED):
        return False  # practice-level EPD, full or extract
    if missing_columns(h, ORG_COLUMNS):
        return False
    # Without items, a file named like the practice-level EPD is an EPD with its ITEMS column
    # lost or renamed, which must not load silently as quantities only.
    return bool(_find(h, MEASURE_ALIASES["items"])) or not h.has("YEAR_MONTH", "PRACTICE_CODE")


ORG_TYPE_SQL = """CASE
  WHEN {t} IS NOT NULL AND trim({t}) <> '' THEN lower(trim({t}))
  WHEN {g} LIKE 'E38%' THEN 'sub_icb'
  WHEN {g} LIKE 'E54%' THEN 'icb'
  WHEN {g} LIKE 'E40%' THEN 'region'
  WHEN regexp_full_match({c}, '[A-Z]\\d{{5}}') THEN 'practice'
  WHEN regexp_full_match({c}, 'U\\d{{5}}') THEN 'pcn'
  WHEN regexp_full_match({c}, 'Q[A-Z0-9]{{2}}') THEN 'icb'
  WHEN regexp_full_match({c}, 'Y\\d{{2}}') THEN 'region'
  WHEN regexp_full_match({c}, '[0-9A-Z]{{3}}') THEN 'sub_icb'
  WHEN regexp_full_match({c}, '[A-Z]\\d[A-Z]\\d[A-Z]') THEN 'sub_icb'
  ELSE NULL END"""
# (the last: the nine CCGs of 2021 with five-character codes, e.g. D4U1Y Frimley, M1J4Y Bedfordshire,
# Luton and Milton Keynes, kept as sub-ICB location codes)


def read_org_level(header: Header) -> pa.Table:
    con = _org_typed(header)
    return query_arrow(con, "SELECT month, org_type, org_code, bnf_code, items, quantity, actual_cost, nic, "
                            "list_size FROM typed")


def organisations_org_level(header: Header) -> pa.Table:
    """The organisations an org-level file names, with the name it gives them in its latest
    month (e.g. the DOAC extract's 'NHS North East and North Cumbria ICB - 00L'); none when the
    file has no name column. Each file is its own source, so one file's names never remove
    another's."""
    if _find(header, NAME_ALIASES) is None:
        return DATASETS["organisations"].schema.empty_table()
    con = _org_typed(header)
    source = "prescribing_org " + header.path.name.replace("'", "''")
    return query_arrow(con, "SELECT org_code AS code, org_type AS type, arg_max(name, month) AS name, "
                            "NULL::VARCHAR AS postcode, NULL::DATE AS opened, NULL::DATE AS closed, "
                            "NULL::VARCHAR AS status, NULL::VARCHAR AS setting, "
                            f"'{source}' AS source FROM typed WHERE name IS NOT NULL AND name <> '' "
                            "GROUP BY org_code, org_type ORDER BY type, code")


def _org_typed(header: Header):
    """A DuckDB connection holding the checked file as table `typed`: month, org_type, org_code,
    bnf_code, the measures and the organisation's name (NULL without a name column)."""
    if missing := missing_columns(header, ORG_COLUMNS):
        raise InputError(header.path, f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
                         f"found {', '.join(header.fields)}", line=1)
    cols = {k: _find(header, v) for k, v in ORG_ALIASES.items()}
    if cols["org_code"] and cols["org_code"].upper() in ("PRACTICE_CODE", "PRACTICE"):
        fixed_type: str | None = "practice"
    else:
        fixed_type = None
    measures = {k: _find(header, v) for k, v in MEASURE_ALIASES.items()}
    org_type_col = _find(header, ["org_type"])
    gss_col = _find(header, ["gss_code"])
    name_col = _find(header, NAME_ALIASES)
    types = {measures[k]: ("BIGINT" if k in ("items", "list_size") else "DOUBLE") for k in measures if measures[k]}
    select = [c for c in [*cols.values(), *measures.values(), org_type_col, gss_col, name_col] if c]
    con = connect()
    scan(con, header, types, select, nulls=("", "NA"))
    q = {k: quote_ident(v) for k, v in cols.items()}
    check_months(con, header, "raw", cols["month"])
    check_required(con, header, "raw", [cols["org_code"], cols["bnf_code"]])
    check_not_negative(con, header, "raw", [m for k, m in measures.items() if m and k in ("items", "quantity", "list_size")])
    org_type = (
        f"'{fixed_type}'" if fixed_type else
        ORG_TYPE_SQL.format(t=quote_ident(org_type_col) if org_type_col else "NULL",
                            g=f"upper(trim({quote_ident(gss_col)}))" if gss_col else "''",
                            c=f"upper(trim({q['org_code']}))")
    )
    con.execute(f"CREATE TEMP TABLE typed AS SELECT {month_sql(cols['month'])} AS month, {org_type} AS org_type, "
                f"upper(trim({q['org_code']})) AS org_code, trim({q['bnf_code']}) AS bnf_code, "
                f"{f'trim({quote_ident(name_col)})' if name_col else 'NULL'} AS name, "
                + ", ".join(f"{quote_ident(measures[k]) if measures[k] else 'NULL'} AS {k}" for k in MEASURE_ALIASES)
                + " FROM raw")
    unknown = con.execute("SELECT org_code FROM typed WHERE org_type IS NULL LIMIT 1").fetchone()
    if unknown:
        hit = locate(header, lambda r: r[cols["org_code"]].strip().upper() == unknown[0])
        raise InputError(header.path, f"cannot tell what kind of organisation {unknown[0]!r} is; expected an ODS "
                         "code of a practice, PCN, sub-ICB, ICB or region, or an org_type column",
                         line=hit.line if hit else None, column=cols["org_code"])
    check_duplicates(con, header, "typed", {"month": "month", "org_type": "org_type", "org_code": "org_code",
                                            "bnf_code": "bnf_code"})
    return con


register("prescribing_org", "prescribing_org",
         "Monthly prescribing aggregated by organisation and BNF code (OpenPrescribing API / ePACT2 export)",
         _is_org_level, columns=ORG_COLUMNS)(read_org_level)

EXTRA_DATASETS = {"prescribing_org": {"organisations": organisations_org_level}}
