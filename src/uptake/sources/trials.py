"""Readers for clinical-trial registry records: ClinicalTrials.gov API v2 (a `/studies` page with
`studies` and `nextPageToken`, a single study, and the website's JSON download, an array of
studies), ISRCTN records (the registry's XML as JSON, as ctrdata stores them), and a flat CSV
derived from the API v2.

Each yields two datasets: `trials` (one row per trial: registry, id, title, phase, status,
sponsor, conditions, dates, the registry link, whether it lists a UK site) and `trial_sites`
(one row per site: facility, city, postcode, country, and coordinates where the registry gives
them). A file is refused whole, with one line naming the file, the line, the field and what was
expected; nothing of it is loaded.

A record fetched by `uptake fetch trials` carries the time it was fetched; every other file is a
recorded sample (its `fetched` is empty), and the public pages say so.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from dataclasses import replace
from datetime import date
from pathlib import Path

from ..errors import InputError
from .base import FORMATS, Header, register
from .reference import need_code, parse_count, read_small, rows_to_table

UK = "United Kingdom"
CTGOV = "ClinicalTrials.gov"
ISRCTN = "ISRCTN"
NCT_RE = re.compile(r"NCT\d{8}")
ISRCTN_RE = re.compile(r"\d{8}")
SNIFF = 1 << 16  # bytes looked at to tell the JSON formats apart


class FieldError(InputError):
    """Bad input in a JSON record: names the field by its path (studies[3].protocolSection...)."""

    place = "field"


# --- detection ------------------------------------------------------------------------------


def _head(header: Header) -> str:
    try:
        with (gzip.open(header.path, "rb") if header.gzipped else open(header.path, "rb")) as f:
            return f.read(SNIFF).decode("utf-8", "replace")
    except (OSError, EOFError, zlib.error):
        return ""


def _is_json(header: Header) -> bool:
    return bool(header.fields) and header.fields[0].lstrip().startswith(("{", "["))


def _is_ctgov_json(header: Header) -> bool:
    return _is_json(header) and '"protocolSection"' in _head(header)


def _is_isrctn_json(header: Header) -> bool:
    head = _head(header)
    return _is_json(header) and '"isrctn"' in head and '"trialDescription"' in head


def _is_ctgov_csv(header: Header) -> bool:
    return header.has("nct_id", "title", "phase", "countries", "lead_sponsor")


# --- reading JSON ---------------------------------------------------------------------------


def _load_json(header: Header):
    path = header.path
    try:
        with (gzip.open(path, "rb") if header.gzipped else open(path, "rb")) as f:
            raw = f.read()
    except (EOFError, zlib.error, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise InputError(path, "the compressed file ends early (truncated gzip); expected a complete file") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"byte 0x{raw[exc.start]:02x} is not UTF-8 text; expected UTF-8 JSON",
                         line=raw.count(b"\n", 0, exc.start) + 1) from None
    try:
        return json.loads(text), text
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON ({exc.msg}); expected a complete JSON document "
                         "(a truncated download?)", line=exc.lineno, column=str(exc.colno)) from None


def _line_of(text: str, marker: str, n: int) -> int | None:
    """The line on which the n-th (0-based) occurrence of `marker` starts: where record n begins."""
    pos = -1
    for _ in range(n + 1):
        pos = text.find(marker, pos + 1)
        if pos < 0:
            return None
    return text.count("\n", 0, pos) + 1


class _Record:
    """One record of a JSON file: typed access to its fields, errors naming the field's path."""

    def __init__(self, path: Path, data, where: str, line: int | None):
        self.path, self.data, self.where, self.line = path, data, where, line

    def fail(self, field: str, message: str) -> FieldError:
        return FieldError(self.path, message, line=self.line, column=f"{self.where}.{field}" if field else self.where)

    def get(self, dotted: str, kind: type | tuple = (str,), required: bool = False, what: str = "text"):
        value = self.data
        for part in dotted.split("."):
            if not isinstance(value, dict):
                raise self.fail(dotted, f"expected an object at {part!r}, found {type(value).__name__}")
            value = value.get(part)
            if value is None:
                if required:
                    raise self.fail(dotted, f"missing; expected {what}")
                return None
        if not isinstance(value, kind):
            raise self.fail(dotted, f"{json.dumps(value)[:40]} is a {type(value).__name__}; expected {what}")
        return value

    def text(self, dotted: str, required: bool = False, what: str = "text") -> str | None:
        value = self.get(dotted, (str,), required, what)
        value = value.strip() if value is not None else None
        if required and not value:
            raise self.fail(dotted, f"blank; expected {what}")
        return value or None

    def strings(self, dotted: str) -> list[str]:
        value = self.get(dotted, (list, str), what="a list of text")
        if value is None:
            return []
        items = [value] if isinstance(value, str) else value
        if not all(isinstance(v, str) for v in items):
            raise self.fail(dotted, "expected a list of text")
        return [v.strip() for v in items if v.strip()]

    def objects(self, dotted: str) -> list[dict]:
        """A list of objects; a single object (as XML turned into JSON writes one) is a list of one."""
        value = self.get(dotted, (list, dict), what="a list of objects")
        if value is None:
            return []
        items = [value] if isinstance(value, dict) else value
        if not all(isinstance(v, dict) for v in items):
            raise self.fail(dotted, "expected a list of objects")
        return items

    def day(self, dotted: str) -> date | None:
        """A registry date: YYYY-MM (the first of the month), YYYY-MM-DD, or an ISO timestamp."""
        value = self.text(dotted, what="a date")
        if value is None:
            return None
        m = re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?(?:T[\d:.]+Z?)?", value)
        try:
            if m:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1))
        except ValueError:
            pass
        raise self.fail(dotted, f"{value!r} is not a date; expected YYYY-MM or YYYY-MM-DD")


