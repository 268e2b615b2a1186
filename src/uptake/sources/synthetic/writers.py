"""Writers for the official file layouts: ODS, NHS Digital list sizes and QOF, NHSBSA EPD and SCMD.

CSV is written by pyarrow (quoting text only where the publisher's layout does: ODS files quote
every field and have no header; the others have a plain header line). String columns are built
as dictionary arrays, so a month of national prescribing (17M rows) stays cheap to assemble.
"""

from __future__ import annotations

import datetime as dt
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ...schemas import DATASETS
from .calendar import yyyymmdd
from .organisations import Organisations
from .population import Population, Registers
from .prescribing import Prescribing
from .reference import AGE_BANDS, SEXES
from .secondary import Secondary

EPD_HEADER = [
    "YEAR_MONTH", "REGIONAL_OFFICE_NAME", "REGIONAL_OFFICE_CODE", "ICB_NAME", "ICB_CODE", "PCO_NAME", "PCO_CODE",
    "PRACTICE_NAME", "PRACTICE_CODE", "ADDRESS_1", "ADDRESS_2", "ADDRESS_3", "ADDRESS_4", "POSTCODE",
    "BNF_CHEMICAL_SUBSTANCE", "CHEMICAL_SUBSTANCE_BNF_DESCR", "BNF_CODE", "BNF_DESCRIPTION", "BNF_CHAPTER_PLUS_CODE",
    "QUANTITY", "ITEMS", "TOTAL_QUANTITY", "ADQUSAGE", "NIC", "ACTUAL_COST", "UNIDENTIFIED",
]
LIST_SIZE_HEADER = ["PUBLICATION", "EXTRACT_DATE", "ORG_TYPE", "ORG_CODE", "ONS_CODE", "POSTCODE", "SEX",
                    "AGE_GROUP_5", "NUMBER_OF_PATIENTS"]
MAP_HEADER = [
    "PUBLICATION", "EXTRACT_DATE", "PRACTICE_CODE", "PRACTICE_NAME", "PRACTICE_POSTCODE", "PCN_CODE", "PCN_NAME",
    "ONS_SUB_ICB_LOCATION_CODE", "SUB_ICB_LOCATION_CODE", "SUB_ICB_LOCATION_NAME", "ONS_ICB_CODE", "ICB_CODE",
    "ICB_NAME", "ONS_COMM_REGION_CODE", "COMM_REGION_CODE", "COMM_REGION_NAME",
]
QOF_HEADER = ["PRACTICE_CODE", "GROUP_CODE", "REGISTER", "PATIENT_LIST_TYPE", "PRACTICE_LIST_SIZE"]
SCMD_HEADER = ["YEAR_MONTH", "ODS_CODE", "VMP_SNOMED_CODE", "VMP_PRODUCT_NAME", "UNIT_OF_MEASURE_IDENTIFIER",
               "UNIT_OF_MEASURE_NAME", "TOTAL_QUANITY_IN_VMP_UNIT", "INDICATIVE_COST"]
ICB_LOOKUP_HEADER = ["icb_code", "icb_name", "icb_region"]
PUBLICATION = "GP_PRAC_PAT_LIST"


def _dict(indices: np.ndarray, values) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(indices, dtype=np.int32)), pa.array(list(values), pa.string()))


def _const(value: str, n: int) -> pa.DictionaryArray:
    return _dict(np.zeros(n, dtype=np.int32), [value])


class CsvFile:
    """A CSV file written in pieces: a plain header line, then pyarrow-written rows."""

    def __init__(self, path: Path, header: list[str] | None, quote_all: bool = False):
        self.path = path
        self.header = header
        self.quoting = "all_valid" if quote_all else "needed"
        self.rows = 0
        self._f = open(path, "wb")
        if header:
            self._f.write((",".join(header) + "\n").encode())
        self._writer: pacsv.CSVWriter | None = None

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if self._writer is None:
            opts = pacsv.WriteOptions(include_header=False, quoting_style=self.quoting)
            self._writer = pacsv.CSVWriter(self._f, table.schema, write_options=opts)
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> int:
        if self._writer is not None:
            self._writer.close()
        self._f.close()
        return self.rows


def _table(names: list[str], arrays: list) -> pa.Table:
    return pa.Table.from_arrays(arrays, names=names)


