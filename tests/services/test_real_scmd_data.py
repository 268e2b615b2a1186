"""Hospital issues on real data: NHSBSA's SCMD for sarilumab by trust and VMP (shared/data/scmd,
2019–2020), loaded through the SCMD reader with the real ODS trust file (etr), counted by the
engine at trust, ICB and England level and checked against an independent pandas computation.

The catalogue here is a test fixture, not a catalogue entry: one TA-shaped item whose product is
sarilumab's four VMPs at one pen or syringe every two weeks (the licensed dose, 200 mg every two
weeks; sarilumab's NICE appraisal is not in the catalogue)."""

from __future__ import annotations

import calendar
import shutil
from datetime import date

import pandas as pd
import pytest
import yaml

from uptake.catalogue import load_catalogue
from uptake.catalogue.loader import DATA_DIR
from uptake.engine import scorecard as sc
from uptake.engine.backends import connect
from uptake.engine.prepare import prepare
from uptake.warehouse import Warehouse

from truth import truth, truth_all

SCMD = "scmd/scmd_tocilizumab_sarilumab_remdesivir_trust_monthly_2019_2020.csv.gz"
TRUSTS = "ods/nhs_trusts_etr_tidy.csv"
REGIONS = "ods/icb_to_region_lookup_2025.csv"
MONTH = date(2020, 3, 1)
UNITS_PER_DAY = 1 / 14  # one pre-filled pen or syringe every two weeks


@pytest.fixture(scope="module")
def real(shared_data, tmp_path_factory):
    raw = pd.read_csv(shared_data / SCMD, dtype={"vmp_snomed_code": str, "ods_code": str})
    vmps = sorted(raw[raw.vmp_product_name.str.startswith("Sarilumab")].vmp_snomed_code.unique())
    assert len(vmps) == 4  # 150 mg and 200 mg, pens and syringes
    # a catalogue of one TA-shaped fixture, built from a real entry's shape
    folder = tmp_path_factory.mktemp("catalogue")
    shutil.copy(DATA_DIR / "areas.yaml", folder / "areas.yaml")
    (folder / "technology_appraisals").mkdir()
    entry = yaml.safe_load((DATA_DIR / "technology_appraisals" / "TA495.yaml").read_text())
    product = entry["products"][0]
    product.update(name="sarilumab", bnf_chemical=None, atc=None, presentations=[], dmd_vmps=vmps,
                   setting="secondary", vmp_units_per_day=UNITS_PER_DAY,
                   notes="Test fixture: 200 mg every two weeks (licensed dose).")
    entry["products"] = [product]
    (folder / "technology_appraisals" / "TA495.yaml").write_text(yaml.safe_dump(entry))
    cat = load_catalogue(folder)
    wh = Warehouse(tmp_path_factory.mktemp("real-scmd") / "warehouse")
    for name in (SCMD, TRUSTS, REGIONS):
        wh.load(shared_data / name)
    with connect(wh) as eng:
        inp = prepare(eng, ["scmd", "org_relations"], cat, (), [MONTH])
        rows = eng.execute(sc.with_metrics(sc.level_facts(sc.base_facts(inp), inp, ("trust", "icb", "region")),
                                           inp)).to_pandas()
    trusts = pd.read_csv(shared_data / TRUSTS, dtype=str)
    month = raw[(raw.year_month == f"{MONTH}") & raw.vmp_snomed_code.isin(vmps)]
    yield rows, month, trusts


def test_each_trust_issues_what_scmd_says(real):
    rows, month, _ = real
    want = month.groupby("ods_code").total_quantity.sum().sort_index()
    got = rows[rows.level == "trust"].set_index("org").sort_index()
    assert len(want) > 20 and list(got.index) == list(want.index)
    truth_all(SCMD, "sarilumab units issued by trust, 2020-03", ours=got.secondary_quantity, independent=want,
              rel=1e-12)
    days = calendar.monthrange(MONTH.year, MONTH.month)[1]
    truth_all(SCMD, "sarilumab patients by trust, 2020-03", ours=got.secondary_patients,
              independent=want / UNITS_PER_DAY / days, rel=1e-12)
    assert got.value.isna().all() and got.registered.isna().all()  # no population for a trust


def test_trusts_count_towards_their_icb_as_ods_says_and_every_trust_towards_england(real):
    rows, month, trusts = real
    english = trusts[trusts.region_code.str.match(r"^Y5[6-9]$|^Y6[0-3]$")]
    icb_of = english.set_index("ods_code").stp_code
    mapped = month.assign(icb=month.ods_code.map(icb_of)).dropna(subset=["icb"])
    want = (mapped.groupby("icb").total_quantity.sum() / UNITS_PER_DAY).sort_index()
    icb = rows[rows.level == "icb"].set_index("org")
    got = icb.secondary_treatment_days.reindex(want.index)
    assert len(want) >= 20
    truth_all(SCMD, "sarilumab treatment-days by ICB (trusts via ODS etr), 2020-03", ours=got, independent=want,
              rel=1e-12)
    assert (icb.drop(want.index).secondary_treatment_days.fillna(0) == 0).all()
    eng = rows[rows.level == "england"].iloc[0]
    truth(SCMD, "England sarilumab units issued, 2020-03", ours=eng.secondary_quantity,
          independent=month.total_quantity.sum(), rel=1e-12)
    # Trusts that merged before the 2026 ODS file (Central Manchester, Heart of England, Burton, Mid
    # Essex) are not in it: their issues count for England but for no ICB or region. The ODS
    # successions file would map them to their successors; it is not loaded (docs/metrics.md §1.1).
    gone = sorted(set(month.ods_code) - set(icb_of.index))
    assert gone == ["RJF", "RQ8", "RR1", "RW3"]
    lost = month[month.ods_code.isin(gone)].total_quantity.sum()
    regions = rows[rows.level == "region"]  # the ICBs' regions, from the 2025 lookup
    assert len(regions) == 7 and regions.secondary_quantity.sum() == pytest.approx(eng.secondary_quantity - lost, rel=1e-12)
    assert lost / eng.secondary_quantity == pytest.approx(0.156, abs=0.001)  # 132 of 846 pens and syringes