def _number(rec: _Record, dotted: str) -> float | None:
    value = rec.get(dotted, (int, float), what="a number")
    return None if value is None else float(value)


_PHASES = {"EARLY_PHASE1": "Early phase 1", "PHASE1": "Phase 1", "PHASE2": "Phase 2", "PHASE3": "Phase 3",
           "PHASE4": "Phase 4"}
_ROMAN = {"I": "1", "II": "2", "III": "3", "IV": "4"}


def phase_text(phases: list[str]) -> str | None:
    """'Phase 2/3' from ClinicalTrials.gov's ["PHASE2", "PHASE3"] or ISRCTN's 'Phase II/III';
    None for 'NA' or 'Not Applicable' (trials of devices or behaviour have no phase)."""
    numbers: list[str] = []
    early = False
    for p in phases:
        p = p.strip()
        if p.upper() in _PHASES:
            early |= p.upper() == "EARLY_PHASE1"
            numbers.append(_PHASES[p.upper()].split()[-1])
            continue
        m = re.fullmatch(r"(?i)phase\s+([IV]+|\d)(?:\s*/\s*(?:phase\s+)?([IV]+|\d))?", p)
        if m:
            numbers += [_ROMAN.get(g.upper(), g) for g in m.groups() if g]
    if not numbers:
        return None
    return ("Early phase " if early else "Phase ") + "/".join(dict.fromkeys(numbers))


# --- ClinicalTrials.gov API v2 --------------------------------------------------------------


def _ctgov_studies(header: Header) -> tuple[list[tuple[_Record, int]], str | None]:
    data, text = _load_json(header)
    fetched = None
    if isinstance(data, list):  # the website's download: an array of studies
        studies, where = data, "[{i}]"
    elif isinstance(data, dict) and "studies" in data:  # an API /studies page
        studies, where = data["studies"], "studies[{i}]"
        if not isinstance(studies, list):
            raise FieldError(header.path, "expected a list of studies", line=_line_of(text, '"studies"', 0),
                             column="studies")
        fetched = data.get("fetched") if isinstance(data.get("fetched"), str) else None
    elif isinstance(data, dict) and "protocolSection" in data:  # one study
        studies, where = [data], ""
    else:
        raise InputError(header.path, "a JSON document without 'studies' or 'protocolSection'; expected a "
                         "ClinicalTrials.gov API v2 answer", line=1)
    records = []
    for i, study in enumerate(studies):
        line = _line_of(text, '"protocolSection"', i)
        label = where.format(i=i)
        if not isinstance(study, dict):
            raise FieldError(header.path, f"a {type(study).__name__}; expected a study object", line=line,
                             column=label or "study")
        records.append((_Record(header.path, study, (label + ".protocolSection").lstrip("."), line), i))
    if not records:
        raise InputError(header.path, "no studies; expected at least one", line=1)
    return records, fetched


