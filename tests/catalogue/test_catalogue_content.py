"""The shipped catalogue: it validates, it is big enough, and its internal rules hold."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml

from uptake.catalogue import (
    DATA_DIR,
    Catalogue,
    ClinicalArea,
    TechnologyAppraisal,
    UnknownEntry,
    load_catalogue,
)
from uptake.catalogue.loader import _validator

TA_FILES = sorted((DATA_DIR / "technology_appraisals").glob("*.yaml"))
NIC_AREAS = {"osteoporosis", "stroke", "diabetes", "heart_disease"}


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return load_catalogue()


def test_every_file_validates_against_the_schema() -> None:
    assert TA_FILES, "no TA files shipped"
    for path in TA_FILES:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        errors = list(_validator("technology_appraisal").iter_errors(document))
        assert not errors, f"{path.name}: {errors[0].message}"
    areas = yaml.safe_load((DATA_DIR / "areas.yaml").read_text(encoding="utf-8"))
    assert not list(_validator("areas_file").iter_errors(areas))


def test_catalogue_has_at_least_30_tas_sorted_by_number(cat: Catalogue) -> None:
    tas = cat.technology_appraisals
    assert len(tas) >= 30
    assert len(tas) == len(TA_FILES)
    numbers = [t.number for t in tas]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == len(numbers)


def test_ids_match_file_names(cat: Catalogue) -> None:
    assert {p.stem for p in TA_FILES} == {t.id for t in cat}
    for t in cat:
        assert t.id == f"TA{t.number}"
        assert t.url == f"https://www.nice.org.uk/guidance/ta{t.number}"


def test_every_area_used_exists_and_nic_areas_are_covered(cat: Catalogue) -> None:
    area_ids = {a.id for a in cat.areas}
    for t in cat:
        assert t.clinical_area in area_ids, t.id
    assert {a.id for a in cat.areas if a.nic_priority} == NIC_AREAS
    groups = cat.by_area()
    assert set(groups) == area_ids
    for area_id in NIC_AREAS:
        assert groups[area_id], f"no TA in NIC area {area_id}"
    assert sum(len(v) for v in groups.values()) == len(cat)


def test_funding_deadline_is_publication_plus_days(cat: Catalogue) -> None:
    for t in cat:
        assert t.funding_deadline == t.published + dt.timedelta(days=t.funding_deadline_days)
        assert t.funding_deadline_days in (30, 90), f"{t.id}: unusual funding period needs a test"


def test_inclisiran_has_the_30_day_funding_period(cat: Catalogue) -> None:
    ta733 = cat.ta("TA733")
    assert ta733.funding_deadline_days == 30
    assert ta733.published == dt.date(2021, 10, 6)
    assert ta733.funding_deadline == dt.date(2021, 11, 5)
    assert [t.id for t in cat if t.funding_deadline_days == 30] == ["TA733"]


def test_the_required_tas_are_present(cat: Catalogue) -> None:
    required = {
        "TA249", "TA256", "TA275", "TA355",  # DOACs
        "TA204", "TA464", "TA791",  # osteoporosis
        "TA151", "TA203", "TA248", "TA288", "TA315", "TA336", "TA390", "TA418",  # diabetes
        "TA385", "TA388", "TA393", "TA394", "TA679", "TA694", "TA733", "TA773", "TA236",  # heart
        "TA264", "TA210",  # stroke
        "TA563", "TA725", "TA810", "TA612", "TA495", "TA836", "TA496", "TA687", "TA704",
        "TA458", "TA632", "TA786",  # breast cancer
    }
    assert required <= {t.id for t in cat}


def test_doacs_are_primary_care_on_the_af_register(cat: Catalogue) -> None:
    for ta_id, chemical in [("TA249", "0208020X0"), ("TA256", "0208020Y0"), ("TA275", "0208020Z0"), ("TA355", "0208020AA")]:
        t = cat.ta(ta_id)
        assert t.eligible_population.register == "AF"
        assert t.bnf_chemicals == [chemical]
        assert all(p.setting == "primary" for p in t.products)
        assert t.commissioner == "icb"


def test_cancer_medicines_are_commissioned_by_nhs_england(cat: Catalogue) -> None:
    for t in cat.by_area()["breast_cancer"]:
        assert t.commissioner == "nhs_england"
        assert all(p.setting == "secondary" for p in t.products)


def test_device_ta_has_no_products_and_says_why(cat: Catalogue) -> None:
    pumps = cat.ta("TA151")
    assert pumps.products == ()
    assert "device" in pumps.notes.lower()


def test_presentation_codes_start_with_their_chemical(cat: Catalogue) -> None:
    for t in cat:
        for p in t.products:
            if p.bnf_chemical is None:
                assert p.presentations == (), f"{t.id} {p.name}"
                assert p.notes, f"{t.id} {p.name}: a product without a BNF code must say why"
            for pres in p.presentations:
                assert pres.bnf_code[:9] == p.bnf_chemical, f"{t.id} {pres.bnf_code}"
                assert len(pres.bnf_code) == 15
                assert pres.units_per_day > 0
        assert set(t.bnf_chemicals) == {p.bnf_chemical for p in t.products if p.bnf_chemical}
        assert t.presentation_codes == list(dict.fromkeys(c for p in t.products for c in p.presentation_codes))


def test_unsourced_figures_are_null_and_estimates_unverified(cat: Catalogue) -> None:
    for t in cat:
        pop, upt = t.eligible_population, t.expected_uptake
        if pop.fraction is None:
            assert not pop.verified
        if upt.share is None:
            assert not upt.verified
        for block in (pop, upt):
            if block.source.startswith("Estimate"):
                assert not block.verified, f"{t.id}: an estimate cannot be verified"
            if not block.verified and (getattr(block, "fraction", None) or getattr(block, "share", None)):
                # an unverified number must say it is an estimate, or say what kind of source it is
                assert block.source.startswith("Estimate") or block.kind in ("official", "secondary"), \
                    f"{t.id}: {block.source[:60]}"
            if block.kind == "estimate" or block.source_kind == "estimate" and not block.kind:
                assert block.source.startswith("Estimate"), f"{t.id}: an estimate shows its arithmetic"
        for end in (pop.low, pop.high, upt.low, upt.high):
            if end is not None and end.kind == "estimate":
                assert end.source.startswith("Estimate"), t.id
        for count in (*pop.national, *upt.national):
            assert not count.verified, f"{t.id}: no national count was read on the publisher's page itself"
            # each cites an entry of the sources file (or NICE's tabulated template)
            assert count.quote and ("expected-uptake-sources.md" in count.source
                                    or "Prototype_BC_prescribing" in count.source), t.id
            if count.kind == "estimate":
                assert count.source.startswith("Estimate"), t.id
        if not t.verified:
            assert t.notes, f"{t.id}: unverified entries must say what could not be checked"
        assert t.sources
        assert t.reviewed in (dt.date(2026, 11, 23), dt.date(2026, 12, 7))


def test_lookups_accept_several_spellings(cat: Catalogue) -> None:
    ta = cat.ta("TA275")
    assert isinstance(ta, TechnologyAppraisal)
    assert cat.ta("ta275") is ta
    assert cat.ta("275") is ta
    assert cat.ta(275) is ta
    assert cat.ta(" TA 275 ") is ta
    assert "TA275" in cat and "ta999" not in cat
    assert ta.number == 275
    assert ta.published == dt.date(2013, 2, 27)


def test_unknown_ta_suggests_close_matches(cat: Catalogue) -> None:
    with pytest.raises(UnknownEntry) as excinfo:
        cat.ta("TA276")
    message = str(excinfo.value)
    assert "TA276" in message and "TA275" in message
    with pytest.raises(UnknownEntry) as excinfo:
        cat.ta("apixaban")
    assert "TA275" in str(excinfo.value)
    with pytest.raises(LookupError):
        cat.ta("TA0")


def test_area_lookup(cat: Catalogue) -> None:
    stroke = cat.area("stroke")
    assert isinstance(stroke, ClinicalArea) and stroke.nic_priority
    assert cat.area("Heart disease").id == "heart_disease"
    with pytest.raises(UnknownEntry) as excinfo:
        cat.area("strokes")
    assert "stroke" in str(excinfo.value)


def test_to_dict_is_json_serialisable_and_complete(cat: Catalogue) -> None:
    for t in cat:
        data = json.loads(json.dumps(t.to_dict()))
        assert data["id"] == t.id
        assert data["published"] == t.published.isoformat()
        assert data["funding_deadline"] == t.funding_deadline.isoformat()
        assert data["bnf_chemicals"] == t.bnf_chemicals


def test_objects_are_frozen(cat: Catalogue) -> None:
    ta = cat.ta("TA733")
    with pytest.raises(AttributeError):
        ta.funding_deadline_days = 90  # type: ignore[misc]
    cat.technology_appraisals.clear()  # a copy: the cached catalogue is unchanged
    assert len(cat.technology_appraisals) >= 30


def test_load_is_cached_per_resolved_path(tmp_path: Path) -> None:
    assert load_catalogue() is load_catalogue(DATA_DIR)
    assert load_catalogue(str(DATA_DIR / ".." / "data")) is load_catalogue()


def test_doac_expected_uptake_is_the_class_target_split_by_product(cat: Catalogue) -> None:
    # PHE's anticoagulation target (89% by 2021) split by each DOAC's 2021-22 share of national
    # treatment-days; the four per-TA shares add back to the class share (docs/catalogue.md).
    doacs = [cat.ta(t) for t in ("TA249", "TA256", "TA275", "TA355")]
    assert sum(t.expected_uptake.share for t in doacs) == pytest.approx(0.89, abs=0.002)
    assert len({t.eligible_population.fraction for t in doacs}) == 1
    for t in doacs:
        upt = t.expected_uptake
        assert upt.share is not None and not upt.verified
        assert upt.source.startswith("Estimate") and "89%" in upt.source and "0.89 x" in upt.source
        assert any("hansard.parliament.uk" in s for s in t.sources)
    assert max(doacs, key=lambda t: t.expected_uptake.share).id == "TA275"  # apixaban leads the 2021-22 mix


def test_tas_without_an_expected_use_say_what_was_searched(cat: Catalogue) -> None:
    for ta_id in ("TA288", "TA315", "TA336", "TA390", "TA418", "TA679", "TA773", "TA388", "TA385",
                  "TA393", "TA394", "TA694", "TA733", "TA464", "TA204", "TA791"):
        t = cat.ta(ta_id)
        assert t.expected_uptake.share is None
        assert "Expected use (2026-11 review)" in t.notes, ta_id
