"""Rebuild the small reference files in this directory from real published data.

Run by a maintainer, never at generation time:

    python -m uptake.sources.synthetic.data.derive /path/to/shared/data

The shared data directory holds the real NHS files listed in its SOURCES.md (ODS, ONS,
QOF 2018-19, list sizes, a 4-practice EPD extract, the NHSBSA BNF code information). This
script reads them and writes only aggregates and code lists: no row of any source file is
copied. See README.md here for what each output holds and where it came from.
"""

from __future__ import annotations

import collections
import csv
import gzip
import math
import re
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _open(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _write(name: str, header: list[str], rows: list[list[object]], comment: str) -> None:
    with open(HERE / name, "w", encoding="utf-8", newline="") as f:
        for line in comment.strip().splitlines():
            f.write(f"# {line}\n")
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    print(f"wrote {name}: {len(rows)} rows")


def organisations(shared: Path) -> None:
    regions: dict[str, tuple[str, str]] = {}
    for r in csv.DictReader(_open(shared / "ods/stp21_to_nhser21_lookup.csv")):
        regions[r["NHSER21CDH"]] = (r["NHSER21CD"], r["NHSER21NM"])
    _write("regions.csv", ["region_code", "ons_code", "name"],
           [[k, v[0], v[1]] for k, v in sorted(regions.items())],
           "The 7 NHS England commissioning regions: ODS code, ONS (GSS) code and name.\n"
           "Source: ONS 'STP (April 2021) to NHS England Region' lookup (OGL v3.0).")
    region_by_name = {v[1]: k for k, v in regions.items()}

    icb_rows = [r for r in csv.DictReader(_open(shared / "ods/icb_to_region_lookup_2025.csv")) if r["icb_code"] != "-"]
    # Sub-ICB locations (2023 boundaries, the 106 of July 2022) and their ICB's ONS code.
    subs: dict[str, dict[str, str]] = {}
    icb_ons: dict[str, tuple[str, str]] = {}
    pop: dict[str, float] = {}
    for r in csv.DictReader(_open(shared / "deprivation/imd2025_subicb_scores_long.csv.gz")):
        if r["sicbl_vintage"] != "2023":
            continue
        subs[r["sicbl_nhs_code"]] = r
        icb_ons[r["icb_name"].upper()] = (r["icb_code"], r["icb_name"])
        if r["index"] == "imd":
            pop[r["sicbl_nhs_code"]] = float(r["weight_pop"])
    # Active GP practices, postcode areas and list sizes per ICB (ODS epraccur, Feb 2026).
    counts: collections.Counter[str] = collections.Counter()
    areas: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    practice_icb: dict[str, str] = {}
    for r in csv.reader(_open(shared / "ods/epraccur_2026-02.csv.gz")):
        if r[25] == "RO76" and r[12] == "ACTIVE" and r[3]:
            counts[r[3]] += 1
            practice_icb[r[0]] = r[3]
            m = re.match(r"[A-Z]+", r[9])
            if m:
                areas[r[3]][m.group(0)] += 1
    sizes: dict[str, list[float]] = collections.defaultdict(list)
    old: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)
    for r in csv.DictReader(_open(shared / "list_sizes/practice_demographics_2025.csv.gz")):
        icb = practice_icb.get(r["practice_code"])
        if not icb or r["list_size"] in ("", "NA"):
            continue
        size = float(r["list_size"])
        sizes[icb].append(size)
        if r["pct_over_65"] not in ("", "NA"):
            old[icb].append((size, float(r["pct_over_65"])))
    national_old = sum(s * p for v in old.values() for s, p in v) / sum(s for v in old.values() for s, _ in v)
    rows = []
    for r in sorted(icb_rows, key=lambda r: r["icb_code"]):
        ons, name = icb_ons[r["icb_name"].upper()]
        o = old[r["icb_code"]]
        older = sum(s * p for s, p in o) / sum(s for s, _ in o) / national_old
        top = [a for a, _ in areas[r["icb_code"]].most_common(3)]
        rows.append([r["icb_code"], ons, name, region_by_name[r["icb_region"]], counts[r["icb_code"]],
                     round(statistics.median(sizes[r["icb_code"]])), f"{older:.3f}", ";".join(top)])
    _write("icbs.csv", ["icb_code", "ons_code", "name", "region_code", "practices", "median_list_size",
                        "older_index", "postcode_areas"], rows,
           "The 42 Integrated Care Boards (July 2022 - March 2026) with their real ODS and ONS codes.\n"
           "icb_code, region: NHSBSA EPD ICB lookup 2025 (data/ods/icb_to_region_lookup_2025.csv);\n"
           "ons_code, name: ONS sub-ICB to ICB lookup via the IoD2025 sub-ICB file (2023 boundaries);\n"
           "practices, postcode_areas: active GP practices (RO76) per ICB in ODS epraccur, Feb 2026;\n"
           "median_list_size: OHID Fingertips practice profiles (~2025) joined to epraccur;\n"
           "older_index: list-weighted mean of that file's pct_over_65 column, over the England mean\n"
           "(used only as a relative tilt of the age structure). All OGL v3.0.")
    icb_by_ons = {ons: q for q, ons in ((row[0], row[1]) for row in rows)}
    srows = []
    for code, r in sorted(subs.items()):
        srows.append([code, r["sicbl_code"], r["sicbl_name"], icb_by_ons[r["icb_code"]], round(pop[code])])
    _write("sub_icbs.csv", ["sub_icb_code", "ons_code", "name", "icb_code", "population"], srows,
           "The 106 sub-ICB locations (July 2022 to 2025 boundaries): ODS 3-character code, ONS code,\n"
           "name and parent ICB. Source: IoD2025 sub-ICB file (SIRSAZOFDUCK/IMD2025_subICB_scores),\n"
           "built from ONS lookups and ONS mid-2022 population estimates (population column). OGL v3.0.")


