"""The small reviewed data files the generator starts from (see data/README.md)."""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

DATA = Path(__file__).resolve().parent / "data"

SEXES = ("FEMALE", "MALE")
AGE_BANDS = (
    "0_4", "5_9", "10_14", "15_19", "20_24", "25_29", "30_34", "35_39", "40_44", "45_49",
    "50_54", "55_59", "60_64", "65_69", "70_74", "75_79", "80_84", "85_89", "90_94", "95+",
)
BAND_LOW = np.arange(0, 100, 5, dtype=np.float64)  # lower age of each band
BAND_HIGH = np.append(BAND_LOW[1:], 105.0)  # exclusive upper age (95+ taken as 95-104)


def _rows(name: str) -> list[dict[str, str]]:
    with open(DATA / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


@dataclass(frozen=True)
class Region:
    code: str
    ons_code: str
    name: str


@dataclass(frozen=True)
class Icb:
    code: str
    ons_code: str
    name: str
    region: str
    practices: int  # active GP practices, ODS Feb 2026
    median_list_size: int
    older_index: float
    postcode_areas: tuple[str, ...]

    @property
    def place(self) -> str:
        """The ICB's area name: 'NHS Devon Integrated Care Board' → 'Devon'."""
        return self.name.removeprefix("NHS ").removesuffix(" Integrated Care Board")


@dataclass(frozen=True)
class SubIcb:
    code: str
    ons_code: str
    name: str
    icb: str
    population: int


@dataclass(frozen=True)
class Register:
    group: str
    list_type: str
    min_age: int
    prevalence: float  # England 2018-19
    annual_change: float  # relative change per year, 2017-18 to 2018-19, capped
    log_slope: float  # log prevalence per percentage point of patients aged 65+
    sd: float  # practice-level variation (log scale), capped


@dataclass(frozen=True)
class Background:
    codes: np.ndarray  # BNF presentation codes (str), most-prescribed first
    descriptions: np.ndarray
    chemicals: np.ndarray
    chemical_names: np.ndarray
    chapters: np.ndarray
    item_share: np.ndarray  # share of all items
    quantities: list[tuple[tuple[float, float], ...]]  # (pack quantity, share of items)
    nic_per_unit: np.ndarray
    adq_per_unit: np.ndarray


@dataclass(frozen=True)
class Reference:
    regions: tuple[Region, ...]
    icbs: tuple[Icb, ...]
    sub_icbs: tuple[SubIcb, ...]
    registers: tuple[Register, ...]
    age_share: np.ndarray  # [2 sexes, 20 bands], sums to 1
    background: Background
    assumptions: dict


@functools.lru_cache(maxsize=1)
def load() -> Reference:
    regions = tuple(Region(r["region_code"], r["ons_code"], r["name"]) for r in _rows("regions.csv"))
    icbs = tuple(
        Icb(r["icb_code"], r["ons_code"], r["name"], r["region_code"], int(r["practices"]),
            int(r["median_list_size"]), float(r["older_index"]), tuple(r["postcode_areas"].split(";")))
        for r in _rows("icbs.csv")
    )
    subs = tuple(
        SubIcb(r["sub_icb_code"], r["ons_code"], r["name"], r["icb_code"], int(r["population"]))
        for r in _rows("sub_icbs.csv")
    )
    with open(DATA / "assumptions.yaml", encoding="utf-8") as f:
        assumptions = yaml.safe_load(f)
    qa = assumptions["registers"]
    registers = []
    for r in _rows("qof_prevalence.csv"):
        p18 = float(r["prevalence_1819"])
        change = (p18 / float(r["prevalence_1718"]) - 1.0) if r["prevalence_1718"] else 0.0
        change = float(np.clip(change, -qa["max_annual_change"], qa["max_annual_change"]))
        registers.append(Register(r["group_code"], r["list_type"], int(r["min_age"]), p18, change,
                                  float(r["log_slope_per_pct_65plus"]), min(float(r["residual_sd"]), qa["max_sd"])))
    age = np.zeros((2, len(AGE_BANDS)))
    for r in _rows("age_structure.csv"):
        age[SEXES.index(r["sex"]), AGE_BANDS.index(r["age_group_5"])] = float(r["share"])
    age /= age.sum()
    bg = _rows("background_bnf.csv")
    quantities = []
    for r in bg:
        pairs = [p.split(":") for p in r["quantities"].split("|")]
        total = sum(float(s) for _, s in pairs) or 1.0
        quantities.append(tuple((float(q), float(s) / total) for q, s in pairs if float(s) > 0))
    background = Background(
        codes=np.array([r["bnf_code"] for r in bg]),
        descriptions=np.array([r["bnf_description"] for r in bg]),
        chemicals=np.array([r["bnf_chemical"] for r in bg]),
        chemical_names=np.array([r["chemical_name"] for r in bg]),
        chapters=np.array([r["chapter"] for r in bg]),
        item_share=np.array([float(r["item_share"]) for r in bg]),
        quantities=quantities,
        nic_per_unit=np.array([float(r["nic_per_unit"]) for r in bg]),
        adq_per_unit=np.array([float(r["adq_per_unit"]) for r in bg]),
    )
    return Reference(regions, icbs, subs, tuple(registers), age, background, assumptions)
