"""The public view's services on real data: the demo's sample loads every recorded trials file
and the 9 postcode areas; trials are shown once, from their newest record, with ISRCTN statuses
worked out from the recruitment dates; distances are great-circle miles."""

from __future__ import annotations

import json
from datetime import date

import pytest

from uptake.catalogue.trial_conditions import load_trial_conditions
from uptake.services.places import Places, miles_between
from uptake.services.public_sample import load_public_sample, sample_files
from uptake.services.trials import Trials, status_on
from uptake.sources import read_file
from uptake.warehouse import Warehouse


def test_miles_between_two_known_points():
    # London (51.5074, -0.1278) to Manchester (53.4808, -2.2426): 163 miles by the haversine formula
    assert miles_between(51.5074, -0.1278, 53.4808, -2.2426) == pytest.approx(163.0, abs=0.5)
    assert miles_between(53.99, -1.54, 53.99, -1.54) == 0


@pytest.mark.parametrize("start, end, status", [
    (date(2025, 11, 1), date(2030, 10, 31), "RECRUITING"), (date(2027, 1, 1), date(2028, 1, 1), "NOT_YET_RECRUITING"),
    (date(2013, 9, 1), date(2017, 9, 28), "RECRUITMENT_ENDED"), (None, None, "UNKNOWN")])
def test_an_isrctn_status_comes_from_its_dates(start, end, status):
    assert status_on(None, start, end, date(2026, 12, 7)) == status
    assert status_on("TERMINATED", start, end, date(2026, 12, 7)) == "TERMINATED"


@pytest.fixture(scope="module")
def sample(shared_data, tmp_path_factory) -> Warehouse:
    wh = Warehouse(tmp_path_factory.mktemp("sample") / "warehouse")
    load_public_sample(wh, shared_data)
    return wh


def test_the_demo_sample_loads_every_recorded_file(sample, shared_data):
    files = sample_files(shared_data)
    assert len(files) == 9 + 27
    expected = {"postcodes": 73_182, "trials": 0, "trial_sites": 0}
    for path in files[9:]:
        tables = read_file(path).tables
        expected["trials"] += tables["trials"].num_rows
        expected["trial_sites"] += tables["trial_sites"].num_rows
    con = sample.connect()
    for name, n in expected.items():
        assert con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] == n, name


def test_a_trial_in_two_files_is_shown_once_and_a_fetched_record_wins(sample, shared_data, tmp_path):
    trials = Trials(sample)
    group = load_trial_conditions().groups["type_2_diabetes"]
    shown = trials.for_condition(group, date(2026, 12, 7))
    assert [t.trial_id for t in shown] == ["NCT05647226"]  # the only UK type 2 diabetes trial in the sample
    assert shown[0].sample and not shown[0].is_open and shown[0].status == "UNKNOWN"
    # a live record of the same trial, recruiting now, replaces the sample's
    study = next(s for s in json.loads(read_json(shared_data / "trials" / "ctgov_download_128studies_digital_therapeutics.json.gz"))
                 if s["protocolSection"]["identificationModule"]["nctId"] == "NCT05647226")
    study["protocolSection"]["statusModule"]["overallStatus"] = "RECRUITING"
    live = tmp_path / "ctgov_type_2_diabetes.json"
    live.write_text(json.dumps({"studies": [study], "fetched": "2026-12-07T10:00:00+00:00"}))
    sample.load(live)
    shown = Trials(sample).for_condition(group, date(2026, 12, 7), Places(sample), (51.5, -0.1))
    assert [(t.trial_id, t.status, t.sample) for t in shown] == [("NCT05647226", "RECRUITING", False)]
    site = shown[0].sites[0]
    # SE1 3ER is not in the loaded lookup (SE is not loaded): placed at the registry's point for London
    assert site.approximate and site.miles == pytest.approx(miles_between(51.5, -0.1, 51.50853, -0.12574))


def read_json(path):
    import gzip

    return gzip.open(path, "rt", encoding="utf-8").read()


def test_the_icb_report_counts_open_trials_with_sites_in_its_area(shared_data, tmp_path):
    """A real record (NCT05647226) made recruiting and given a second UK site at a real Harrogate
    postcode (HG2 7SX, in the Humber and North Yorkshire ICB, ONS E54000051 in the NSPL file):
    the ICB's report counts it with its one site there; another ICB counts nothing; the London
    site (SE1 3ER, outside the loaded postcode areas) is counted as not placed."""
    from types import SimpleNamespace

    from uptake.reports.trials_section import icb_trials_section

    wh = Warehouse(tmp_path / "warehouse")
    wh.load(shared_data / "geo" / "nspl_nov2021_9_postcode_areas" / "NSPL_NOV_2021_UK_HG.csv.gz")
    study = next(s for s in json.loads(read_json(shared_data / "trials" / "ctgov_download_128studies_digital_therapeutics.json.gz"))
                 if s["protocolSection"]["identificationModule"]["nctId"] == "NCT05647226")
    study["protocolSection"]["statusModule"]["overallStatus"] = "RECRUITING"
    study["protocolSection"]["contactsLocationsModule"]["locations"].append(
        {"facility": "Harrogate District Hospital", "city": "Harrogate", "zip": "HG2 7SX", "country": "United Kingdom"})
    live = tmp_path / "ctgov_type_2_diabetes.json"
    live.write_text(json.dumps({"studies": [study], "fetched": "2026-12-07T10:00:00+00:00"}))
    wh.load(live)
    ctx = SimpleNamespace(as_of=date(2026, 12, 7))
    here = icb_trials_section(ctx, "QOQ", "Humber and North Yorkshire", wh)
    table = next(b for b in here.blocks if hasattr(b, "rows"))
    assert [r[0].split(":")[0] for r in table.rows] == ["NCT05647226"] and table.rows[0][3] == "1"
    assert here.blocks[0].text.startswith("1 trial for the conditions of the catalogue's TAs is recruiting or "
                                          "opening soon with 1 site in Humber and North Yorkshire (ONS E54000051)")
    assert any("1 UK sites of these trials have postcodes outside" in getattr(b, "text", "") for b in here.blocks)
    elsewhere = icb_trials_section(ctx, "QWE", "South West London", wh)
    assert next(b for b in elsewhere.blocks if hasattr(b, "rows")).rows == []