def _ctgov_rows(header: Header) -> tuple[list[dict], list[dict]]:
    records, fetched = _ctgov_studies(header)
    source = header.path.name
    trials, sites = [], []
    for study, _ in records:
        rec = _Record(study.path, study.data.get("protocolSection"), study.where, study.line)
        if not isinstance(rec.data, dict):
            raise study.fail("", "missing; expected the study's protocolSection object")
        nct = rec.text("identificationModule.nctId", required=True, what="an NCT number")
        if not NCT_RE.fullmatch(nct):
            raise rec.fail("identificationModule.nctId", f"{nct!r}; expected NCT and 8 digits")
        title = rec.text("identificationModule.briefTitle", required=True, what="the trial's title")
        countries = set()
        for j, loc in enumerate(rec.objects("contactsLocationsModule.locations")):
            site = _Record(rec.path, loc, f"{rec.where}.contactsLocationsModule.locations[{j}]", rec.line)
            country = site.text("country")
            countries.add(country)
            sites.append({
                "source": source, "registry": CTGOV, "trial_id": nct, "facility": site.text("facility"),
                "city": site.text("city"), "postcode": site.text("zip"), "country": country,
                "status": site.text("status"), "lat": _number(site, "geoPoint.lat"),
                "lon": _number(site, "geoPoint.lon"),
            })
        trials.append({
            "source": source, "registry": CTGOV, "trial_id": nct, "title": title,
            "phase": phase_text(rec.strings("designModule.phases")),
            "status": rec.text("statusModule.overallStatus"),
            "sponsor": rec.text("sponsorCollaboratorsModule.leadSponsor.name"),
            "conditions": rec.strings("conditionsModule.conditions"),
            "keywords": rec.strings("conditionsModule.keywords"),
            "start": rec.day("statusModule.startDateStruct.date"),
            "end": rec.day("statusModule.primaryCompletionDateStruct.date")
            or rec.day("statusModule.completionDateStruct.date"),
            "summary": rec.text("descriptionModule.briefSummary"),
            "url": f"https://clinicaltrials.gov/study/{nct}",
            "uk": UK in countries,
            "fetched": fetched,
        })
    return trials, sites


# --- ISRCTN -----------------------------------------------------------------------------------

# What a trial's recruitment status override says, in the words ClinicalTrials.gov uses.
ISRCTN_OVERRIDES = {"stopped": "TERMINATED", "suspended": "SUSPENDED", "withdrawn": "WITHDRAWN",
                    "anticipated": "NOT_YET_RECRUITING", "recruiting": "RECRUITING",
                    "not yet recruiting": "NOT_YET_RECRUITING", "completed": "COMPLETED"}


def _isrctn_rows(header: Header) -> tuple[list[dict], list[dict]]:
    data, text = _load_json(header)
    items = data if isinstance(data, list) else [data]
    source = header.path.name
    trials, sites = [], []
    for i, item in enumerate(items):
        line = _line_of(text, '"trialDescription"', i)
        label = f"[{i}]" if isinstance(data, list) else "record"
        if not isinstance(item, dict):
            raise FieldError(header.path, f"a {type(item).__name__}; expected an ISRCTN record", line=line,
                             column=label)
        rec = _Record(header.path, item, label, line)
        number = rec.text("isrctn", required=True, what="an ISRCTN number")
        number = number.upper().removeprefix("ISRCTN")
        if not ISRCTN_RE.fullmatch(number):
            raise rec.fail("isrctn", f"{number!r}; expected 8 digits")
        trial_id = f"ISRCTN{number}"
        override = (rec.text("participants.recruitmentStatusOverride") or "").lower()
        if override and override not in ISRCTN_OVERRIDES:
            raise rec.fail("participants.recruitmentStatusOverride",
                           f"{override!r}; expected one of {', '.join(sorted(ISRCTN_OVERRIDES))} or blank")
        countries = set(rec.strings("participants.recruitmentCountries.country"))
        for j, centre in enumerate(rec.objects("participants.trialCentres.trialCentre")):
            site = _Record(rec.path, centre, f"{label}.participants.trialCentres.trialCentre[{j}]", line)
            country = site.text("country")
            countries.add(country)
            sites.append({
                "source": source, "registry": ISRCTN, "trial_id": trial_id, "facility": site.text("name"),
                "city": site.text("city"), "postcode": site.text("zip"), "country": country, "status": None,
                "lat": None, "lon": None,
            })
        conditions = []
        for c in rec.objects("conditions.condition"):
            cond = _Record(rec.path, c, f"{label}.conditions.condition", line)
            conditions += [v for v in (cond.text("description"), cond.text("diseaseClass2")) if v]
        phases = [p for iv in rec.objects("interventions.intervention")
                  for p in _Record(rec.path, iv, f"{label}.interventions.intervention", line).strings("phase")]
        trials.append({
            "source": source, "registry": ISRCTN, "trial_id": trial_id,
            "title": rec.text("trialDescription.title", required=True, what="the trial's title"),
            "phase": phase_text(phases),
            # ISRCTN gives recruitment dates, not a status: the status is worked out on the day it is
            # shown (see services.trials), unless the registry overrides it.
            "status": ISRCTN_OVERRIDES.get(override),
            "sponsor": None,  # the record names its sponsor only by an id
            "conditions": conditions,
            "keywords": [],
            "start": rec.day("participants.recruitmentStart"),
            "end": rec.day("participants.recruitmentEnd"),
            "summary": rec.text("trialDescription.plainEnglishSummary"),
            "url": f"https://www.isrctn.com/{trial_id}",
            "uk": UK in countries,
            "fetched": None,
        })
    if not trials:
        raise InputError(header.path, "no records; expected at least one ISRCTN record", line=1)
    return trials, sites


