"""The reviewed condition terms: every catalogue TA has a group; known real trials match their TAs
and unrelated ones match none."""

from __future__ import annotations

import pytest

from uptake.catalogue import load_catalogue
from uptake.catalogue.loader import CatalogueError
from uptake.catalogue.trial_conditions import fold, load_trial_conditions
from uptake.sources import read_file


@pytest.fixture(scope="module")
def conditions():
    return load_trial_conditions()


def test_every_catalogue_ta_has_a_condition_group(conditions):
    assert set(conditions.tas) == {ta.id for ta in load_catalogue()}
    assert all(g.name and g.terms for g in conditions.groups.values())


def test_spelling_and_punctuation_are_folded():
    assert fold("Hypercholesterolaemia") == fold("hypercholesterolemia") == " hypercholesterolemia "
    assert fold("HER2-positive") == " her2 positive "


# Conditions exactly as the real records register them (shared/data/trials)
@pytest.mark.parametrize("registered, tas", [
    (["Hypercholesterolemia"], {"TA385", "TA393", "TA394", "TA694", "TA733"}),  # NCT05923281
    (["Diabetes Mellitus, Type 2"], {"TA203", "TA248", "TA288", "TA315", "TA336", "TA390", "TA418"}),  # NCT05647226
    (["Type 2 Diabetes", "Chronic Kidney Diseases"], {"TA203", "TA248", "TA288", "TA315", "TA336", "TA390", "TA418"}),
    (["Breast Cancer Female"], {"TA495", "TA496", "TA563", "TA687", "TA725", "TA810", "TA836"}),  # NCT05032404
    (["Atrial Fibrillation"], {"TA249", "TA256", "TA275", "TA355"}),
    (["HER2-positive Breast Cancer"], {"TA458", "TA612", "TA632", "TA704", "TA786"}),
    (["Heart Failure With Reduced Ejection Fraction"], {"TA388", "TA679", "TA773"}),
    # unrelated conditions, and near misses that must not match
    (["Macular Edema Secondary to Retinal Vein Occlusion"], set()),  # NCT05850520
    (["Heart Failure With Preserved Ejection Fraction"], set()),
    (["Prediabetic State"], set()),
    (["Diabetes Insipidus"], set()),
    (["Schizophrenia Spectrum and Other Psychotic Disorders"], set()),  # NCT06568081
    (["Decompensated Cirrhosis"], set()),  # NCT06223893
    (["Neonatal jaundice"], set()),  # ISRCTN17473621
])
def test_known_conditions_match_their_tas_only(conditions, registered, tas):
    assert set(conditions.tas_matching(registered)) == tas


def test_no_recorded_isrctn_neonatal_trial_matches_a_ta(conditions, shared_data):
    trials = read_file(shared_data / "trials" / "isrctn_9trials_ctrdata_json.json").table.to_pylist()
    assert [t["trial_id"] for t in trials if conditions.tas_matching(t["conditions"])] == []


def test_a_group_for_an_unknown_ta_is_refused(tmp_path):
    path = tmp_path / "trial_conditions.yaml"
    path.write_text("reviewed: '2026-12-07'\ngroups:\n  af: {name: af, terms: [atrial fibrillation]}\n"
                    "tas:\n  TA9999: af\n")
    with pytest.raises(CatalogueError, match="TA9999 is not in the catalogue"):
        load_trial_conditions(path)
