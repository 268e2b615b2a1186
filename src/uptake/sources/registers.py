"""Readers for registered populations and disease registers: GP list sizes by age and sex
(NHSBSA's quarterly layout and NHS Digital's 'Patients registered at a GP practice' files),
practice list sizes from GP practice profiles, and QOF disease registers (NHS Digital's raw
PREVALENCE files and a reshaped 2018-19 extract).

Formats (id → dataset):

- ``list_size_age_sex_nhsbsa`` → list_sizes: Practice Code, Male 0-4, Female 0-4, ..., Female 75+.
- ``gp_reg_pat_quin_age`` → list_sizes: NHS Digital gp-reg-pat-prac-quin-age.csv.
- ``gp_reg_pat_all`` → list_sizes: NHS Digital gp-reg-pat-prac-all.csv (totals).
- ``practice_demographics`` → list_sizes: practice_code, list_size, ... (totals).
- ``qof_nhsd`` → qof_registers: NHS Digital QOF PREVALENCE_YYZZ.csv.
- ``qof_1819_reshaped`` → qof_registers: qofGP_1819_*.csv (semicolon, European numbers).

Files with no date column take their month (or year) from the file name, by the rule in
`months_from_name` (and `qof_year_from_name`); a name that does not say is refused, asking for
the file to be renamed, rather than guessed.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pyarrow as pa

from ..errors import InputError
from .base import Header, register
from .csvscan import (
    check_duplicates,
    check_not_negative,
    check_required,
    connect,
    locate,
    query_arrow,
    quote_ident,
    resolve_columns,
    scan,
)
from .reference import (
    EXTRACT_DATE_LAYOUTS,
    KeyCheck,
    make_table,
    need_code,
    parse_count,
    parse_date,
    read_small,
)

# --- months and years from file names ------------------------------------------------------

_QUARTER = re.compile(r"(?<!\d)(\d{4})_(\d{2})-(\d{2})(?!\d)")
_DAY = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_MONTH = re.compile(r"(?<!\d)(\d{4})[-_](\d{2})(?!\d)")
NAME_RULE = ("name the file with its month: ..._YYYY_MM (e.g. practice_demographics_2025_04.csv), or "
             "..._YYYY_MM-MM for a quarter (e.g. Patient_List_Size_2016_01-03.csv)")


def _file_stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".csv", ".txt"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name


def months_from_name(path: Path) -> list[date]:
    """The months a file without a date column is for, read from its name:

    - ``..._YYYY_MM-MM...`` (NHSBSA's quarterly list-size files, e.g. ``_2016_01-03``): every
      month from the first to the last, as OpenPrescribing applied them — a quarter's list sizes
      are the denominators of each of its months;
    - ``..._YYYY-MM-DD...``: the month of that date;
    - ``..._YYYY_MM...`` or ``..._YYYY-MM...``: that month.

    Anything else (no month, an impossible month, a range running backwards) is refused on
    line 1 with a message saying how to rename the file."""
    stem = _file_stem(path)
    for pattern, kind in ((_QUARTER, "quarter"), (_DAY, "day"), (_MONTH, "month")):
        m = pattern.search(stem)
        if not m:
            continue
        year, first = int(m.group(1)), int(m.group(2))
        last = int(m.group(3)) if kind == "quarter" else first
        if not (1990 <= year <= 2100 and 1 <= first <= 12 and 1 <= last <= 12) or last < first:
            raise InputError(path, f"the file name's month {m.group(0)!r} is not a month or a range of months "
                             f"within a year; {NAME_RULE}", line=1)
        return [date(year, month, 1) for month in range(first, last + 1)]
    raise InputError(path, f"the file has no date column and its name does not say which month it is for; {NAME_RULE}",
                     line=1)


def qof_year_from_name(path: Path) -> str:
    """The QOF year of a PREVALENCE file from its name: PREVALENCE_2223.csv (also _2122_V2,
    _2021_v2) → '2022-23'; or a written-out 2022-23. Refused on line 1 if the name does not say."""
    stem = _file_stem(path)
    m = re.search(r"(?<!\d)(20\d{2})[-_](\d{2})(?!\d)", stem)
    if m and (int(m.group(1)) + 1) % 100 == int(m.group(2)):
        return f"{m.group(1)}-{m.group(2)}"
    for m in re.finditer(r"(?<!\d)(\d{2})(\d{2})(?!\d)", stem):
        if (int(m.group(1)) + 1) % 100 == int(m.group(2)):
            return f"20{m.group(1)}-{m.group(2)}"
    raise InputError(path, "the file has no year column and its name does not say which QOF year it is for; name it "
                     "as NHS Digital does, PREVALENCE_YYZZ.csv (e.g. PREVALENCE_2223.csv for 2022-23)", line=1)


def _months_sql(months: list[date]) -> str:
    """The months as an SQL table m(month)."""
    return "(VALUES " + ", ".join(f"(DATE '{m.isoformat()}')" for m in months) + ") AS m(month)"


def _check_counts_present(con, header: Header, table: str, columns: list[str], what: str) -> None:
    for column in columns:
        col = quote_ident(column)
        if con.execute(f"SELECT 1 FROM {table} WHERE {col} IS NULL LIMIT 1").fetchone():
            hit = locate(header, lambda r, c=column: not (r.get(c) or "").strip())
            raise InputError(header.path, f"blank value; expected {what}, a whole number",
                             line=hit.line if hit else None, column=column)


def _whole_numbers(con, header: Header, table: str, columns: list[str], what: dict[str, str]) -> None:
    """Refuse any value of `columns` that is not a whole number, then make the columns BIGINT.

    Counts are scanned as text because DuckDB's cast to BIGINT rounds '18.738' to 19 silently."""
    for column in columns:
        col = quote_ident(column)
        bad = con.execute(f"SELECT {col} FROM {table} WHERE {col} IS NOT NULL AND NOT "
                          f"regexp_full_match(trim({col}), '[+-]?[0-9]{{1,18}}') LIMIT 1").fetchall()
        if bad:
            hit = locate(header, lambda r, c=column: not re.fullmatch(r"[+-]?[0-9]{1,18}", (r.get(c) or "").strip())
                         and bool((r.get(c) or "").strip()))
            raise InputError(header.path, f"{bad[0][0]!r} is not a whole number; expected {what[column]}, a whole "
                             "number", line=hit.line if hit else None, column=column)
        con.execute(f"ALTER TABLE {table} ALTER {col} TYPE BIGINT USING CAST(trim({col}) AS BIGINT)")


# --- NHSBSA quarterly list sizes by age band and sex -----------------------------------------

NHSBSA_BANDS = ("0-4", "5-14", "15-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+")


@register("list_size_age_sex_nhsbsa", "list_sizes",
          "NHSBSA quarterly practice list sizes by sex and 9 age bands (Practice Code, Male 0-4, ..., Female 75+)",
          columns=("Practice Code", "Male 0-4", "Female 0-4", "Male 75+", "Female 75+"))
def read_list_size_age_sex_nhsbsa(header: Header) -> pa.Table:
    """Wide Male/Female × age-band columns become long rows (sex 'male'/'female', age_band
    '0-4', '5-14', ..., '75+'), plus one total row per practice (sex 'all', age_band 'all', the
    sum of the 18 counts).

    The file has no date column. Its month comes from its name (see `months_from_name`): NHSBSA's
    name for the Jan-Mar 2016 quarter, Patient_List_Size_2016_01-03, gives each of January,
    February and March 2016, so every practice appears once per month of the quarter."""
    months = months_from_name(header.path)
    wanted = ["Practice Code"] + [f"{sex} {band}" for band in NHSBSA_BANDS for sex in ("Male", "Female")]
    cols = resolve_columns(header, wanted)
    counts = [cols[w] for w in wanted[1:]]
    con = connect()
    scan(con, header, {}, list(cols.values()))
    check_required(con, header, "raw", [cols["Practice Code"]])
    _check_counts_present(con, header, "raw", counts, "the number of patients")
    _whole_numbers(con, header, "raw", counts, {c: f"the number of patients ({c})" for c in counts})
    check_not_negative(con, header, "raw", counts, {c: "a number of patients of zero or more" for c in counts})
    practice = f"upper(trim({quote_ident(cols['Practice Code'])}))"
    check_duplicates(con, header, "raw", {"practice": practice},
                     lambda r: (r[cols["Practice Code"]].strip().upper(),))
    parts = [f"SELECT {practice} AS practice, '{sex.lower()}' AS sex, '{band}' AS age_band, "
             f"{quote_ident(cols[f'{sex} {band}'])} AS patients FROM raw"
             for band in NHSBSA_BANDS for sex in ("Male", "Female")]
    parts.append(f"SELECT {practice}, 'all', 'all', {' + '.join(quote_ident(c) for c in counts)} FROM raw")
    return query_arrow(con, f"SELECT m.month, l.practice, l.sex, l.age_band, l.patients FROM {_months_sql(months)} "
                            f"CROSS JOIN ({' UNION ALL '.join(parts)}) l ORDER BY m.month")


# --- NHS Digital: Patients registered at a GP practice --------------------------------------

SEXES = {"MALE": "male", "FEMALE": "female", "ALL": "all"}


def _read_gp_reg(header: Header, org_type: str, org_code: str, age: str, source_what: str) -> pa.Table:
    cols = resolve_columns(header, ["EXTRACT_DATE", org_type, org_code, "SEX", age, "NUMBER_OF_PATIENTS"])
    n = cols["NUMBER_OF_PATIENTS"]
    con = connect()
    scan(con, header, {}, list(cols.values()))
    q = {k: quote_ident(v) for k, v in cols.items()}
    check_required(con, header, "raw", [cols["EXTRACT_DATE"], cols[org_type], cols[org_code], cols["SEX"], cols[age]])
    _check_counts_present(con, header, "raw", [n], "the number of patients")
    _whole_numbers(con, header, "raw", [n], {n: "the number of patients"})
    check_not_negative(con, header, "raw", [n], {n: "a number of patients of zero or more"})
    con.execute(f"CREATE TEMP TABLE gp AS SELECT * FROM raw WHERE upper(trim({q[org_type]})) = 'GP'")

    def is_gp(r: dict[str, str]) -> bool:
        return r[cols[org_type]].strip().upper() == "GP"

    if not con.execute("SELECT 1 FROM gp LIMIT 1").fetchone():
        raise InputError(header.path, f"no rows with {cols[org_type]} = GP; expected GP practice rows in {source_what}",
                         line=2, column=cols[org_type])
    # Dates: few distinct values, parsed in Python so that every layout NHS Digital used is accepted.
    months = {}
    for (text,) in con.execute(f"SELECT DISTINCT {q['EXTRACT_DATE']} FROM gp").fetchall():
        try:
            day = parse_date(header.path, 0, cols["EXTRACT_DATE"], text, EXTRACT_DATE_LAYOUTS, nulls=(),
                             what="an extract date")
        except InputError as exc:
            hit = locate(header, lambda r: r[cols["EXTRACT_DATE"]] == text)
            raise InputError(header.path, exc.message, line=hit.line if hit else None,
                             column=cols["EXTRACT_DATE"]) from None
        months[text] = day.replace(day=1)
    values = ", ".join(f"('{t.replace(chr(39), chr(39) * 2)}', DATE '{m.isoformat()}')" for t, m in months.items())
    con.execute(f"CREATE TEMP TABLE extract_months AS SELECT * FROM (VALUES {values}) AS v(text, month)")
    bad = con.execute(f"SELECT {q['SEX']} FROM gp WHERE upper(trim({q['SEX']})) NOT IN ('MALE', 'FEMALE', 'ALL') "
                      "LIMIT 1").fetchone()
    if bad:
        hit = locate(header, lambda r: is_gp(r) and r[cols["SEX"]].strip().upper() not in SEXES)
        raise InputError(header.path, f"{bad[0]!r} is not a sex; expected MALE, FEMALE or ALL",
                         line=hit.line if hit else None, column=cols["SEX"])
    band = f"upper(trim({q[age]}))"
    bad = con.execute(f"SELECT {q[age]} FROM gp WHERE NOT ({band} = 'ALL' OR regexp_full_match({band}, "
                      r"'\d+(_\d+|\+)?')) LIMIT 1").fetchone()
    if bad:
        hit = locate(header, lambda r: is_gp(r) and not re.fullmatch(r"ALL|\d+(_\d+|\+)?",
                                                                     r[cols[age]].strip().upper()))
        raise InputError(header.path, f"{bad[0]!r} is not an age group; expected ALL, an age (0-94), a band such as "
                         "0_4 or 95+", line=hit.line if hit else None, column=cols[age])
    con.execute(f"""CREATE TEMP TABLE typed AS SELECT m.month, upper(trim(g.{q[org_code]})) AS practice,
        lower(trim(g.{q['SEX']})) AS sex,
        CASE WHEN upper(trim(g.{q[age]})) = 'ALL' THEN 'all'
             ELSE replace(trim(g.{q[age]}), '_', '-') END AS age_band,
        g.{q['NUMBER_OF_PATIENTS']} AS patients
        FROM gp g JOIN extract_months m ON g.{q['EXTRACT_DATE']} = m.text""")

    def raw_key(r: dict[str, str]) -> tuple:
        if not is_gp(r) or r[cols["EXTRACT_DATE"]] not in months:
            return (None,)
        band = r[cols[age]].strip()
        return (months[r[cols["EXTRACT_DATE"]]], r[cols[org_code]].strip().upper(), r[cols["SEX"]].strip().lower(),
                "all" if band.upper() == "ALL" else band.replace("_", "-"))

    check_duplicates(con, header, "typed", {"month": "month", "practice": "practice", "sex": "sex",
                                            "age_band": "age_band"}, raw_key)
    return query_arrow(con, "SELECT month, practice, sex, age_band, patients FROM typed")


@register("gp_reg_pat_quin_age", "list_sizes",
          "NHS Digital 'Patients registered at a GP practice', 5-year age bands (gp-reg-pat-prac-quin-age.csv)",
          columns=("EXTRACT_DATE", "ORG_TYPE", "ORG_CODE", "SEX", "AGE_GROUP_5", "NUMBER_OF_PATIENTS"))
def read_gp_reg_pat_quin_age(header: Header) -> pa.Table:
    """Layout (NHS Digital's metadata page for the publication, confirmed by search):
    PUBLICATION, EXTRACT_DATE, ORG_TYPE, ORG_CODE, ONS_CODE, POSTCODE, SEX, AGE_GROUP_5,
    NUMBER_OF_PATIENTS. Only ORG_TYPE = GP rows are kept (the file also holds PCN, sub-ICB, ICB
    and region totals). SEX MALE/FEMALE/ALL → male/female/all; AGE_GROUP_5 0_4 → '0-4', 95+ kept,
    ALL → 'all'. The month is that of EXTRACT_DATE (01-Oct-2022, 01-Oct-22, 01OCT2022 or
    2022-10-01: NHS Digital has used each)."""
    return _read_gp_reg(header, "ORG_TYPE", "ORG_CODE", "AGE_GROUP_5", "gp-reg-pat-prac-quin-age")


@register("gp_reg_pat_all", "list_sizes",
          "NHS Digital 'Patients registered at a GP practice', totals per practice (gp-reg-pat-prac-all.csv)",
          lambda h: h.has("EXTRACT_DATE", "TYPE", "CODE", "SEX", "AGE", "NUMBER_OF_PATIENTS") and not h.has("ORG_CODE"),
          columns=("EXTRACT_DATE", "TYPE", "CODE", "SEX", "AGE", "NUMBER_OF_PATIENTS"))
def read_gp_reg_pat_all(header: Header) -> pa.Table:
    """Layout: PUBLICATION, EXTRACT_DATE, TYPE, [CCG_CODE, ONS_CCG_CODE | SUB_ICB_LOCATION_CODE,
    ONS_SUB_ICB_LOCATION_CODE], CODE, POSTCODE, SEX, AGE, NUMBER_OF_PATIENTS, one row per practice
    with SEX = ALL and AGE = ALL (confirmed on the real April 2026 file, extract date 2026-04-01,
    and on a published test fixture using 01JUL2026). TYPE = GP rows only; month from EXTRACT_DATE."""
    return _read_gp_reg(header, "TYPE", "CODE", "AGE", "gp-reg-pat-prac-all")


# --- practice list sizes from GP practice profiles ------------------------------------------


@register("practice_demographics", "list_sizes",
          "Practice list size with deprivation and age mix (practice_code, list_size, imd_score, ...)",
          lambda h: h.has("practice_code", "list_size") and not h.has("year_month") and not h.has("date"),
          columns=("practice_code", "list_size"))
def read_practice_demographics(header: Header) -> pa.Table:
    """practice_code, list_size → one total row per practice (sex 'all', age_band 'all'). The
    other columns (IMD score and decile, % over 65, % under 5, % aged 5-19) are not list sizes
    and are not read.

    The file records no reference period (the shared practice_demographics_2025 copy was compiled
    from OHID's GP practice profiles in ~2025), so its month must be in its name (see
    `months_from_name`); practice_demographics_2025.csv is refused until renamed, say, to
    practice_demographics_2025_04.csv by someone who knows the period."""
    months = months_from_name(header.path)
    cols = resolve_columns(header, ["practice_code", "list_size"])
    n = cols["list_size"]
    con = connect()
    scan(con, header, {}, list(cols.values()))
    check_required(con, header, "raw", [cols["practice_code"]])
    _check_counts_present(con, header, "raw", [n], "the registered list size")
    _whole_numbers(con, header, "raw", [n], {n: "the registered list size"})
    check_not_negative(con, header, "raw", [n], {n: "a list size of zero or more"})
    practice = f"upper(trim({quote_ident(cols['practice_code'])}))"
    check_duplicates(con, header, "raw", {"practice": practice}, lambda r: (r[cols["practice_code"]].strip().upper(),))
    return query_arrow(con, f"SELECT m.month, {practice} AS practice, 'all' AS sex, 'all' AS age_band, "
                            f"{quote_ident(n)} AS patients FROM {_months_sql(months)} CROSS JOIN raw ORDER BY m.month")


# --- QOF registers: NHS Digital raw data ------------------------------------------------------

QOF_ALIASES = {
    "GROUP_CODE": ["INDICATOR_GROUP_CODE", "INDICATOR_GROUP"],
    "PRACTICE_LIST_SIZE": ["PATIENT_LIST_SIZE"],
}


@register("qof_nhsd", "qof_registers",
          "NHS Digital QOF raw data, PREVALENCE_YYZZ.csv (PRACTICE_CODE, GROUP_CODE, REGISTER, PATIENT_LIST_TYPE, "
          "PRACTICE_LIST_SIZE)",
          columns=("PRACTICE_CODE", "REGISTER", "PATIENT_LIST_TYPE",
                   ("GROUP_CODE", "INDICATOR_GROUP_CODE", "INDICATOR_GROUP")))
def read_qof_nhsd(header: Header) -> pa.Table:
    """One row per practice and register (GROUP_CODE: AF, AST, CHD, ...): REGISTER → patients,
    PRACTICE_LIST_SIZE → list_size (the list of the population in PATIENT_LIST_TYPE);
    list_type TOTAL → 'all', 18OV → '18+' (any NNOV → 'NN+'), other values kept as written.

    Column names confirmed from published code reading NHS Digital's PREVALENCE_1920 ... _2425
    files (PRACTICE_CODE, GROUP_CODE, REGISTER, PATIENT_LIST_TYPE, PRACTICE_LIST_SIZE); the
    2015-16 spellings INDICATOR_GROUP_CODE and PATIENT_LIST_SIZE are accepted too. The year
    comes from the file name (`qof_year_from_name`): PREVALENCE_2223.csv → '2022-23'."""
    year = qof_year_from_name(header.path)
    cols = resolve_columns(header, ["PRACTICE_CODE", "GROUP_CODE", "REGISTER", "PATIENT_LIST_TYPE",
                                    "PRACTICE_LIST_SIZE"], QOF_ALIASES)
    counts = [cols["REGISTER"], cols["PRACTICE_LIST_SIZE"]]
    con = connect()
    scan(con, header, {}, list(cols.values()))
    check_required(con, header, "raw", [cols["PRACTICE_CODE"], cols["GROUP_CODE"]])
    _check_counts_present(con, header, "raw", [cols["REGISTER"]], "the number of patients on the register")
    _whole_numbers(con, header, "raw", counts, {cols["REGISTER"]: "the number of patients on the register",
                                                cols["PRACTICE_LIST_SIZE"]: "the practice list size"})
    check_not_negative(con, header, "raw", counts)
    q = {k: quote_ident(v) for k, v in cols.items()}
    check_duplicates(con, header, "raw", {"practice": f"upper(trim({q['PRACTICE_CODE']}))",
                                          "register": f"upper(trim({q['GROUP_CODE']}))"},
                     lambda r: (r[cols["PRACTICE_CODE"]].strip().upper(), r[cols["GROUP_CODE"]].strip().upper()))
    lt = f"upper(trim({q['PATIENT_LIST_TYPE']}))"
    return query_arrow(con, f"""SELECT '{year}' AS year, upper(trim({q['PRACTICE_CODE']})) AS practice,
        upper(trim({q['GROUP_CODE']})) AS register, {q['REGISTER']} AS patients,
        {q['PRACTICE_LIST_SIZE']} AS list_size,
        CASE WHEN {lt} = 'TOTAL' THEN 'all'
             WHEN regexp_full_match({lt}, '\\d+OV')
                  THEN CAST(CAST(regexp_extract({lt}, '(\\d+)OV', 1) AS INT) AS VARCHAR) || '+'
             ELSE nullif(trim({q['PATIENT_LIST_TYPE']}), '') END AS list_type
        FROM raw""")


# --- QOF registers: the reshaped 2018-19 extract --------------------------------------------

# The population each register is a prevalence of (NHS Digital's QOF 2017-18 and 2018-19
# definitions; checked on the shared files: register / list size reproduces the published
# prevalence for each).
QOF_POPULATION = {
    "AF": "all", "CHD": "all", "HF": "all", "HYP": "all", "PAD": "all", "STIA": "all", "LVSD": "all",
    "CVDPP": "30-74", "CAN": "all", "PC": "all", "CKD": "18+", "DM": "17+", "OB": "18+", "DEM": "all",
    "DEP": "18+", "EP": "18+", "LD": "all", "MH": "all", "OST": "50+", "RA": "16+", "AST": "all", "COPD": "all",
}
LIST_SIZE_COLUMNS = {"allAges": "all", "ages30to74": "30-74", "age16p": "16+", "age50p": "50+",
                     "ages17plus": "17+", "ages18plus": "18+"}
_LIST_SIZE = re.compile(r"(" + "|".join(LIST_SIZE_COLUMNS) + r")_(\d{2})(\d{2})", re.IGNORECASE)
# AF_N_1819, CKD18p_N_1718, OST50_N_1819, DM17p_N_1819: register code, its age qualifier, year.
_REGISTER = re.compile(r"([A-Za-z]+?)(\d+p?)?_N_(\d{2})(\d{2})")
QOF_MISSING = ("", ":", "z")  # blank, ':' (not available) and 'z' (not applicable)


def _is_qof_1819(h: Header) -> bool:
    return (h.delimiter == ";" and h.has("practiceCode")
            and any(_REGISTER.fullmatch(f) for f in h.fields) and any(_LIST_SIZE.fullmatch(f) for f in h.fields))


@register("qof_1819_reshaped", "qof_registers",
          "QOF 2017-18/2018-19 registers by practice, reshaped from NHS Digital's workbooks (qofGP_1819_*.csv: "
          "semicolon-separated, European numbers)", _is_qof_1819)
def read_qof_1819_reshaped(header: Header) -> pa.Table:
    """Semicolon-separated with European numbers ('.' = thousands: list size 7.389 = 7389).

    Register counts are the ``<CODE>[age]_N_<YYZZ>`` columns (AF_N_1819, CKD18p_N_1718,
    OST50_N_1819 ...) → register CODE (AF, CKD, OST; STIA is stroke and TIA), year 20YY-ZZ. Each
    register's list size is the column of the population its prevalence is of (QOF_POPULATION:
    allAges_YYZZ, ages30to74_, ages17plus_, ages18plus_, age16p_, age50p_), named in list_type
    ('all', '30-74', '17+', '18+', '16+', '50+').

    Prevalence (_p_) and change columns are ignored: prevalence is register / list size, and the
    dependency file's DM17p_p_1819 column is corrupted (an Excel fill-down).

    Values ':' (not available: the 69 practices that did not exist in 2017-18), 'z' (not
    applicable: no LD register in 2017-18) and blanks give no row.

    One quirk is handled: in the lifestyle file the only 2017-18 list size is headed
    allAges_1718 but holds the 18+ list (it equals ages18plus_1718 in the mental-health file for
    all 6,873 practices, and reproduces OB_p_1718). So when a year has no column for a register's
    population, and the file's registers all share that population, its allAges column is taken
    to be that population's list."""
    f = read_small(header)
    path = header.path
    practice_col = resolve_columns(header, ["practiceCode"])["practiceCode"]
    pi = f.index(practice_col)
    list_cols: dict[tuple[str, str], int] = {}
    for i, name in enumerate(f.names):
        if m := _LIST_SIZE.fullmatch(name):
            kind = next(k for k in LIST_SIZE_COLUMNS if k.lower() == m.group(1).lower())
            list_cols[(LIST_SIZE_COLUMNS[kind], m.group(2) + m.group(3))] = i
    registers: list[tuple[str, str, int]] = []  # (code, 'YYZZ', column index)
    seen: dict[tuple[str, str], str] = {}
    for i, name in enumerate(f.names):
        m = _REGISTER.fullmatch(name)
        if not m:
            continue
        code, yy, zz = m.group(1).upper(), m.group(3), m.group(4)
        if (int(yy) + 1) % 100 != int(zz):
            raise InputError(path, f"column {name}: {yy}{zz} is not a financial year; expected YYZZ with ZZ = YY + 1 "
                             "(e.g. 1819)", line=1, column=name)
        if code not in QOF_POPULATION:
            raise InputError(path, f"column {name}: unknown QOF register {code}; expected one of "
                             f"{', '.join(sorted(QOF_POPULATION))}", line=1, column=name)
        if (code, yy + zz) in seen:
            raise InputError(path, f"columns {seen[(code, yy + zz)]} and {name} both count the {code} register for "
                             f"20{yy}-{zz}; expected one", line=1, column=name)
        seen[(code, yy + zz)] = name
        registers.append((code, yy + zz, i))
    if not registers:
        raise InputError(path, "missing columns: no register counts (e.g. AF_N_1819); expected at least one", line=1)
    populations = {QOF_POPULATION[code] for code, _, _ in registers}
    plan = []  # (code, year text, register column, list-size column)
    for code, yyzz, i in registers:
        pop = QOF_POPULATION[code]
        li = list_cols.get((pop, yyzz))
        if li is None and populations == {pop} and ("all", yyzz) in list_cols:
            li = list_cols[("all", yyzz)]  # the lifestyle file's mislabelled allAges_1718 (see above)
        if li is None:
            wanted = next(k for k, v in LIST_SIZE_COLUMNS.items() if v == pop) + "_" + yyzz
            raise InputError(path, f"missing column {wanted}: the {pop} list size for the {code} register in "
                             f"20{yyzz[:2]}-{yyzz[2:]}; found {', '.join(f.names)}", line=1)
        plan.append((code, f"20{yyzz[:2]}-{yyzz[2:]}", i, li, pop))
    keys = KeyCheck(path, ["practice"])
    out: dict[str, list] = {k: [] for k in ("year", "practice", "register", "patients", "list_size", "list_type")}
    for line, r in f.rows:
        practice = need_code(path, line, practice_col, r[pi], "a practice code").upper()
        keys.add((practice,), line)
        for code, year, i, li, pop in plan:
            patients = parse_count(path, line, f.names[i], r[i], what=f"the number of patients on the {code} register",
                                   european=True, nulls=QOF_MISSING)
            if patients is None:
                continue
            out["year"].append(year)
            out["practice"].append(practice)
            out["register"].append(code)
            out["patients"].append(patients)
            out["list_size"].append(parse_count(path, line, f.names[li], r[li], what="a list size", european=True,
                                                nulls=QOF_MISSING))
            out["list_type"].append(pop)
    return make_table("qof_registers", out)