# --- the derived CSV --------------------------------------------------------------------------


def _ctgov_csv_rows(header: Header) -> tuple[list[dict], list[dict]]:
    small = read_small(header)
    col = {n: small.index(n) for n in ("nct_id", "title", "phase", "countries", "lead_sponsor", "start_date",
                                        "completion_date", "n_sites")}
    trials = []
    for line, row in small.rows:
        nct = need_code(small.path, line, "nct_id", row[col["nct_id"]], "an NCT number")
        if not NCT_RE.fullmatch(nct):
            raise InputError(small.path, f"{nct!r}; expected NCT and 8 digits", line=line, column="nct_id")
        parse_count(small.path, line, "n_sites", row[col["n_sites"]], what="a number of sites", nulls=("",))
        rec = _Record(small.path, {"start": row[col["start_date"]], "end": row[col["completion_date"]]},
                      "", line)
        trials.append({
            "source": header.path.name, "registry": CTGOV, "trial_id": nct,
            "title": need_code(small.path, line, "title", row[col["title"]], "the trial's title"),
            "phase": phase_text(row[col["phase"]].split("|")), "status": None,
            "sponsor": row[col["lead_sponsor"]].strip() or None, "conditions": [], "keywords": [],
            "start": _csv_day(rec, "start", "start_date"), "end": _csv_day(rec, "end", "completion_date"),
            "summary": None, "url": f"https://clinicaltrials.gov/study/{nct}",
            "uk": UK in row[col["countries"]].split("|"), "fetched": None,
        })
    return trials, []


def _csv_day(rec: _Record, key: str, column: str) -> date | None:
    try:
        return rec.day(key)
    except FieldError as exc:
        raise InputError(rec.path, exc.message, line=rec.line, column=column) from None


# --- registration -----------------------------------------------------------------------------

_cache: dict[tuple, tuple[list[dict], list[dict]]] = {}


def _rows(header: Header, read) -> tuple[list[dict], list[dict]]:
    """Read a file once for both its datasets."""
    st = header.path.stat()
    key = (str(header.path.resolve()), st.st_size, st.st_mtime_ns, read.__name__)
    if key not in _cache:
        _cache.clear()
        _cache[key] = read(header)
    return _cache[key]


def _trials(read):
    return lambda header: rows_to_table("trials", _rows(header, read)[0])


def _sites(read):
    return lambda header: rows_to_table("trial_sites", _rows(header, read)[1])


read_ctgov = register("ctgov_v2_json", "trials", "ClinicalTrials.gov API v2 JSON: a /studies page, one study, "
                      "or the website's JSON download", _is_ctgov_json)(_trials(_ctgov_rows))
read_isrctn = register("isrctn_json", "trials", "ISRCTN registry records as JSON (the API's XML converted, "
                       "as ctrdata stores them)", _is_isrctn_json)(_trials(_isrctn_rows))
read_ctgov_csv = register("ctgov_flat_csv", "trials", "a flat CSV of ClinicalTrials.gov studies (nct_id, title, "
                          "phase, countries, lead_sponsor, ...)", _is_ctgov_csv)(_trials(_ctgov_csv_rows))

EXTRA_DATASETS = {
    "ctgov_v2_json": {"trial_sites": _sites(_ctgov_rows)},
    "isrctn_json": {"trial_sites": _sites(_isrctn_rows)},
    "ctgov_flat_csv": {"trial_sites": _sites(_ctgov_csv_rows)},
}
# Registered from uptake.sources (not base._load_readers, which would make base and this module
# import each other): each format yields its sites as a second dataset.
for _format_id, _extras in EXTRA_DATASETS.items():
    FORMATS[_format_id] = replace(FORMATS[_format_id], extras=dict(_extras))

__all__ = ["phase_text", "read_ctgov", "read_ctgov_csv", "read_isrctn"]