# --- ODS -----------------------------------------------------------------------------------------

def _region_names(orgs: Organisations) -> list[str]:
    return [r.name for r in orgs.regions]


def icb_lookup(path: Path, orgs: Organisations) -> int:
    region = {r.code: r.name for r in orgs.regions}
    f = CsvFile(path, ICB_LOOKUP_HEADER)
    rows = [("-", "UNIDENTIFIED", "UNIDENTIFIED")] + sorted(
        (i.code, i.name.upper(), region[i.region]) for i in orgs.icbs)
    f.write(_table(ICB_LOOKUP_HEADER, [pa.array([r[k] for r in rows]) for k in range(3)]))
    return f.close()


def epraccur(path: Path, orgs: Organisations) -> int:
    """ODS epraccur, the 27-column headerless layout of 2024 onwards, every field quoted."""
    end = orgs.months[-1]
    region = {r.code: r.code for r in orgs.regions}
    cols: list[list[str]] = [[] for _ in range(27)]
    last = len(orgs.months) - 1
    for j in range(orgs.n_practices):
        icb = orgs.icbs[orgs.icb[j]]
        closed = orgs.closed[j]
        sub = orgs.sub_icbs[orgs.sub_icb_at[last, j]].code
        status = "INACTIVE" if closed is not None and closed <= end.last else "ACTIVE"
        row = [
            orgs.code[j], orgs.name[j], region[icb.region], icb.code, *orgs.address[j], "", orgs.postcode[j],
            yyyymmdd(orgs.opened[j]), yyyymmdd(closed), status, "B", sub, yyyymmdd(orgs.join_date[j]),
            yyyymmdd(closed), _phone(orgs.code[j]),
            "", "", "", "1", "", sub, "", "RO76", "",
        ]
        for k, v in enumerate(row):
            cols[k].append(v)
    f = CsvFile(path, None, quote_all=True)
    f.write(_table([f"c{k + 1}" for k in range(27)], [pa.array(c, pa.string()) for c in cols]))
    return f.close()


def _phone(code: str) -> str:
    """A synthetic phone number, stable for a practice code (01xxx/02xxx area-code shape)."""
    h = zlib.crc32(code.encode())
    return f"0{1 + h % 2}{h // 2 % 1000:03d} {h // 2000 % 1000000:06d}"


TRUST_HEADER = ["ods_code", "ods_name", "region_code", "stp_code", "address_line_1", "address_line_2",
                "address_line_3", "address_line_4", "address_line_5", "postcode", "open_date", "close_date",
                "amended_record_indicator", "gor_code"]
# Government office region letter of each NHS region's main area, as etr's gor_code column has it.
GOR = {"Y56": "H", "Y58": "K", "Y59": "J", "Y60": "F", "Y61": "G", "Y62": "B", "Y63": "A"}


def _title(text: str) -> str:
    small = {"AND", "OF", "THE"}
    words = [w if w == "NHS" else (w.lower() if w in small and i else w.capitalize()) for i, w in enumerate(text.split())]
    return " ".join(words)


def trusts(path: Path, orgs: Organisations) -> int:
    """NHS trusts in the tidied ODS etr layout (ods_code, ods_name, region_code, stp_code, ...),
    'NA' for an empty field and ISO dates, as EBM DataLab publish it."""
    cols: list[list[str]] = [[] for _ in TRUST_HEADER]
    for t in range(len(orgs.trust_code)):
        icb = orgs.icbs[orgs.trust_icb[t]]
        a = [x or "NA" for x in orgs.trust_address[t]]
        row = [orgs.trust_code[t], _title(orgs.trust_name[t]), icb.region, icb.code, *a, "NA",
               orgs.trust_postcode[t], "2001-04-01", "NA", "0", GOR[icb.region]]
        for k, v in enumerate(row):
            cols[k].append(v)
    f = CsvFile(path, TRUST_HEADER)
    f.write(_table(TRUST_HEADER, [pa.array(c, pa.string()) for c in cols]))
    return f.close()


