"""The canonical datasets: one Arrow schema each, whatever file format they came from.

Every reader in `uptake.sources` returns a table in exactly one of these schemas; the
warehouse stores each dataset as Parquet partitioned by `partition` (a month for the
monthly publications, a year or a source for reference data).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa


@dataclass(frozen=True)
class Dataset:
    name: str
    schema: pa.Schema
    partition: str  # column whose value names the partition ("month" → YYYY-MM)
    key: tuple[str, ...]  # columns that identify a row; a repeat is a duplicate
    description: str

    @property
    def monthly(self) -> bool:
        return self.partition == "month"


def _schema(*fields: tuple[str, pa.DataType, bool]) -> pa.Schema:
    return pa.schema([pa.field(name, typ, nullable=nullable) for name, typ, nullable in fields])


S, F, I, D = pa.string(), pa.float64(), pa.int64(), pa.date32()  # noqa: E741 (I for int64)

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in [
        Dataset(
            "prescribing",
            _schema(
                ("month", D, False),
                ("practice", S, False),
                ("bnf_code", S, False),
                ("items", I, False),
                ("quantity", F, False),
                ("total_quantity", F, False),
                ("nic", F, True),
                ("actual_cost", F, True),
            ),
            "month",
            ("month", "practice", "bnf_code", "quantity"),
            "Primary-care prescribing dispensed in the community, one row per practice, "
            "BNF presentation and pack quantity (English Prescribing Dataset).",
        ),
        Dataset(
            "prescribing_org",
            _schema(
                ("month", D, False),
                ("org_type", S, False),
                ("org_code", S, False),
                ("bnf_code", S, False),
                ("items", I, True),
                ("quantity", F, True),
                ("actual_cost", F, True),
                ("nic", F, True),
                ("list_size", I, True),
            ),
            "month",
            ("month", "org_type", "org_code", "bnf_code"),
            "Prescribing aggregated to an organisation (practice, sub-ICB, ICB...) per month "
            "and BNF code, as exported by OpenPrescribing's API and ePACT2.",
        ),
        Dataset(
            "scmd",
            _schema(
                ("month", D, False),
                ("trust", S, False),
                ("vmp_code", S, False),
                ("vmp_name", S, True),
                ("unit", S, True),
                ("total_quantity", F, False),
                ("indicative_cost", F, True),
            ),
            "month",
            ("month", "trust", "vmp_code", "unit"),
            "Secondary Care Medicines Data: hospital pharmacy issues by trust and dm+d VMP.",
        ),
        Dataset(
            "organisations",
            _schema(
                ("code", S, False),
                ("type", S, False),
                ("name", S, True),
                ("postcode", S, True),
                ("opened", D, True),
                ("closed", D, True),
                ("status", S, True),
                ("setting", S, True),
                ("source", S, False),
            ),
            "source",
            ("code", "type"),
            "NHS organisations (practices, PCNs, sub-ICB locations, ICBs, regions, trusts) "
            "with open and close dates.",
        ),
        Dataset(
            "org_relations",
            _schema(
                ("child", S, False),
                ("child_type", S, False),
                ("parent", S, False),
                ("parent_type", S, False),
                ("valid_from", D, True),
                ("valid_to", D, True),
                ("source", S, False),
            ),
            "source",
            ("child", "child_type", "parent_type", "valid_from"),
            "Dated membership of one organisation in another (practice → PCN → sub-ICB → "
            "ICB → region; trust → ICB).",
        ),
        Dataset(
            "org_successions",
            _schema(
                ("old", S, False),
                ("new", S, False),
                ("effective", D, False),
                ("source", S, False),
            ),
            "source",
            ("old", "new"),
            "Organisations succeeded by others (mergers, re-codings): the old ODS code, the "
            "code that took it over, and the date it took effect (ODS succ).",
        ),
        Dataset(
            "list_sizes",
            _schema(
                ("month", D, False),
                ("practice", S, False),
                ("sex", S, False),
                ("age_band", S, False),
                ("patients", I, False),
            ),
            "month",
            ("month", "practice", "sex", "age_band"),
            "Registered patients by practice, sex and age band ('all' for totals).",
        ),
        Dataset(
            "qof_registers",
            _schema(
                ("year", S, False),
                ("practice", S, False),
                ("register", S, False),
                ("patients", I, False),
                ("list_size", I, True),
                ("list_type", S, True),
            ),
            "year",
            ("year", "practice", "register"),
            "QOF disease registers by practice and financial year, with the list size they "
            "are a prevalence of.",
        ),
        Dataset(
            "nice_ta_list",
            _schema(
                ("ta", S, False),
                ("title", S, False),
                ("published", D, True),
                ("modified", D, True),
                ("url", S, True),
                ("status", S, True),
                ("replaced_by", S, True),
                ("source", S, False),
            ),
            "source",
            ("ta", "source"),
            "NICE technology appraisals as published in NICE's lists.",
        ),
        Dataset(
            "bnf_codes",
            _schema(
                ("presentation_code", S, False),
                ("presentation", S, True),
                ("product_code", S, True),
                ("product", S, True),
                ("chemical_code", S, True),
                ("chemical", S, True),
                ("paragraph_code", S, True),
                ("paragraph", S, True),
                ("section_code", S, True),
                ("section", S, True),
                ("chapter_code", S, True),
                ("chapter", S, True),
                ("source", S, False),
            ),
            "source",
            ("presentation_code",),
            "The BNF hierarchy for every presentation code (NHSBSA BNF Code Information).",
        ),
        Dataset(
            "bnf_code_changes",
            _schema(("old_code", S, False), ("new_code", S, False), ("source", S, False)),
            "source",
            ("old_code",),
            "Retired BNF presentation codes and the codes that replaced them.",
        ),
        Dataset(
            "dmd_ddd",
            _schema(
                ("vmp_code", S, False),
                ("bnf_code", S, True),
                ("atc_code", S, True),
                ("ddd", F, True),
                ("ddd_unit", S, True),
                ("source", S, False),
            ),
            "source",
            ("vmp_code",),
            "dm+d VMP → BNF code → ATC code → WHO defined daily dose.",
        ),
        # --- the public view: postcodes and clinical trials (sources/nspl.py, sources/trials.py) ---
        Dataset(
            "postcodes",
            _schema(
                ("postcode", S, False),
                ("area", S, False),
                ("lat", F, True),
                ("lon", F, True),
                ("terminated", D, True),
                ("ccg", S, True),
                ("icb", S, True),
                ("region", S, True),
                ("local_authority", S, True),
                ("lsoa11", S, True),
                ("source", S, False),
            ),
            "area",
            ("postcode",),
            "Postcodes with their coordinates and areas (ONS National Statistics Postcode Lookup), "
            "one partition per postcode area.",
        ),
        Dataset(
            "trials",
            _schema(
                ("source", S, False),
                ("registry", S, False),
                ("trial_id", S, False),
                ("title", S, False),
                ("phase", S, True),
                ("status", S, True),
                ("sponsor", S, True),
                ("conditions", pa.list_(S), True),
                ("keywords", pa.list_(S), True),
                ("start", D, True),
                ("end", D, True),
                ("summary", S, True),
                ("url", S, False),
                ("uk", pa.bool_(), False),
                ("fetched", S, True),
            ),
            "source",
            ("source", "trial_id"),
            "Clinical trials from the registries (ClinicalTrials.gov, ISRCTN), one partition per file.",
        ),
        Dataset(
            "trial_sites",
            _schema(
                ("source", S, False),
                ("registry", S, False),
                ("trial_id", S, False),
                ("facility", S, True),
                ("city", S, True),
                ("postcode", S, True),
                ("country", S, True),
                ("status", S, True),
                ("lat", F, True),
                ("lon", F, True),
            ),
            "source",
            ("source", "trial_id", "facility", "postcode"),
            "The sites of each clinical trial, with coordinates where the registry gives them.",
        ),
    ]
}


def dataset(name: str) -> Dataset:
    return DATASETS[name]
