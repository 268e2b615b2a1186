"""Hand-made files in the official layouts, for tests that must not depend on ../shared/data."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

EPD_HEADER = ("YEAR_MONTH,REGIONAL_OFFICE_NAME,REGIONAL_OFFICE_CODE,ICB_NAME,ICB_CODE,PCO_NAME,PCO_CODE,"
              "PRACTICE_NAME,PRACTICE_CODE,ADDRESS_1,ADDRESS_2,ADDRESS_3,ADDRESS_4,POSTCODE,BNF_CHEMICAL_SUBSTANCE,"
              "CHEMICAL_SUBSTANCE_BNF_DESCR,BNF_CODE,BNF_DESCRIPTION,BNF_CHAPTER_PLUS_CODE,QUANTITY,ITEMS,"
              "TOTAL_QUANTITY,ADQUSAGE,NIC,ACTUAL_COST,UNIDENTIFIED").split(",")


def epd_row(month: str = "202209", practice: str = "A81001", bnf: str = "0208020Z0AAAAAA", quantity: str = "56",
            items: str = "2", nic: str = "53.20", cost: str = "49.75", name: str = "THE DENSHAM SURGERY") -> list[str]:
    total = str(float(quantity) * float(items)) if _num(quantity) and _num(items) else "0"
    return [month, "NORTH EAST AND YORKSHIRE", "Y63", "NHS NORTH EAST AND NORTH CUMBRIA INTEGRATED CARE BOARD", "QHM",
            "NHS NORTH EAST AND NORTH CUMBRIA ICB - 16C", "16C", name, practice, "", "", "", "", "TS18 1HU",
            bnf[:9], "Apixaban", bnf, "Apixaban 5mg tablets", "02: Cardiovascular System", quantity, items, total,
            "28", nic, cost, "N"]


def _num(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


def write_epd(path: Path, rows: list[list[str]], header: list[str] | None = None, gz: bool | None = None) -> Path:
    gz = path.suffix == ".gz" if gz is None else gz
    opener = gzip.open if gz else open
    with opener(path, "wt", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header or EPD_HEADER)
        w.writerows(rows)
    return path


def good_epd_rows(month: str = "202209", practices: int = 3, codes: int = 4) -> list[list[str]]:
    bnf = ["0208020Z0AAAAAA", "0208020Z0AAABAB", "0208020X0AAAAAA", "0601022B0AAABAB", "0212000B0AAAAAA"]
    return [epd_row(month, f"A8100{p}", bnf[c], "56", str(1 + p + c)) for p in range(practices) for c in range(codes)]


DOAC_MEASURE_BY_CCG = "epd/doac_vs_warfarin_measure_ccg_monthly_2015_2020.csv"


def write_doac_by_ccg(shared_data: Path, months: list[str], path: Path):
    """OpenPrescribing's DOAC measure by CCG (keyed by the 135 CCG codes of 2020), for `months`
    ('2020-07-01'), written in the layout of OpenPrescribing's CCG downloads (date, row_id,
    bnf_code, items): the DOAC items under apixaban's chemical code and the warfarin items
    (DOAC + warfarin − DOAC) under warfarin's. doac_share counts the four DOACs alike, so its
    numerator and denominator are the measure's own columns. Returns the measure's rows (pandas)."""
    import pandas as pd

    raw = pd.read_csv(shared_data / DOAC_MEASURE_BY_CCG, dtype={"pct_id": str})
    raw = raw[raw.month.isin(months)]
    doac = raw.assign(bnf_code="0208020Z0", items=raw.total_doac_items)
    warfarin = raw.assign(bnf_code="0208020V0", items=raw.total_doac_warfain - raw.total_doac_items)
    pd.concat([doac, warfarin])[["month", "pct_id", "bnf_code", "items"]].rename(
        columns={"month": "date", "pct_id": "row_id"}).to_csv(path, index=False)
    return raw
