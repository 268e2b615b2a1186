"""Hand-made bad catalogue files: each error names the file, the field and what was expected."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from uptake.catalogue import DATA_DIR, CatalogueError, UnknownEntry, load_catalogue

BASE_TA = yaml.safe_load((DATA_DIR / "technology_appraisals" / "TA275.yaml").read_text(encoding="utf-8"))


def make_catalogue(root: Path, tas: dict[str, Any] | None = None) -> Path:
    """A minimal catalogue in ``root``: the real areas.yaml plus the given {filename: document|text}."""
    (root / "technology_appraisals").mkdir(parents=True)
    shutil.copy(DATA_DIR / "areas.yaml", root / "areas.yaml")
    for name, document in (tas if tas is not None else {"TA275.yaml": BASE_TA}).items():
        text = document if isinstance(document, str) else yaml.safe_dump(document, sort_keys=False)
        (root / "technology_appraisals" / name).write_text(text, encoding="utf-8")
    return root


def mutated(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    document = copy.deepcopy(BASE_TA)
    change(document)
    return document


def load_error(root: Path) -> CatalogueError:
    with pytest.raises(CatalogueError) as excinfo:
        load_catalogue(root)
    return excinfo.value


def test_a_good_minimal_catalogue_loads(tmp_path: Path) -> None:
    cat = load_catalogue(make_catalogue(tmp_path))
    assert [t.id for t in cat.technology_appraisals] == ["TA275"]
    assert cat.by_area()["stroke"][0].id == "TA275"
    assert cat.by_area()["diabetes"] == []


def test_missing_field(tmp_path: Path) -> None:
    error = load_error(make_catalogue(tmp_path, {"TA275.yaml": mutated(lambda d: d.pop("title"))}))
    assert error.path.endswith("TA275.yaml")
    assert error.field == "title"
    assert "missing required field" in str(error)
    assert "TA275.yaml" in str(error) and "title" in str(error)


def test_missing_nested_field(tmp_path: Path) -> None:
    doc = mutated(lambda d: d["products"][0]["presentations"][1].pop("units_per_day"))
    error = load_error(make_catalogue(tmp_path, {"TA275.yaml": doc}))
    assert error.field == "products[0].presentations[1].units_per_day"


def test_wrong_type(tmp_path: Path) -> None:
    error = load_error(make_catalogue(tmp_path, {"TA275.yaml": mutated(lambda d: d.update(funding_deadline_days="ninety"))}))
    assert error.field == "funding_deadline_days"
    assert "expected a whole number of days" in error.message and "'ninety'" in error.message


def test_wrong_type_deep_in_a_product(tmp_path: Path) -> None:
    doc = mutated(lambda d: d["products"][0]["presentations"][0].update(strength="5mg"))
    error = load_error(make_catalogue(tmp_path, {"TA275.yaml": doc}))
    assert error.field == "products[0].presentations[0].strength"
    assert "expected a positive number" in error.message


def test_bad_bnf_code_pattern(tmp_path: Path) -> None:
    doc = mutated(lambda d: d["products"][0]["presentations"][0].update(bnf_code="0208020Z0AA"))
    error = load_error(make_catalogue(tmp_path, {"TA275.yaml": doc}))
    assert error.field == "products[0].presentations[0].bnf_code"
    assert "15-character BNF presentation code" in error.message


def test_presentation_outside_its_chemical(tmp_path: Path) -> None:
    doc = mutated(lambda d: d["products"][0]["presentations"][0].update(bnf_code="0208020Y0AAACAC"))
    error = load_error(make_catalogue(tmp_path, {"TA275.yaml": doc}))
    assert error.field == "products[0].presentations[0].bnf_code"
    assert "0208020Z0" in error.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2013-02-30", "real calendar date"), ("27 Feb 2013", "ISO date")],
)
def test_bad_date(tmp_path: Path, value: str, expected: str) -> None:
    error = load_error(make_catalogue(tmp_path, {"TA275.yaml": mutated(lambda d: d.update(published=value))}))
    assert error.field == "published"
    assert expected in error.message


def test_unquoted_yaml_date_is_accepted(tmp_path: Path) -> None:
    text = yaml.safe_dump(BASE_TA, sort_keys=False).replace("published: '2013-02-27'", "published: 2013-02-27")
    assert "published: 2013-02-27" in text
    cat = load_catalogue(make_catalogue(tmp_path, {"TA275.yaml": text}))
    assert cat.ta(275).published.isoformat() == "2013-02-27"


def test_unknown_area(tmp_path: Path) -> None:
    error = load_error(make_catalogue(tmp_path, {"TA275.yaml": mutated(lambda d: d.update(clinical_area="cardiology"))}))
    assert error.field == "clinical_area"
    assert "'cardiology'" in error.message and "heart_disease" in error.message


def test_bad_enum(tmp_path: Path) -> None:
    error = load_error(make_catalogue(tmp_path, {"TA275.yaml": mutated(lambda d: d.update(recommendation="yes"))}))
    assert error.field == "recommendation"
    assert "expected one of: recommended, optimised" in error.message


def test_fraction_out_of_range(tmp_path: Path) -> None:
    doc = mutated(lambda d: d["eligible_population"].update(fraction=1.5))
    error = load_error(make_catalogue(tmp_path, {"TA275.yaml": doc}))
    assert error.field == "eligible_population.fraction"


def test_unknown_field_is_a_typo(tmp_path: Path) -> None:
    error = load_error(make_catalogue(tmp_path, {"TA275.yaml": mutated(lambda d: d.update(tittle="x"))}))
    assert error.field == "tittle"
    assert "unknown field" in error.message


def test_duplicate_id(tmp_path: Path) -> None:
    error = load_error(make_catalogue(tmp_path, {"TA275.yaml": BASE_TA, "TA275.yml": BASE_TA}))
    assert error.field == "id"
    assert "duplicate id 'TA275'" in error.message
    assert "TA275.yaml" in str(error) and "TA275.yml" in str(error)


def test_id_must_match_file_name(tmp_path: Path) -> None:
    error = load_error(make_catalogue(tmp_path, {"TA276.yaml": BASE_TA}))
    assert error.path.endswith("TA276.yaml")
    assert error.field == "id"


def test_url_must_match_id(tmp_path: Path) -> None:
    doc = mutated(lambda d: d.update(url="https://www.nice.org.uk/guidance/ta276"))
    error = load_error(make_catalogue(tmp_path, {"TA275.yaml": doc}))
    assert error.field == "url"


def test_age_band_must_be_ordered(tmp_path: Path) -> None:
    doc = mutated(lambda d: d["eligible_population"].update(age_min=80, age_max=50))
    error = load_error(make_catalogue(tmp_path, {"TA275.yaml": doc}))
    assert error.field == "eligible_population.age_max"


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    error = load_error(make_catalogue(tmp_path, {"TA275.yaml": "id: TA275\ntitle: [unclosed\n"}))
    assert error.path.endswith("TA275.yaml")
    assert error.line is not None and error.line >= 2
    assert "not valid YAML" in str(error)


def test_empty_file(tmp_path: Path) -> None:
    error = load_error(make_catalogue(tmp_path, {"TA275.yaml": ""}))
    assert "empty" in error.message


def test_not_a_mapping(tmp_path: Path) -> None:
    error = load_error(make_catalogue(tmp_path, {"TA275.yaml": "- just\n- a list\n"}))
    assert "expected a mapping" in error.message


def test_duplicate_area(tmp_path: Path) -> None:
    root = make_catalogue(tmp_path)
    areas = yaml.safe_load((root / "areas.yaml").read_text(encoding="utf-8"))
    areas["areas"].append(copy.deepcopy(areas["areas"][0]))
    (root / "areas.yaml").write_text(yaml.safe_dump(areas), encoding="utf-8")
    error = load_error(root)
    assert error.path.endswith("areas.yaml")
    assert error.field == f"areas[{len(areas['areas']) - 1}].id"


def test_area_missing_field(tmp_path: Path) -> None:
    root = make_catalogue(tmp_path)
    areas = yaml.safe_load((root / "areas.yaml").read_text(encoding="utf-8"))
    del areas["areas"][1]["nic_priority"]
    (root / "areas.yaml").write_text(yaml.safe_dump(areas), encoding="utf-8")
    error = load_error(root)
    assert error.field == "areas[1].nic_priority"


def test_missing_folders(tmp_path: Path) -> None:
    error = load_error(tmp_path / "nowhere")
    assert "catalogue folder not found" in error.message
    (tmp_path / "cat").mkdir()
    assert "areas file not found" in load_error(tmp_path / "cat").message


def test_errors_are_not_cached(tmp_path: Path) -> None:
    root = make_catalogue(tmp_path, {"TA275.yaml": mutated(lambda d: d.pop("title"))})
    load_error(root)
    (root / "technology_appraisals" / "TA275.yaml").write_text(yaml.safe_dump(BASE_TA), encoding="utf-8")
    assert len(load_catalogue(root)) == 1


def test_unknown_entry_is_a_catalogue_error_and_lookup_error(tmp_path: Path) -> None:
    cat = load_catalogue(make_catalogue(tmp_path))
    with pytest.raises(UnknownEntry) as excinfo:
        cat.ta("TA249")
    assert isinstance(excinfo.value, CatalogueError) and isinstance(excinfo.value, LookupError)
    assert "TA249" in str(excinfo.value)
