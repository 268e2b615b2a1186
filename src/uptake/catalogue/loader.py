"""Load, validate and query the catalogue of NICE technology appraisals."""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from uptake.catalogue.models import (
    ClinicalArea,
    DailyDose,
    EligiblePopulation,
    ExpectedUptake,
    Presentation,
    Product,
    TechnologyAppraisal,
)
from uptake.catalogue.layout import AREAS_FILE, TA_DIR
from uptake.errors import InputError

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
SCHEMA_PATH = PACKAGE_DIR / "schema.json"
_TA_SUFFIXES = (".yaml", ".yml")


class CatalogueError(InputError):
    """A catalogue file is missing or wrong: names the file, the field path and what was expected."""

    place = "field"

    def __init__(self, path: str | Path, message: str, *, field: str | None = None, line: int | None = None) -> None:
        super().__init__(path, message, line=line, column=field)

    @property
    def field(self) -> str | None:
        return self.column


class UnknownEntry(CatalogueError, LookupError):
    """A TA or area that is not in the catalogue; the message suggests close matches."""

    def __init__(self, path: str | Path, message: str, *, key: object = None) -> None:
        self.key = key
        super().__init__(path, message)


# --------------------------------------------------------------------------- schema


@functools.lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    with SCHEMA_PATH.open(encoding="utf-8") as handle:
        return json.load(handle)


@functools.lru_cache(maxsize=4)
def _validator(definition: str) -> jsonschema.protocols.Validator:
    root = _schema()
    schema = {"$ref": f"#/$defs/{definition}", "$defs": root["$defs"]}
    cls = jsonschema.validators.validator_for(root)
    cls.check_schema(schema)
    return cls(schema)


def _field_path(parts: Any) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _describe_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_JSON_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "null": "null",
}


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _explain(error: jsonschema.ValidationError) -> tuple[str, str]:
    """Turn a jsonschema error into (field path, 'expected ..., got ...')."""
    path = list(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    described = schema.get("description")
    kind = error.validator
    if kind == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        name = missing[0] if missing else "?"
        return _field_path([*path, name]), "missing required field"
    if kind == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in allowed)
        name = extra[0] if extra else "?"
        return _field_path([*path, name]), f"unknown field; expected one of: {', '.join(allowed)}"
    if kind == "type":
        wanted = error.validator_value
        names = wanted if isinstance(wanted, list) else [wanted]
        wanted_text = described or " or ".join(_JSON_TYPE_WORDS.get(n, n) for n in names)
        return (
            _field_path(path),
            f"expected {wanted_text}, got {_describe_type(error.instance)} {_short(error.instance)}",
        )
    if kind == "enum":
        options = ", ".join("null" if o is None else str(o) for o in error.validator_value)
        return _field_path(path), f"expected one of: {options}; got {_short(error.instance)}"
    if kind in ("minItems",):
        return _field_path(path), f"expected at least {error.validator_value} item(s), got none"
    expected = described or error.message
    return _field_path(path), f"expected {expected}; got {_short(error.instance)}"


def _validate(document: Any, definition: str, path: Path) -> None:
    errors = sorted(
        _validator(definition).iter_errors(document),
        key=lambda e: (len(list(e.absolute_path)), [str(p) for p in e.absolute_path]),
    )
    if not errors:
        return
    field, message = _explain(errors[0])
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem(s) in this file)"
    raise CatalogueError(path, message, field=field)


# --------------------------------------------------------------------------- reading