def practice_map(path: Path, orgs: Organisations, m: int) -> int:
    """NHS Digital gp-reg-pat-prac-map (2022+ layout): practice → PCN → sub-ICB → ICB → region."""
    month = orgs.months[m]
    j = np.flatnonzero(orgs.open_at[m])
    n = len(j)
    subs = orgs.sub_icb_at[m, j]
    pcns = orgs.pcn_at[m, j]
    icbs = orgs.icb[j]
    region_index = orgs.region_of_icb()[icbs]
    cols = [
        _const(PUBLICATION, n), _const(month.extract_date, n),
        _dict(j, orgs.code), _dict(j, orgs.name), _dict(j, orgs.postcode),
        _dict(pcns, orgs.pcn_code), _dict(pcns, orgs.pcn_name),
        _dict(subs, [s.ons_code for s in orgs.sub_icbs]), _dict(subs, [s.code for s in orgs.sub_icbs]),
        _dict(subs, [s.name for s in orgs.sub_icbs]),
        _dict(icbs, [i.ons_code for i in orgs.icbs]), _dict(icbs, [i.code for i in orgs.icbs]),
        _dict(icbs, [i.name for i in orgs.icbs]),
        _dict(region_index, [r.ons_code for r in orgs.regions]), _dict(region_index, [r.code for r in orgs.regions]),
        _dict(region_index, _region_names(orgs)),
    ]
    f = CsvFile(path, MAP_HEADER)
    f.write(_table(MAP_HEADER, cols))
    return f.close()


# --- populations and registers ---------------------------------------------------------------------

def list_sizes(path: Path, orgs: Organisations, pop: Population, m: int) -> int:
    """NHS Digital 'Patients registered at a GP practice', 5-year age bands (gp-reg-pat-prac-quin-age)."""
    month = orgs.months[m]
    j = np.flatnonzero(orgs.open_at[m])
    n = len(j)
    per = 1 + 2 * len(AGE_BANDS)  # ALL/ALL, then FEMALE and MALE by band
    counts = pop.counts[m, j]  # [n, 2, 20]
    values = np.concatenate([pop.total[m, j][:, None], counts.reshape(n, -1)], axis=1).reshape(-1)
    sex = np.tile(np.array([0] + [1] * len(AGE_BANDS) + [2] * len(AGE_BANDS)), n)
    band = np.tile(np.array([0] + list(range(1, len(AGE_BANDS) + 1)) * 2), n)
    pj = np.repeat(j, per)
    cols = [
        _const(PUBLICATION, n * per), _const(month.extract_date, n * per), _const("GP", n * per),
        _dict(pj, orgs.code), _const("", n * per), _dict(pj, orgs.postcode),
        _dict(sex, ["ALL", *SEXES]), _dict(band, ["ALL", *AGE_BANDS]), pa.array(values.astype(np.int64)),
    ]
    f = CsvFile(path, LIST_SIZE_HEADER)
    f.write(_table(LIST_SIZE_HEADER, cols))
    return f.close()


def qof_prevalence(path: Path, orgs: Organisations, pop: Population, regs: Registers, m: int, year: float) -> int:
    """NHS Digital QOF raw data PREVALENCE_YYZZ.csv: registers as at the end of the financial year."""
    j = np.flatnonzero(orgs.open_at[m])
    counts = np.rint(regs.counts(pop, m, year)[j]).astype(np.int64)  # [n, R]
    denom = np.rint(regs.denominators(pop, m)[j]).astype(np.int64)
    order = np.argsort(np.array(regs.codes), kind="stable")
    R = len(order)
    n = len(j)
    pj = np.repeat(j, R)
    r = np.tile(order, n)
    cols = [
        _dict(pj, orgs.code), _dict(r, regs.codes), pa.array(counts[:, order].reshape(-1)),
        _dict(r, regs.list_types), pa.array(denom[:, order].reshape(-1)),
    ]
    f = CsvFile(path, QOF_HEADER)
    f.write(_table(QOF_HEADER, cols))
    return f.close()


# --- prescribing -----------------------------------------------------------------------------------