def _num(s: str) -> float | None:
    """QOF files use European formatting: '.' thousands, ',' decimal; 'z' or blank for missing."""
    s = s.strip()
    if not s or s in ("z", "NA", "x") or not re.match(r"^-?[0-9.,]+$", s):
        return None
    return float(s.replace(".", "").replace(",", "."))


QOF = [
    # group, list type, file, numerator columns (1718, 1819), denominator columns (1718, 1819), min age
    ("AF", "TOTAL", "CardioVascular", "AF_N_1718", "AF_N_1819", "allAges_1718", "allAges_1819", 0),
    ("CHD", "TOTAL", "CardioVascular", "CHD_N_1718", "CHD_N_1819", "allAges_1718", "allAges_1819", 0),
    ("HF", "TOTAL", "CardioVascular", "HF_N_1718", "HF_N_1819", "allAges_1718", "allAges_1819", 0),
    ("HYP", "TOTAL", "CardioVascular", "HYP_N_1718", "HYP_N_1819", "allAges_1718", "allAges_1819", 0),
    ("PAD", "TOTAL", "CardioVascular", "PAD_N_1718", "PAD_N_1819", "allAges_1718", "allAges_1819", 0),
    ("STIA", "TOTAL", "CardioVascular", "STIA_N_1718", "STIA_N_1819", "allAges_1718", "allAges_1819", 0),
    ("CAN", "TOTAL", "dependency", "CAN_N_1718", "CAN_N_1819", "allAges_1718", "allAges_1819", 0),
    ("CKD", "18OV", "dependency", "CKD18p_N_1718", "CKD18p_N_1819", "ages18plus_1718", "ages18plus_1819", 18),
    ("DM", "17OV", "dependency", "DM17p_N_1718", "DM17p_N_1819", "ages17plus_1718", "ages17plus_1819", 17),
    ("PC", "TOTAL", "dependency", "PC_N_1718", "PC_N_1819", "allAges_1718", "allAges_1819", 0),
    ("DEM", "TOTAL", "mental", "DEM_N_1718", "DEM_N_1819", "allAges_1718", "allAges_1819", 0),
    ("DEP", "18OV", "mental", "DEP_N_1718", "DEP_N_1819", "ages18plus_1718", "ages18plus_1819", 18),
    ("EP", "18OV", "mental", "EP18p_N_1718", "EP18p_N_1819", "ages18plus_1718", "ages18plus_1819", 18),
    ("LD", "TOTAL", "mental", "LD_N_1718", "LD_N_1819", "allAges_1718", "allAges_1819", 0),
    ("MH", "TOTAL", "mental", "MH_N_1718", "MH_N_1819", "allAges_1718", "allAges_1819", 0),
    ("OST", "50OV", "muscul", "OST_N_1718", "OST50_N_1819", "age50p_1718", "age50p_1819", 50),
    ("RA", "16OV", "muscul", "RA16_N_1718", "RA16_N_1819", "age16p_1718", "age16p_1819", 16),
    ("AST", "TOTAL", "respiratory", "AST_N_1718", "AST_N_1819", "allAges_1718", "allAges_1819", 0),
    ("COPD", "TOTAL", "respiratory", "COPD_N_1718", "COPD_N_1819", "allAges_1718", "allAges_1819", 0),
]