def _normalise_scalars(value: Any) -> Any:
    """YAML turns unquoted dates into date objects; the schema expects ISO text."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _normalise_scalars(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise_scalars(v) for v in value]
    return value


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(path, f"cannot read file: {exc.strerror or exc}") from exc
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise CatalogueError(path, f"not valid YAML: {problem}", line=line) from exc
    if document is None:
        raise CatalogueError(path, "the file is empty; expected a YAML mapping")
    return _normalise_scalars(document)


def _parse_date(value: str, path: Path, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CatalogueError(
            path, f"expected a real calendar date (YYYY-MM-DD), got {value!r}", field=field
        ) from None


def _load_areas(path: Path) -> list[ClinicalArea]:
    if not path.is_file():
        raise CatalogueError(path, "areas file not found; expected areas.yaml in the catalogue folder")
    document = _read_yaml(path)
    _validate(document, "areas_file", path)
    if "reviewed" in document:
        _parse_date(document["reviewed"], path, "reviewed")
    areas: list[ClinicalArea] = []
    seen: set[str] = set()
    for index, item in enumerate(document["areas"]):
        if item["id"] in seen:
            raise CatalogueError(
                path, f"duplicate area id {item['id']!r}; expected each id once", field=f"areas[{index}].id"
            )
        seen.add(item["id"])
        areas.append(
            ClinicalArea(
                id=item["id"],
                name=item["name"],
                description=item["description"].strip(),
                nic_priority=item["nic_priority"],
                source=item["source"].strip(),
            )
        )
    return areas


def _build_product(item: dict[str, Any], path: Path, index: int) -> Product:
    chemical = item["bnf_chemical"]
    presentations = []
    for p_index, raw in enumerate(item["presentations"]):
        field = f"products[{index}].presentations[{p_index}].bnf_code"
        if chemical is None:
            raise CatalogueError(
                path,
                "a presentation is listed but bnf_chemical is null; expected the 9-character "
                "chemical code the presentation codes start with",
                field=field,
            )
        if not raw["bnf_code"].startswith(chemical):
            raise CatalogueError(
                path,
                f"expected a code starting with the product's bnf_chemical {chemical!r}, "
                f"got {raw['bnf_code']!r}",
                field=field,
            )
        presentations.append(
            Presentation(
                bnf_code=raw["bnf_code"],
                name=raw["name"],
                strength=raw["strength"],
                strength_unit=raw["strength_unit"],
                units_per_day=raw["units_per_day"],
                verified=raw.get("verified", False),
            )
        )
    ddd = item["ddd"]
    return Product(
        name=item["name"],
        bnf_chemical=chemical,
        presentations=tuple(presentations),
        dmd_vmps=tuple(item["dmd_vmps"]),
        setting=item["setting"],
        vmp_units_per_day=item.get("vmp_units_per_day"),
        ddd=DailyDose(value=ddd["value"], unit=ddd["unit"], basis=ddd["basis"], source=ddd["source"].strip()),
        atc=item.get("atc"),
        notes=(item.get("notes") or "").strip(),
    )


def _load_ta(path: Path, area_ids: set[str]) -> TechnologyAppraisal:
    document = _read_yaml(path)
    _validate(document, "technology_appraisal", path)
    ta_id = document["id"]
    if path.stem != ta_id:
        raise CatalogueError(
            path, f"expected the id to match the file name {path.stem!r}, got {ta_id!r}", field="id"
        )
    number = int(ta_id[2:])
    expected_url = f"https://www.nice.org.uk/guidance/ta{number}"
    if document["url"] != expected_url:
        raise CatalogueError(path, f"expected {expected_url!r}, got {document['url']!r}", field="url")
    if document["clinical_area"] not in area_ids:
        known = ", ".join(sorted(area_ids))
        raise CatalogueError(
            path,
            f"unknown clinical area {document['clinical_area']!r}; expected one of: {known}",
            field="clinical_area",
        )
    published = _parse_date(document["published"], path, "published")
    reviewed = _parse_date(document["reviewed"], path, "reviewed")
    pop = document["eligible_population"]
    if pop["age_min"] is not None and pop["age_max"] is not None and pop["age_min"] > pop["age_max"]:
        raise CatalogueError(
            path,
            f"expected age_max >= age_min ({pop['age_min']}), got {pop['age_max']}",
            field="eligible_population.age_max",
        )
    products = tuple(_build_product(item, path, i) for i, item in enumerate(document["products"]))
    uptake = document["expected_uptake"]
    return TechnologyAppraisal(
        id=ta_id,
        title=" ".join(document["title"].split()),
        published=published,
        url=document["url"],
        recommendation=document["recommendation"],
        funding_deadline_days=document["funding_deadline_days"],
        commissioner=document["commissioner"],
        clinical_area=document["clinical_area"],
        summary=" ".join(document["summary"].split()),
        products=products,
        eligible_population=EligiblePopulation(
            register=pop["register"],
            age_min=pop["age_min"],
            age_max=pop["age_max"],
            sex=pop["sex"],
            fraction=pop["fraction"],
            source=pop["source"].strip(),
            verified=pop["verified"],
        ),
        expected_uptake=ExpectedUptake(
            share=uptake["share"], source=uptake["source"].strip(), verified=uptake["verified"]
        ),
        verified=document["verified"],
        sources=tuple(s.strip() for s in document["sources"]),
        reviewed=reviewed,
        notes=(document["notes"] or "").strip(),
        status=document.get("status", "current"),
        replaced_by=tuple(document.get("replaced_by", [])),
    )


# --------------------------------------------------------------------------- catalogue

_KEY = re.compile(r"^(?:TA)?0*([1-9][0-9]*)$")


def _normalise_ta_key(key: object) -> str | None:
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        return f"TA{key}" if key > 0 else None
    text = re.sub(r"[\s_-]", "", str(key)).upper()
    match = _KEY.match(text)
    return f"TA{match.group(1)}" if match else None


class Catalogue:
    """The loaded catalogue: areas and technology appraisals, with look-ups."""

    def __init__(self, root: Path, areas: list[ClinicalArea], tas: list[TechnologyAppraisal],
                 origins: dict[str, str] | None = None) -> None:
        self.root = root
        self._areas = tuple(areas)
        self._tas = tuple(sorted(tas, key=lambda t: t.number))
        self._by_id = {t.id: t for t in self._tas}
        self._areas_by_id = {a.id: a for a in self._areas}
        self._origins = origins or {}

    def origin(self, key: str) -> str:
        """Where a TA or an area came from: "built-in", or the file of a user's catalogue."""
        return self._origins.get(key, "built-in")

    @property
    def technology_appraisals(self) -> list[TechnologyAppraisal]:
        """All TAs, sorted by TA number (a new list each time)."""
        return list(self._tas)

    @property
    def areas(self) -> list[ClinicalArea]:
        """All clinical areas, in the order of areas.yaml."""
        return list(self._areas)

    def __len__(self) -> int:
        return len(self._tas)

    def __iter__(self) -> Iterator[TechnologyAppraisal]:
        return iter(self._tas)

    def __contains__(self, key: object) -> bool:
        return _normalise_ta_key(key) in self._by_id

    def ta(self, key: str | int) -> TechnologyAppraisal:
        """A TA by id: "TA275", "ta275", "275" or 275. Raises UnknownEntry with close matches."""
        ta_id = _normalise_ta_key(key)
        if ta_id is not None and ta_id in self._by_id:
            return self._by_id[ta_id]
        raise UnknownEntry(self.root, self._unknown_ta_message(key, ta_id), key=key)

    def _unknown_ta_message(self, key: object, ta_id: str | None) -> str:
        ids = [t.id for t in self._tas]
        suggestions: list[str] = []
        if ta_id is not None:
            suggestions = difflib.get_close_matches(ta_id, ids, n=3, cutoff=0.6)
        else:
            word = str(key).strip().lower()
            if word:
                for t in self._tas:
                    names = [p.name.lower() for p in t.products]
                    if word in t.title.lower() or any(word in n for n in names):
                        suggestions.append(f"{t.id} ({t.title})")
                suggestions = suggestions[:5]
        if ta_id is None:
            head = f"{str(key)!r} is not a TA identifier (expected e.g. 'TA275', 'ta275' or '275')"
        else:
            head = f"no technology appraisal {ta_id} in the catalogue"
        tail = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        span = f" ({len(ids)} entries, {ids[0]} to {ids[-1]})" if ids else " (the catalogue is empty)"
        return head + tail + span

    def area(self, key: str) -> ClinicalArea:
        """A clinical area by id (e.g. "stroke"). Raises UnknownEntry with close matches."""
        norm = str(key).strip().lower().replace(" ", "_").replace("-", "_")
        if norm in self._areas_by_id:
            return self._areas_by_id[norm]
        ids = list(self._areas_by_id)
        close = difflib.get_close_matches(norm, ids, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UnknownEntry(
            self.root, f"no clinical area {str(key)!r}{hint} (known: {', '.join(ids)})", key=key
        )

    def by_area(self) -> dict[str, list[TechnologyAppraisal]]:
        """TAs grouped by clinical area id, every area present (possibly empty), TAs by number."""
        groups: dict[str, list[TechnologyAppraisal]] = {a.id: [] for a in self._areas}
        for t in self._tas:
            groups[t.clinical_area].append(t)
        return groups

    def __repr__(self) -> str:
        return f"Catalogue({str(self.root)!r}, {len(self._tas)} TAs, {len(self._areas)} areas)"


def _load_tas(ta_dir: Path, area_ids: set[str]) -> dict[str, tuple[TechnologyAppraisal, Path]]:
    """Every TAnnn.yaml in `ta_dir`, validated, by id, with the file each came from."""
    found: dict[str, tuple[TechnologyAppraisal, Path]] = {}
    for path in sorted(p for p in ta_dir.iterdir() if p.is_file() and p.suffix.lower() in _TA_SUFFIXES):
        ta = _load_ta(path, area_ids)
        if ta.id in found:
            raise CatalogueError(
                path,
                f"duplicate id {ta.id!r}, already defined in {found[ta.id][1]}; expected one file per TA",
                field="id",
            )
        found[ta.id] = (ta, path)
    return found


def _load(root: Path) -> Catalogue:
    if not root.is_dir():
        raise CatalogueError(root, "catalogue folder not found; expected a folder with areas.yaml and technology_appraisals/")
    areas = _load_areas(root / AREAS_FILE)
    ta_dir = root / TA_DIR
    if not ta_dir.is_dir():
        raise CatalogueError(ta_dir, "folder not found; expected one TAnnn.yaml file per appraisal here")
    tas = _load_tas(ta_dir, {a.id for a in areas})
    return Catalogue(root, areas, [ta for ta, _ in tas.values()])


def _load_with_user(root: Path, user: Path) -> Catalogue:
    """The catalogue at `root` merged with a user's folder (`user.py`): its areas and TAs are
    validated as the built-in ones, and replace built-in entries of the same id."""
    from .user import merge

    base = _load_cached(str(root), None)
    own_areas = {}
    if (user / AREAS_FILE).exists():
        own_areas = {a.id: (a, user / AREAS_FILE) for a in _load_areas(user / AREAS_FILE)}
    areas, area_origins = merge({a.id: a for a in base.areas}, own_areas)
    own_tas = _load_tas(user / TA_DIR, set(areas)) if (user / TA_DIR).is_dir() else {}
    tas, ta_origins = merge({t.id: t for t in base}, own_tas)
    return Catalogue(root, list(areas.values()), list(tas.values()), area_origins | ta_origins)


@functools.lru_cache(maxsize=16)
def _load_cached(resolved: str, user: str | None = None) -> Catalogue:
    return _load(Path(resolved)) if user is None else _load_with_user(Path(resolved), Path(user))


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Load (and cache) the catalogue from ``path`` (default: the package's own data folder,
    merged with the user's own folder named by ``$UPTAKE_CATALOGUE``, see `user.py`).

    Every file is validated against ``schema.json``; a bad file raises CatalogueError naming
    the file, the field path and what was expected. Results are cached per resolved folder.
    """
    if path is not None:
        return _load_cached(str(Path(path).resolve()), None)
    from .user import user_dir

    user = user_dir()
    return _load_cached(str(DATA_DIR.resolve()), None if user is None else str(user))


load_catalogue.cache_clear = _load_cached.cache_clear  # type: ignore[attr-defined]