def epd(path: Path, orgs: Organisations, rx: Prescribing, m: int, ratio: float, fee: float) -> int:
    """NHSBSA English Prescribing Dataset, current layout, one month."""
    month = orgs.months[m]
    region_of_icb = orgs.region_of_icb()
    region_names = [n.upper() for n in _region_names(orgs)]
    region_codes = [r.code for r in orgs.regions]
    icb_names = [i.name.upper() for i in orgs.icbs]
    icb_codes = [i.code for i in orgs.icbs]
    pco_names = [s.name.upper() for s in orgs.sub_icbs]
    # EPD's PCO_CODE is 5 characters: a 3-character sub-ICB (formerly CCG) code + "00"; the
    # 5-character codes of CCGs merged in 2020-21 (e.g. A3A8R) stand as they are.
    pco_codes = [s.code if len(s.code) == 5 else f"{s.code}00" for s in orgs.sub_icbs]
    addr = [orgs.address[:, k].astype(str) for k in range(4)]
    ym = int(month.yyyymm)
    f = CsvFile(path, EPD_HEADER)
    for b in rx.blocks(m):
        n = len(b)
        if n == 0:
            continue
        j, c = b.practice, b.code
        icb = orgs.icb[j]
        tq = b.items * b.quantity
        nic = np.round(tq * rx.nic_per_unit[c], 2)
        cols = [
            pa.array(np.full(n, ym, dtype=np.int64)),
            _dict(region_of_icb[icb], region_names), _dict(region_of_icb[icb], region_codes),
            _dict(icb, icb_names), _dict(icb, icb_codes),
            _dict(orgs.sub_icb_at[m, j], pco_names), _dict(orgs.sub_icb_at[m, j], pco_codes),
            _dict(j, orgs.name), _dict(j, orgs.code),
            _dict(j, addr[0]), _dict(j, addr[1]), _dict(j, addr[2]), _dict(j, addr[3]), _dict(j, orgs.postcode),
            _dict(c, rx.chemical), _dict(c, rx.chemical_name), _dict(c, rx.codes), _dict(c, rx.description),
            _dict(c, rx.chapter),
            pa.array(b.quantity), pa.array(b.items), pa.array(tq),
            pa.array(np.round(tq * rx.adq_per_unit[c], 3)), pa.array(nic),
            pa.array(np.round(nic * ratio + b.items * fee, 5)),
            _const("N", n),
        ]
        f.write(_table(EPD_HEADER, cols))
    return f.close()


def epd_parquet(path: Path, orgs: Organisations, rx: Prescribing, m: int, ratio: float, fee: float) -> int:
    """The same month straight into the canonical prescribing schema, as Parquet."""
    schema = DATASETS["prescribing"].schema
    month = orgs.months[m].first
    rows = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as w:
        for b in rx.blocks(m):
            n = len(b)
            if n == 0:
                continue
            tq = b.items * b.quantity
            nic = np.round(tq * rx.nic_per_unit[b.code], 2)
            table = pa.Table.from_arrays([
                pa.array(np.full(n, (month - dt.date(1970, 1, 1)).days, dtype=np.int32), pa.date32()),
                _dict(b.practice, orgs.code).cast(pa.string()),
                _dict(b.code, rx.codes).cast(pa.string()),
                pa.array(b.items, pa.int64()), pa.array(b.quantity, pa.float64()), pa.array(tq, pa.float64()),
                pa.array(nic, pa.float64()), pa.array(np.round(nic * ratio + b.items * fee, 5), pa.float64()),
            ], schema=schema)
            w.write_table(table)
            rows += n
    return rows


def scmd(path: Path, orgs: Organisations, sec: Secondary, m: int) -> int:
    """NHSBSA Secondary Care Medicines Data, published layout (TOTAL_QUANITY_IN_VMP_UNIT, sic)."""
    month = orgs.months[m]
    rows = sec.rows(m)
    n = len(rows.quantity)
    vmps = sec.plan.vmps
    cols = [
        pa.array(np.full(n, int(month.yyyymm), dtype=np.int64)), _dict(rows.trust, orgs.trust_code),
        _dict(rows.vmp, [v.code for v in vmps]), _dict(rows.vmp, [v.name for v in vmps]),
        _dict(rows.vmp, [v.unit_id for v in vmps]), _dict(rows.vmp, [v.unit_name for v in vmps]),
        pa.array(rows.quantity, pa.float64()), pa.array(rows.cost, pa.float64()),
    ]
    f = CsvFile(path, SCMD_HEADER)
    f.write(_table(SCMD_HEADER, cols))
    return f.close()


__all__ = ["EPD_HEADER", "LIST_SIZE_HEADER", "MAP_HEADER", "QOF_HEADER", "SCMD_HEADER", "TRUST_HEADER"]