def qof(shared: Path) -> None:
    # Share of patients aged 65+ by practice, for the gradient of prevalence with age (2016 list sizes,
    # the newest practice-level age breakdown among the shared files).
    over65: dict[str, float] = {}
    for r in csv.DictReader(_open(shared / "list_sizes/Patient_List_Size_2016_01-03_age_sex.csv.gz")):
        vals = {k: float(v) for k, v in r.items() if k and (k.startswith("Male") or k.startswith("Female"))}
        total = sum(vals.values())
        if total > 1000:
            old = sum(v for k, v in vals.items() if k.endswith("65-74") or k.endswith("75+"))
            over65[r["Practice Code"]] = 100 * old / total
    frames: dict[str, list[dict[str, str]]] = {}
    rows = []
    for group, list_type, file, n17, n18, d17, d18, min_age in QOF:
        if file not in frames:
            path = shared / f"qof/qofGP_1819_{file}.csv.gz"
            frames[file] = list(csv.DictReader(_open(path), delimiter=";"))
        sums = [0.0, 0.0, 0.0, 0.0]
        xs, ys = [], []
        for r in frames[file]:
            v = [_num(r.get(c, "")) for c in (n17, n18, d17, d18)]
            if v[1] is None or not v[3]:
                continue
            sums[1] += v[1]
            sums[3] += v[3]
            if v[0] is not None and v[2]:
                sums[0] += v[0]
                sums[2] += v[2]
            if r["practiceCode"] in over65 and v[1] > 0 and v[3] > 1000:
                xs.append(over65[r["practiceCode"]])
                ys.append(math.log(v[1] / v[3]))
        p18 = sums[1] / sums[3]
        p17 = f"{sums[0] / sums[2]:.5f}" if sums[2] else ""
        # Least-squares slope of log prevalence on the percentage of patients aged 65+.
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
        resid = statistics.pstdev([y - my - slope * (x - mx) for x, y in zip(xs, ys)])
        rows.append([group, list_type, min_age, f"{p18:.5f}", p17, f"{slope:.4f}", f"{resid:.3f}", len(xs)])
    _write("qof_prevalence.csv",
           ["group_code", "list_type", "min_age", "prevalence_1819", "prevalence_1718", "log_slope_per_pct_65plus",
            "residual_sd", "practices"], rows,
           "England QOF register prevalence, 2017-18 and 2018-19: sum of practice registers over sum of the\n"
           "list sizes of the register's list type. Source: NHS Digital QOF 2018-19 practice files as\n"
           "reshaped in muschitiello/PrescRiptionsData (OGL v3.0). log_slope_per_pct_65plus and residual_sd:\n"
           "least-squares fit of log(practice prevalence 2018-19) on the practice's percentage of patients\n"
           "aged 65+ (NHSBSA list sizes Jan-Mar 2016), practices with more than 1,000 patients.")


# Splits of the NHSBSA list-size bands into 5-year bands. The 10-year bands are split evenly;
# 75+ by ONS mid-2016 England population shares of 75-79, 80-84, 85-89, 90-94 and 95+ (rounded).
SPLIT = {
    "0-4": [("0_4", 1.0)],
    "5-14": [("5_9", 0.5), ("10_14", 0.5)],
    "15-24": [("15_19", 0.47), ("20_24", 0.53)],
    "25-34": [("25_29", 0.5), ("30_34", 0.5)],
    "35-44": [("35_39", 0.5), ("40_44", 0.5)],
    "45-54": [("45_49", 0.5), ("50_54", 0.5)],
    "55-64": [("55_59", 0.53), ("60_64", 0.47)],
    "65-74": [("65_69", 0.52), ("70_74", 0.48)],
    "75+": [("75_79", 0.43), ("80_84", 0.29), ("85_89", 0.17), ("90_94", 0.08), ("95+", 0.03)],
}


