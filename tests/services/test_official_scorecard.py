"""The official Innovation Scorecard figure (daily doses per 100,000 population per financial
quarter): the quarter convention and the rate worked by hand; the ISC reader's checks; the
published Oct 2022 breast-cancer files (shared/data/innovation_scorecard, real NHS Digital data
wrangled by NICE) recomputed and checked against an independent pandas computation, with the
differences between the STP and national numerators measured, not hidden; and the figure for a
catalogue TA from the tiny synthetic warehouse."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from uptake.catalogue import load_catalogue
from uptake.errors import InputError, UptakeError
from uptake.services.analysis import open_analysis
from uptake.services.official import Doses, check_published, england_rates, official_figure, quarterly_rates
from uptake.sources.isc import quarter_end, quarter_months, quarter_of, read_isc

from truth import truth, truth_all

STP = "innovation_scorecard/isc_oct22_breast_cancer_meds_stp_quarterly.csv"
NAT = "innovation_scorecard/isc_oct22_breast_cancer_meds_national_quarterly.csv"
ENGLAND_POPULATION = 56_550_138  # the national file's denominator, in every row


# --- the quarter convention and the rate, by hand ---------------------------------------------------


def test_financial_quarters_as_the_isc_labels_them():
    assert quarter_of(date(2022, 4, 1)) == quarter_of(date(2022, 6, 30)) == "2022/23 Q1"
    assert quarter_of(date(2022, 12, 31)) == "2022/23 Q3"
    assert quarter_of(date(2023, 1, 1)) == quarter_of(date(2023, 3, 31)) == "2022/23 Q4"
    assert quarter_of(date(2000, 2, 1)) == "1999/00 Q4"
    assert quarter_months("2022/23 Q4") == [date(2023, 1, 1), date(2023, 2, 1), date(2023, 3, 1)]
    assert quarter_months("2020/21 Q2") == [date(2020, 7, 1), date(2020, 8, 1), date(2020, 9, 1)]
    assert quarter_end("2021/22 Q4") == date(2022, 3, 31) and quarter_end("2020/21 Q2") == date(2020, 9, 30)
    with pytest.raises(ValueError):
        quarter_months("2022/24 Q1")


def test_rates_and_england_by_hand():
    records = [Doses("x", "A", "2022/23 Q1", 300.0, 200_000.0, "Secondary Care"),
               Doses("x", "A", "2022/23 Q1", 50.0, 200_000.0, "Primary Care"),
               Doses("x", "B", "2022/23 Q1", 90.0, 300_000.0, "Secondary Care"),
               Doses("x", "C", "2022/23 Q1", 10.0, None, "Secondary Care")]
    by = {(r.org, r.setting): r.rate for r in quarterly_rates(records)}
    assert by[("A", "Secondary Care")] == pytest.approx(150.0)  # 300 ÷ 200,000 × 100,000
    assert by[("A", "Primary Care")] == pytest.approx(25.0) and by[("B", "Secondary Care")] == pytest.approx(30.0)
    assert by[("C", "Secondary Care")] is None  # no population, no rate
    combined = {r.org: r for r in quarterly_rates(records, combine_settings=True)}
    assert combined["A"].rate == pytest.approx(175.0) and combined["A"].records == 2
    (eng,) = england_rates(records[:3], 1_000_000.0, combine_settings=True)
    assert (eng.org, eng.doses, eng.rate) == ("ENG", 440.0, pytest.approx(44.0))
    # without England's population, the organisations' populations (each counted once)
    (eng,) = england_rates(records[:3], combine_settings=True)
    assert eng.population == 500_000.0 and eng.rate == pytest.approx(88.0)
    with pytest.raises(UptakeError, match="different populations"):
        quarterly_rates([records[0], Doses("x", "A", "2022/23 Q1", 1.0, 1.0, "Secondary Care")])


# --- the reader -------------------------------------------------------------------------------------------

HEADER = ("date,data_source,treatment_name,stp_ods_cd,stp_name,numerator,numerator_unit,denominator,"
          "denominator_unit\n")
GOOD = "2022-06-30,Secondary Care,palbociclib,QE1,Lancashire,3108,DDD,1701655,Population\n"


@pytest.mark.parametrize("line, where, message", [
    ("2022-06-15,Secondary Care,palbociclib,QE1,L,3108,DDD,1701655,Population\n", ":3: column date:",
     "not the last day of a quarter"),
    ("2022-06-30,Secondary Care,palbociclib,QE1,L,lots,DDD,1701655,Population\n", ":3: column numerator:",
     "'lots' is not a number"),
    ("2022-06-30,Secondary Care,palbociclib,QE1,L,3108,DDD,0,Population\n", ":3: column denominator:",
     "a population above zero"),
    ("2022-06-30,Secondary Care,palbociclib,QE1,L,3108,DDD,1701655,Patients\n", ":3: column denominator_unit:",
     "expected Population"),
    ("2022-06-30,Secondary Care,,QE1,L,3108,DDD,1701655,Population\n", ":3: column treatment_name:", "blank value"),
    ("2022-06-30,Secondary Care,palbociclib,QE1,L,3108,DDD\n", ":3:", "7 fields; expected 9"),
    ("2022-06-30,Secondary Care,Palbociclib,qe1,Lancs,1,DDD,1701655,Population\n", ":3:",
     "a second row for Palbociclib, Secondary Care, 2022/23 Q1, QE1 (the first is line 2)"),
])
def test_bad_rows_name_the_file_line_and_column(tmp_path, line, where, message):
    path = tmp_path / "isc.csv"
    path.write_text(HEADER + GOOD + line)
    with pytest.raises(InputError) as err:
        read_isc(path)
    assert f"{path}{where}" in str(err.value) and message in str(err.value)


def test_missing_columns_and_the_published_layout(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,treatment_name,numerator\n2022-06-30,x,1\n")
    with pytest.raises(InputError, match=r"bad.csv:1: missing columns data_source, numerator_unit, denominator, "
                                         r"denominator_unit"):
        read_isc(bad)
    # the layout NHS Digital publishes: year_quarter, provider_code, and the published rate `value`
    raw = tmp_path / "raw.csv"
    raw.write_text("year,quarter,year_quarter,data_source,provider_code,provider_name,treatment_name,numerator,"
                   "numerator_unit,denominator,denominator_unit,value,value_unit\n"
                   "2022_23,1,2022/23 Q1,Secondary Care,QE1,L,x,3108,DDD,1701655,Population,182.65,DDD per 100000\n"
                   "2022_23,1,2022/23 Q1,Secondary Care,QF7,S,x,1092,DDD,1533334,Population,80.00,DDD per 100000\n")
    f = read_isc(raw)
    assert (f.national, f.has_value, f.quarters, f.orgs) == (False, True, ["2022/23 Q1"], ["QE1", "QF7"])
    check = check_published([f], load_catalogue())
    # 3108 ÷ 17.01655 = 182.6457… (published 182.65: reproduced); 1092 ÷ 15.33334 = 71.2174… (80: not)
    assert (check.published_values, check.published_reproduced) == (2, 1)
    assert check.published_max_difference == pytest.approx(80 - 1092 / 15.33334, rel=1e-9)
    assert check.notes == ["x is not in our catalogue: no TA lists a product of that name."]


# --- the published Oct 2022 files -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def isc(shared_data):
    stp, nat = read_isc(shared_data / STP), read_isc(shared_data / NAT)
    raw_stp, raw_nat = pd.read_csv(shared_data / STP), pd.read_csv(shared_data / NAT)
    return stp, nat, raw_stp, raw_nat, check_published([stp, nat], load_catalogue())


def _label(d: str) -> str:
    y, m = int(d[:4]), int(d[5:7])
    start = y if m >= 4 else y - 1
    return f"{start}/{str(start + 1)[2:]} Q{ {6: 1, 9: 2, 12: 3, 3: 4}[m] }"


def test_the_files_are_read_whole(isc):
    stp, nat, raw_stp, raw_nat, _ = isc
    assert (len(stp.rows), len(nat.rows)) == (len(raw_stp), len(raw_nat)) == (1823, 127)
    assert not stp.national and nat.national and not stp.has_value and not nat.has_value
    assert len(stp.orgs) == 42 and nat.orgs == ["ENG"]
    assert stp.quarters == ["2020/21 Q2", "2020/21 Q3", "2020/21 Q4", "2021/22 Q1", "2021/22 Q2", "2021/22 Q3",
                            "2021/22 Q4", "2022/23 Q1"]
    assert nat.quarters[0] == "2017/18 Q2" and nat.quarters[-1] == "2022/23 Q1" and len(nat.quarters) == 20
    assert [r.quarter for r in stp.rows] == [_label(d) for d in raw_stp.date]
    assert min(r.numerator for r in stp.rows) == -27  # negative issues (returns) are real and kept


def test_every_stp_rate_equals_pandas(isc):
    _, _, raw, _, check = isc
    want = raw.assign(quarter=raw.date.map(_label), rate=raw.numerator / (raw.denominator / 100_000))
    want = want.set_index(["treatment_name", "data_source", "quarter", "stp_ods_cd"]).rate.sort_index()
    got = pd.Series({(r.subject, r.setting, r.quarter, r.org): r.rate for r in check.rates}).sort_index()
    assert len(got) == len(want) == 1823 and list(got.index) == list(want.index)
    truth_all(STP, "ISC daily doses per 100,000 by STP, medicine, setting and quarter", ours=got.to_numpy(),
              independent=want.to_numpy(), rel=1e-12)
    # e.g. Lancashire and South Cumbria, abemaciclib, 2020/21 Q2: 3,108 ADD ÷ 17.01655 = 182.65 per 100,000
    truth(STP, "QE1 abemaciclib secondary care 2020/21 Q2, per 100,000", ours=got[("abemaciclib", "Secondary Care",
          "2020/21 Q2", "QE1")], independent=3108 / 17.01655, against="hand: 3,108 ÷ 17.01655", rel=1e-12)


def test_england_rates_equal_pandas_and_the_stp_sums_agree(isc):
    _, _, raw_stp, raw_nat, check = isc
    nat = raw_nat.assign(quarter=raw_nat.date.map(_label))
    want = nat.set_index(["treatment_name", "data_source", "quarter"])
    want = (want.numerator / want.denominator * 100_000).sort_index()
    got = pd.Series({(r.subject, r.setting, r.quarter): r.rate for r in check.england}).sort_index()
    truth_all(NAT, "ISC England daily doses per 100,000 by medicine, setting and quarter", ours=got.to_numpy(),
              independent=want.to_numpy(), rel=1e-12)
    truth(NAT, "England palbociclib secondary care 2022/23 Q1, per 100,000", ours=got[("palbociclib",
          "Secondary Care", "2022/23 Q1")], independent=405616 / 565.50138, against="hand: 405,616 ÷ 565.50138",
          rel=1e-12)
    # England recomputed from the STPs (Σ STP doses ÷ England's population) against the national file:
    # secondary care within 0.1% everywhere (rounding), primary care 8 against 9 daily doses
    from_stps = {(r.subject, r.setting, r.quarter): r.rate for r in check.england_from_organisations}
    rel = {k: abs(v / got[k] - 1) for k, v in from_stps.items() if got[k]}
    assert max(v for k, v in rel.items() if k[1] == "Secondary Care") < 1e-3
    assert rel[("palbociclib", "Primary Care", "2021/22 Q3")] == pytest.approx(1 / 9)


def test_stp_numerators_add_up_to_the_national_ones_within_rounding(isc):
    _, _, raw_stp, raw_nat, check = isc
    stp = raw_stp.groupby(["treatment_name", "data_source", "date"]).numerator.agg(["sum", "size"])
    nat = raw_nat[raw_nat.date.isin(raw_stp.date.unique())].set_index(["treatment_name", "data_source", "date"])
    both = stp.join(nat.numerator, how="outer")
    assert both.notna().all().all()  # in the STP file's quarters, every national row has STP rows and vice versa
    diff = both["sum"] - both.numerator
    sums = {(s.medicine, s.data_source, s.quarter): s for s in check.sums}
    assert len(sums) == len(both) == 55
    for (med, src, d), row in both.iterrows():
        s = sums[(med, src, _label(d))]
        assert (s.organisation_sum, s.national, s.organisations) == (row["sum"], row.numerator, row["size"])
    # measured: 17 groups add up exactly, the other 38 differ by 1-5 daily doses, every one within what
    # NICE's rounding of each converted row to whole daily doses can explain ((rows + 1) / 2); none differs
    assert check.sum_counts == {"exact": int((diff == 0).sum()), "within rounding": int((diff != 0).sum())}
    assert check.sum_counts == {"exact": 17, "within rounding": 38}
    assert diff.abs().max() == max(abs(s.difference) for s in check.sums) == 5
    worst = max(check.sums, key=lambda s: abs(s.difference))
    assert (worst.medicine, worst.quarter, worst.difference) == ("ribociclib", "2020/21 Q4", 5)
    # the 3 primary-care rows: palbociclib 2021/22 Q3 (two STPs, 1 + 7 = 8 against a national 9) and
    # ribociclib 2022/23 Q1 (one STP, 0 against 0)
    primary = {(s.medicine, s.quarter): s for s in check.sums if s.data_source == "Primary Care"}
    assert set(primary) == {("palbociclib", "2021/22 Q3"), ("ribociclib", "2022/23 Q1")}
    p = primary[("palbociclib", "2021/22 Q3")]
    assert (p.organisations, p.absent, p.organisation_sum, p.national, p.status) == (2, 40, 8, 9, "within rounding")
    assert primary[("ribociclib", "2022/23 Q1")].status == "exact"
    # STPs with no row: e.g. tucatinib (secondary care) in 2020/21 Q2 has rows for 4 of 42 STPs, neratinib 30
    absent = {(s.medicine, s.data_source, s.quarter): s.absent for s in check.sums}
    assert absent[("tucatinib", "Secondary Care", "2020/21 Q2")] == 38
    assert absent[("neratinib", "Secondary Care", "2020/21 Q2")] == 12
    assert absent[("palbociclib", "Secondary Care", "2022/23 Q1")] == 0
    # national rows before the STP file starts are not compared (e.g. abemaciclib primary care 2019/20 Q4)
    assert ("abemaciclib", "Primary Care", "2019/20 Q4") not in sums


def test_population_denominators_are_consistent(isc):
    _, _, raw_stp, raw_nat, check = isc
    per_stp = raw_stp.groupby("stp_ods_cd").denominator.nunique()
    assert (per_stp == 1).all() and len(per_stp) == 42
    total = int(raw_stp.groupby("stp_ods_cd").denominator.first().sum())
    assert total == ENGLAND_POPULATION and set(raw_nat.denominator) == {ENGLAND_POPULATION}
    p = check.population
    assert p["one_population_per_organisation"] and p["varying"] == []
    assert p["organisations_total"] == p["national"] == ENGLAND_POPULATION and p["organisations_add_up_to_national"]


def test_the_seven_medicines_are_in_the_catalogue(isc):
    *_, check = isc
    assert check.catalogue == {
        "abemaciclib": ["TA563", "TA725", "TA810"], "neratinib": ["TA612"], "palbociclib": ["TA495", "TA836"],
        "ribociclib": ["TA496", "TA687"], "trastuzumab deruxtecan": ["TA704"],
        "trastuzumab emtansine": ["TA458", "TA632"], "tucatinib": ["TA786"]}
    assert any("no published rate" in n for n in check.notes)


# --- a catalogue TA from the warehouse ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def an(tiny_warehouse):
    with open_analysis(tiny_warehouse) as a:
        yield a


def _by_hand(an, ta, level, *columns):
    t = an.ta_table([ta], an.months(), (level,)).to_pandas()
    t = t[t.level == level].assign(quarter=lambda d: d.month.map(quarter_of),
                                   doses=lambda d: sum(d[c].fillna(0) for c in columns))
    g = t.groupby(["org", "quarter"]).agg(doses=("doses", "sum"),
                                          population=("registered_all", "mean"), n=("month", "size"))
    g = g[g.n == 3]
    return g.doses / g.population * 100_000


def test_a_primary_care_ta_by_icb_equals_pandas(an, pub):
    f = official_figure(an, "TA275", "icb")
    assert (f.unit, f.level) == ("DDD", "icb")
    assert f.quarters == ["2021/22 Q1", "2021/22 Q2", "2021/22 Q3", "2021/22 Q4", "2022/23 Q1", "2022/23 Q2"]
    assert f.incomplete == []  # the tiny NHS runs April 2021 to September 2022: six whole quarters
    want = _by_hand(an, "TA275", "icb", "ddd").sort_index()
    got = pd.Series({(r.org, r.quarter): r.rate for r in f.rows}).sort_index()
    assert list(got.index) == list(want.index)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12)
    eng = _by_hand(an, "TA275", "england", "ddd")
    np.testing.assert_allclose([r.rate for r in f.england], eng.sort_index().to_numpy(), rtol=1e-12)
    same = official_figure(pub, "TA275", "icb")  # the published tables give the same figure
    np.testing.assert_allclose([r.rate for r in same.rows], [r.rate for r in f.rows], rtol=1e-12)


def test_without_ddds_the_catalogue_daily_dose_is_used(an):
    t = an.ta_table(["TA388"], an.months(), ("region",)).to_pylist()
    assert all(r["ddd"] is None for r in t if r["level"] == "england")  # sacubitril valsartan: no DDD here
    f = official_figure(an, "TA388", "region")
    assert f.unit == "ADD" and "treatment-days" in f.unit_label
    assert all(r.rate > 0 for r in f.rows + f.england)
    # sacubitril valsartan is issued in hospitals too: regions add their trusts' issues
    assert any(r["secondary_treatment_days"] for r in t if r["level"] == "region")
    want = _by_hand(an, "TA388", "region", "treatment_days", "secondary_treatment_days").sort_index()
    np.testing.assert_allclose([r.rate for r in sorted(f.rows, key=lambda r: (r.org, r.quarter))], want.to_numpy(),
                               rtol=1e-12)


def test_hospital_only_tas_count_hospital_issues_at_icb_level(an):
    f = official_figure(an, "TA495", "icb")  # palbociclib: SCMD only; no DDD in the catalogue, so ADD
    assert f.unit == "ADD" and any("(SCMD) together" in n for n in f.notes)
    t = an.ta_table(["TA495"], an.months(), ("icb",)).to_pandas()
    assert (t.treatment_days.fillna(0) == 0).all()  # nothing from primary care: all of it is hospital issues
    want = _by_hand(an, "TA495", "icb", "secondary_treatment_days").sort_index()
    got = pd.Series({(r.org, r.quarter): r.rate for r in f.rows}).sort_index()
    assert list(got.index) == list(want.index) and (got > 0).any()
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12)
    with pytest.raises(UptakeError, match="issued in hospitals.*below an ICB.*palbociclib"):
        official_figure(an, "TA495", "sub_icb")
