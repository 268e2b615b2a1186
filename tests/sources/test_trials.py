"""The trial registry readers on every real file in ../shared/data/trials, checked against the
files' own JSON/CSV read independently (json, pandas), and on bad input: one line naming the file,
the line and the field, and nothing read."""

from __future__ import annotations

import gzip
import json
import re

import pandas as pd
import pytest

from uptake.errors import InputError
from uptake.sources import read_file
from uptake.sources.trials import phase_text

UK = "United Kingdom"


def _json(path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def _studies(doc):
    if isinstance(doc, list):
        return doc
    return doc["studies"] if "studies" in doc else [doc]


def test_every_real_trials_file_reads_with_the_registry_counts(shared_data):
    folder = shared_data / "trials"
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    assert len(files) >= 27, files  # 10 recorded API answers, 12 single studies, 3 downloads, a CSV, ISRCTN
    for path in files:
        result = read_file(path)
        trials, sites = result.tables["trials"], result.tables["trial_sites"]
        if path.suffix == ".json" or path.name.endswith(".json.gz"):
            doc = _json(path)
            if result.format.id == "isrctn_json":
                expected_ids = [f"ISRCTN{r['isrctn']}" for r in doc]
                expected_sites = sum(len(c) if isinstance(c := r["participants"]["trialCentres"]["trialCentre"],
                                                          list) else 1 for r in doc)
            else:
                assert result.format.id == "ctgov_v2_json", path
                studies = _studies(doc)
                expected_ids = [s["protocolSection"]["identificationModule"]["nctId"] for s in studies]
                expected_sites = sum(len(s["protocolSection"].get("contactsLocationsModule", {}).get("locations", []))
                                     for s in studies)
            assert trials.column("trial_id").to_pylist() == expected_ids, path
            assert sites.num_rows == expected_sites, path
            assert all(t["fetched"] is None for t in trials.to_pylist()), "recorded files are samples"
        else:
            frame = pd.read_csv(path)
            assert result.format.id == "ctgov_flat_csv"
            assert trials.column("trial_id").to_pylist() == frame["nct_id"].tolist()
            uk = frame["countries"].fillna("").str.split("|").apply(lambda c: UK in c)
            assert sum(trials.column("uk").to_pylist()) == int(uk.sum()) == 170  # SOURCES.md: 170 with the UK


def test_the_50_study_download_has_8_uk_trials_and_46_uk_sites(shared_data):
    # SOURCES.md: "50 studies, 8 with UK sites, 46 UK locations", each with a postcode and most a geoPoint
    tables = read_file(shared_data / "trials" / "ctgov_download_50studies_2023-06.json.gz").tables
    assert sum(tables["trials"].column("uk").to_pylist()) == 8
    uk_sites = [s for s in tables["trial_sites"].to_pylist() if s["country"] == UK]
    assert len(uk_sites) == 46 and all(s["postcode"] for s in uk_sites)
    colchester = next(s for s in uk_sites if s["trial_id"] == "NCT05850520" and s["city"] == "Colchester")
    assert (colchester["postcode"], colchester["lat"], colchester["lon"]) == ("CO4 5JR", 51.88921, 0.90421)
    trial = next(t for t in tables["trials"].to_pylist() if t["trial_id"] == "NCT05850520")
    assert trial["status"] == "RECRUITING" and trial["phase"] == "Phase 3"
    assert trial["url"] == "https://clinicaltrials.gov/study/NCT05850520"
    assert trial["conditions"] == ["Macular Edema Secondary to Retinal Vein Occlusion"]


def test_isrctn_records_give_dates_countries_and_centres(shared_data):
    tables = read_file(shared_data / "trials" / "isrctn_9trials_ctrdata_json.json").tables
    trials = {t["trial_id"]: t for t in tables["trials"].to_pylist()}
    toast = trials["ISRCTN96912679"]
    assert toast["uk"] and toast["phase"] == "Phase 3" and toast["status"] is None
    assert (str(toast["start"]), str(toast["end"])) == ("2025-11-01", "2030-10-31")
    assert toast["url"] == "https://www.isrctn.com/ISRCTN96912679"
    assert trials["ISRCTN12949496"]["status"] == "TERMINATED"  # recruitmentStatusOverride 'Stopped'
    assert sum(t["uk"] for t in trials.values()) == 4  # SOURCES.md: 4 recruiting in the UK
    southampton = next(s for s in tables["trial_sites"].to_pylist() if s["trial_id"] == "ISRCTN96912679")
    assert (southampton["facility"], southampton["postcode"]) == ("University Hospital Southampton", "SO16 6YD")


@pytest.mark.parametrize("phases, text", [
    (["PHASE3"], "Phase 3"), (["PHASE2", "PHASE3"], "Phase 2/3"), (["NA"], None), (["EARLY_PHASE1"], "Early phase 1"),
    (["Phase III"], "Phase 3"), (["Phase II/III"], "Phase 2/3"), (["Not Applicable"], None), ([], None)])
def test_phase_in_words(phases, text):
    assert phase_text(phases) == text


STUDY = {"protocolSection": {"identificationModule": {"nctId": "NCT01234567", "briefTitle": "A trial"},
                             "statusModule": {"overallStatus": "RECRUITING"}}}


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_truncated_answer_is_refused_with_its_line_and_column(tmp_path):
    text = json.dumps({"studies": [STUDY, STUDY]}, indent=1)
    path = _write(tmp_path, "page.json", text[: len(text) // 2])
    with pytest.raises(InputError) as err:
        read_file(path)
    message = str(err.value)
    assert message.startswith(f"{path}:") and "not valid JSON" in message and "column" in message
    assert err.value.line == text[: len(text) // 2].count("\n") + 1 and "\n" not in message


def test_a_study_without_its_number_names_the_field_and_line(tmp_path):
    bad = json.loads(json.dumps(STUDY))
    del bad["protocolSection"]["identificationModule"]["nctId"]
    path = _write(tmp_path, "page.json", json.dumps({"studies": [STUDY, bad]}, indent=1))
    with pytest.raises(InputError) as err:
        read_file(path)
    assert err.value.column == "studies[1].protocolSection.identificationModule.nctId"
    assert err.value.line == path.read_text().count("\n", 0, path.read_text().rindex('"protocolSection"')) + 1
    assert "expected an NCT number" in str(err.value)


@pytest.mark.parametrize("change, field, expected", [
    (lambda s: s["protocolSection"]["identificationModule"].update(nctId="NCT123"), "nctId", "NCT and 8 digits"),
    (lambda s: s["protocolSection"].update(contactsLocationsModule={"locations": [{"geoPoint": {"lat": "52"}}]}),
     "locations[0].geoPoint.lat", "expected a number"),
    (lambda s: s["protocolSection"]["statusModule"].update(startDateStruct={"date": "May 2023"}),
     "startDateStruct.date", "expected YYYY-MM"),
])
def test_bad_fields_are_refused(tmp_path, change, field, expected):
    bad = json.loads(json.dumps(STUDY))
    change(bad)
    path = _write(tmp_path, "study.json", json.dumps(bad))
    with pytest.raises(InputError) as err:
        read_file(path)
    assert err.value.column.endswith(field) and expected in str(err.value)


def test_a_truncated_gzip_download_is_refused(tmp_path, shared_data):
    data = (shared_data / "trials" / "ctgov_download_10studies_2023-06.json.gz").read_bytes()
    path = tmp_path / "download.json.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated gzip|not valid JSON"):
        read_file(path)


def test_an_isrctn_record_with_a_bad_number_is_refused(tmp_path, shared_data):
    records = json.loads((shared_data / "trials" / "isrctn_9trials_ctrdata_json.json").read_text())
    records[2]["isrctn"] = "1234"
    path = _write(tmp_path, "isrctn.json", json.dumps(records, indent=1))
    with pytest.raises(InputError) as err:
        read_file(path)
    assert err.value.column == "[2].isrctn" and "expected 8 digits" in str(err.value)
    text = path.read_text()
    third = [m.start() for m in re.finditer('"trialDescription"', text)][2]
    assert err.value.line == text.count("\n", 0, third) + 1