def age_structure(shared: Path) -> None:
    totals: collections.Counter[tuple[str, str]] = collections.Counter()
    for r in csv.DictReader(_open(shared / "list_sizes/Patient_List_Size_2016_01-03_age_sex.csv.gz")):
        for k, v in r.items():
            if k and (k.startswith("Male ") or k.startswith("Female ")):
                sex, band = k.split(" ", 1)
                totals[(sex.upper(), band)] += float(v or 0)
    grand = sum(totals.values())
    rows = []
    for sex in ("FEMALE", "MALE"):
        for band, parts in SPLIT.items():
            for quin, share in parts:
                rows.append([sex, quin, f"{totals[(sex, band)] * share / grand:.6f}"])
    _write("age_structure.csv", ["sex", "age_group_5", "share"], rows,
           "Share of patients registered at English GP practices by sex and 5-year age band.\n"
           "Source: NHSBSA prescribing list sizes, Jan-Mar 2016, summed over all practices (OGL v3.0), in\n"
           "bands 0-4, 5-14, ..., 65-74, 75+; split into 5-year bands evenly within 10-year bands (15-24,\n"
           "55-64 and 65-74 slightly unevenly) and 75+ by approximate ONS mid-2016 England shares.")


def background(shared: Path) -> None:
    """BNF presentations prescribed by the 4 practices of the OpenPrescribing EPD test extract."""
    chapter: dict[str, tuple[str, str]] = {}
    chemical: dict[str, str] = {}
    for r in csv.DictReader(_open(shared / "bnf_dmd/BNF_Code_Information_2020-02.csv.gz")):
        chapter[r["BNF Chapter Code"]] = r["BNF Chapter"]
        chemical[r["BNF Chemical Substance Code"]] = r["BNF Chemical Substance"]
    items: collections.Counter[str] = collections.Counter()
    qty: dict[str, collections.Counter[float]] = collections.defaultdict(collections.Counter)
    price: dict[str, list[float]] = collections.defaultdict(list)
    adq: dict[str, list[float]] = collections.defaultdict(list)
    desc: dict[str, str] = {}
    total = 0
    for month in ("201709", "201710"):
        path = shared / f"epd/openprescribing_e2e_EPD_{month}_4practices.csv.gz"
        for r in csv.DictReader(_open(path)):
            code = r["BNF_CODE"]
            n = int(r["ITEMS"])
            total += n
            items[code] += n
            qty[code][float(r["QUANTITY"])] += n
            desc[code] = r["BNF_DESCRIPTION"]
            tq = float(r["TOTAL_QUANTITY"])
            if tq > 0:
                price[code].append(float(r["NIC"]) / tq)
                if r["ADQUSAGE"]:
                    adq[code].append(float(r["ADQUSAGE"]) / tq)
    rows = []
    for code, n in sorted(items.items(), key=lambda kv: (-kv[1], kv[0])):
        if code[:2] not in chapter or not code[:2].isdigit():
            continue
        top = qty[code].most_common(4)
        s = sum(c for _, c in top)
        q = "|".join(f"{v:g}:{c / s:.2f}" for v, c in top)
        rows.append([code, desc[code], code[:9], chemical.get(code[:9], desc[code].split("_")[0]),
                     f"{code[:2]}: {chapter[code[:2]]}", f"{n / total:.3e}", q,
                     f"{statistics.median(price[code]):.4g}" if price[code] else "0",
                     f"{statistics.median(adq[code]):.4g}" if adq[code] else "0"])
    _write("background_bnf.csv",
           ["bnf_code", "bnf_description", "bnf_chemical", "chemical_name", "chapter", "item_share", "quantities",
            "nic_per_unit", "adq_per_unit"], rows,
           "BNF presentations prescribed in English general practice, for the generator's background\n"
           "prescribing. Codes, descriptions, pack quantities (top 4 with their share of items), net\n"
           "ingredient cost per unit and ADQ per unit: the OpenPrescribing end-to-end EPD extract for 4\n"
           "practices, Sep-Oct 2017 (NHSBSA, OGL v3.0); item_share: the code's share of all items there.\n"
           "Chemical and chapter names: NHSBSA BNF Code Information, Feb 2020 (OGL v3.0).")


def main(argv: list[str]) -> None:
    shared = Path(argv[1] if len(argv) > 1 else "/work/shared/data")
    organisations(shared)
    qof(shared)
    age_structure(shared)
    background(shared)


if __name__ == "__main__":
    main(sys.argv)
