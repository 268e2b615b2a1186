"""What can be fetched, and where each publisher keeps it.

Five sources, each a published series of files that one of uptake's readers understands:

| source | publisher | index | files | readers (formats) |
|---|---|---|---|---|
| `epd` | NHSBSA | CKAN ``package_show?id=english-prescribing-data-epd`` | resources ``EPD_YYYYMM`` (also ``EPD_SNOMED_YYYYMM``), CSV or ZIP | epd, epd_2017 |
| `scmd` | NHSBSA | CKAN ``package_show?id=secondary-care-medicines-data-indicative-price`` | resources ``SCMD_{FINAL,PROVISIONAL,WIP}_YYYYMM`` (final preferred) | scmd, scmd_reduced |
| `list-sizes` | NHS England | the series page ``/data-and-information/publications/statistical/patients-registered-at-a-gp-practice``, linking one page per month (``.../january-2024``) | on that page, the first link to ``gp-reg-pat-prac-quin-age``, else ``gp-reg-pat-prac-all``, else NHSBSA's ``Patient_List_Size_YYYY_MM-MM`` (CSV, ZIP or gzip) | gp_reg_pat_quin_age, gp_reg_pat_all, list_size_age_sex_nhsbsa |
| `qof` | NHS England | the series page ``/data-and-information/publications/statistical/quality-and-outcomes-framework-achievement-prevalence-and-exceptions-data``, linking one page per year (``.../2023-24``) | on that page, the raw data ZIP (a link whose file name starts ``QOF`` or whose text says raw data), or a ``PREVALENCE_YYZZ.csv`` | qof_nhsd, qof_1819_reshaped |
| `ods` | ODS | ``{ods}/api/getReport?report=epraccur`` | the current epraccur (CSV, or a ZIP holding it) | epraccur |

The NHS England and ODS layouts are those of the live sites as far as published code and
documentation show them; the machine that wrote this could not reach the sites to confirm them
(see docs/fetching.md). A mirror serves the same paths.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from pathlib import PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

from .ckan import Ckan, Resource
from .errors import NotFound, UnexpectedAnswer
from .http import Http
from .settings import FetchSettings

MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december"]
MONTH_NUMBER = {name: i for i, name in enumerate(MONTHS, start=1)} | {name[:3]: i for i, name in enumerate(MONTHS, 1)}
MONTH_NUMBER["sept"] = 9


@dataclass(frozen=True)
class Item:
    """One file a publisher offers (or, for NHS England, the page that links it)."""

    source: str
    period: str  # 'YYYY-MM' (monthly), 'YYYY-YY' (QOF year) or 'current' (ODS)
    name: str  # the publisher's name for it: CKAN resource name, page slug, report
    url: str | None  # the file; None until its page has been read
    page: str | None = None  # the publication page that links the file (NHS England)
    filename: str | None = None  # the local file name
    size: int | None = None
    hash: str | None = None
    modified: str | None = None  # the publisher's last-modified time for it (CKAN)
    kind: str = ""  # e.g. SCMD 'final' / 'provisional' / 'wip'

    @property
    def key(self) -> str:
        return f"{self.source}/{self.period}"

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


@dataclass
class Context:
    settings: FetchSettings
    http: Http

    @property
    def nhsbsa(self) -> Ckan:
        return Ckan(self.http, self.settings.nhsbsa_url, "the NHSBSA Open Data Portal")


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    publisher: str  # 'nhsbsa' | 'nhse' | 'ods'
    dataset: str  # the warehouse dataset its files load into
    formats: tuple[str, ...]  # reader formats accepted for its files
    period: str  # 'month' | 'year' | 'current'
    layouts: dict[str, tuple[str, ...]]  # published column layouts known, for the changed-columns message
    lister: Callable[[Context], list[Item]]
    members: re.Pattern  # names of the files in a ZIP worth looking at
    resolver: Callable[[Context, Item], Item] | None = None  # reads the page of an NHS England item
    headerless: bool = False
    describe: str = ""
    local_names: dict[str, Callable[[Item], str]] = field(default_factory=dict)  # format → local file name

    def local_name(self, item: Item, format_id: str, member: str) -> str:
        rule = self.local_names.get(format_id)
        return rule(item) if rule else PurePosixPath(member).name


# --- NHSBSA (CKAN) ----------------------------------------------------------------------------

DATA_FORMATS = {"CSV", "ZIP", "GZ", "GZIP", "TEXT/CSV", "APPLICATION/ZIP"}
DATA_SUFFIXES = (".csv", ".zip", ".gz", ".txt")


def _url_filename(url: str) -> str:
    return unquote(PurePosixPath(urlsplit(url).path).name)


def _is_data(resource: Resource) -> bool:
    name = _url_filename(resource.url).lower()
    return resource.format.upper() in DATA_FORMATS or name.endswith(DATA_SUFFIXES)


def _ckan_lister(dataset: Callable[[FetchSettings], str], source: str, pattern: re.Pattern,
                 rank: Callable[[re.Match], tuple[int, str]]) -> Callable[[Context], list[Item]]:
    """Resources whose name (or, failing that, URL file name) matches `pattern` with groups
    (year, month) — or (kind, year, month) — one per month, the best ranked."""

    def lister(ctx: Context) -> list[Item]:
        package = ctx.nhsbsa.package(dataset(ctx.settings))
        best: dict[str, tuple[tuple, Item]] = {}
        for r in package.resources:
            if not _is_data(r):
                continue
            m = pattern.fullmatch(r.name.strip()) or pattern.fullmatch(_stem(_url_filename(r.url)))
            if not m:
                continue
            year, month = int(m.group("year")), int(m.group("month"))
            if not (1 <= month <= 12 and 1990 <= year <= 2100):
                continue
            period = f"{year:04d}-{month:02d}"
            kind = (m.groupdict().get("kind") or "").lower()
            item = Item(source, period, r.name or _url_filename(r.url), r.url,
                        filename=_url_filename(r.url) or f"{r.name}.csv", size=r.size, hash=r.hash,
                        modified=r.last_modified, kind=kind)
            score = (rank(m), r.last_modified or "")
            if period not in best or score > best[period][0]:
                best[period] = (score, item)
        return [best[p][1] for p in sorted(best)]

    return lister


def _stem(name: str) -> str:
    for suffix in (".gz", ".zip", ".csv", ".txt"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name


EPD_NAME = re.compile(r"(?i)EPD(?:_SNOMED)?_(?P<year>\d{4})(?P<month>\d{2})")
SCMD_NAME = re.compile(r"(?i)SCMD_(?:(?P<kind>FINAL|PROVISIONAL|WIP)_)?(?P<year>\d{4})(?P<month>\d{2})")
SCMD_RANK = {"final": 3, "": 2, "provisional": 1, "wip": 0}

# --- NHS England (publication pages) ------------------------------------------------------------

LIST_SIZE_SERIES = "/data-and-information/publications/statistical/patients-registered-at-a-gp-practice"
QOF_SERIES = ("/data-and-information/publications/statistical/"
              "quality-and-outcomes-framework-achievement-prevalence-and-exceptions-data")


class _Links(HTMLParser):
    """Every <a href> of a page, with its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag.lower() == "a":
            self._href = dict(attrs).get("href")
            self._text = []

    def handle_data(self, data):
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag.lower() == "a" and self._href is not None:
            self.links.append((self._href, " ".join("".join(self._text).split())))
            self._href = None


def page_links(http: Http, url: str) -> list[tuple[str, str]]:
    """(absolute URL, link text) of every link on the page at `url`."""
    body = http.get_bytes(url)
    parser = _Links()
    parser.feed(body.decode("utf-8", "replace"))
    parser.close()
    return [(urljoin(url, href.strip()), text) for href, text in parser.links if href and href.strip()]


def _series(ctx: Context, path: str, parse: Callable[[str], str | None], source: str) -> list[Item]:
    """The publications a series page links: links to pages under the series path whose last
    segment parses (e.g. 'january-2024' → '2024-01'), one per period."""
    url = ctx.settings.nhse_url + path
    try:
        links = page_links(ctx.http, url)
    except NotFound:
        raise NotFound(f"{url}: NHS England has no such series page (HTTP 404); check UPTAKE_NHSE_URL") from None
    found: dict[str, Item] = {}
    prefix = urlsplit(url).path.rstrip("/") + "/"
    for href, _text in links:
        parts = urlsplit(href)
        if not parts.path.startswith(prefix):
            continue
        slug = parts.path[len(prefix):].strip("/")
        if "/" in slug:
            continue
        period = parse(slug.lower())
        if period and period not in found:
            found[period] = Item(source, period, slug, None, page=href.split("#")[0])
    return [found[p] for p in sorted(found)]


def _month_slug(slug: str) -> str | None:
    m = re.fullmatch(r"([a-z]+)-(\d{4})(?:-[a-z0-9-]*)?", slug)
    if not m or m.group(1) not in MONTH_NUMBER:
        return None
    return f"{int(m.group(2)):04d}-{MONTH_NUMBER[m.group(1)]:02d}"


def _year_slug(slug: str) -> str | None:
    m = re.fullmatch(r"(\d{4})-(\d{2})", slug)
    if not m or (int(m.group(1)) + 1) % 100 != int(m.group(2)):
        return None
    return f"{m.group(1)}-{m.group(2)}"


def _resolver(choices: list[tuple[re.Pattern, str]]) -> Callable[[Context, Item], Item]:
    """Read an item's publication page and take the first link, in the order of `choices`,
    whose file name (or text, for a 'text' choice) matches."""

    def resolve(ctx: Context, item: Item) -> Item:
        if item.url:
            return item
        assert item.page
        links = page_links(ctx.http, item.page)
        for pattern, on in choices:
            for href, text in links:
                name = _url_filename(href)
                subject = text if on == "text" else name
                if pattern.search(subject) and name.lower().endswith(DATA_SUFFIXES):
                    return replace(item, url=href, filename=name)
        wanted = "; ".join(p.pattern for p, _ in choices)
        raise UnexpectedAnswer(f"{item.page}: no link to the {item.source} file on the publication page "
                               f"(looked for file names matching {wanted}); the page's layout may have changed")

    return resolve


LIST_SIZE_FILES = [
    (re.compile(r"(?i)^gp-reg-pat-prac-quin-age.*\.(csv|zip)$"), "name"),
    (re.compile(r"(?i)^gp-reg-pat-prac-all.*\.(csv|zip)$"), "name"),
    (re.compile(r"(?i)^patient_list_size_\d{4}_\d{2}-\d{2}.*\.(csv|zip|csv\.gz)$"), "name"),
]
QOF_FILES = [
    (re.compile(r"(?i)^qof.*\.zip$"), "name"),
    (re.compile(r"(?i)raw data"), "text"),
    (re.compile(r"(?i)^prevalence.*\.(csv|zip)$"), "name"),
]


def _qof_prevalence_name(item: Item) -> str:
    """The PREVALENCE file takes its year from its name (the reader's rule): named for the
    publication's year, whatever the ZIP called it (PREVALENCE.csv in 2017-18)."""
    return f"PREVALENCE_{item.period[2:4]}{item.period[5:7]}.csv"


# --- ODS ----------------------------------------------------------------------------------------


def _ods_lister(ctx: Context) -> list[Item]:
    url = f"{ctx.settings.ods_url}/api/getReport?report=epraccur"
    return [Item("ods", "current", "epraccur", url, filename="epraccur.csv")]


# --- the sources ----------------------------------------------------------------------------------

EPD_ICB = ("YEAR_MONTH", "REGIONAL_OFFICE_NAME", "REGIONAL_OFFICE_CODE", "ICB_NAME", "ICB_CODE", "PCO_NAME",
           "PCO_CODE", "PRACTICE_NAME", "PRACTICE_CODE", "ADDRESS_1", "ADDRESS_2", "ADDRESS_3", "ADDRESS_4",
           "POSTCODE", "BNF_CHEMICAL_SUBSTANCE", "CHEMICAL_SUBSTANCE_BNF_DESCR", "BNF_CODE", "BNF_DESCRIPTION",
           "BNF_CHAPTER_PLUS_CODE", "QUANTITY", "ITEMS", "TOTAL_QUANTITY", "ADQUSAGE", "NIC", "ACTUAL_COST",
           "UNIDENTIFIED")
EPD_2017 = tuple(c.replace("ICB_", "AREA_TEAM_") for c in EPD_ICB)
EPD_SNOMED = EPD_ICB[:17] + ("SNOMED_CODE",) + EPD_ICB[17:]

SOURCES: dict[str, Source] = {
    s.id: s
    for s in [
        Source("epd", "English Prescribing Dataset", "nhsbsa", "prescribing", ("epd", "epd_2017"), "month",
               {"EPD (ICB layout)": EPD_ICB, "EPD (2017 layout)": EPD_2017, "EPD with SNOMED code": EPD_SNOMED},
               _ckan_lister(lambda s: s.epd_dataset, "epd", EPD_NAME, lambda m: (0, "")),
               re.compile(r"(?i).*\.csv$"),
               describe="NHSBSA Open Data Portal (CKAN), one resource per month"),
        Source("scmd", "Secondary Care Medicines Data", "nhsbsa", "scmd", ("scmd", "scmd_reduced"), "month",
               {"SCMD": ("YEAR_MONTH", "ODS_CODE", "VMP_SNOMED_CODE", "VMP_PRODUCT_NAME", "UNIT_OF_MEASURE_IDENTIFIER",
                         "UNIT_OF_MEASURE_NAME", "TOTAL_QUANITY_IN_VMP_UNIT", "INDICATIVE_COST"),
                "SCMD (reduced)": ("year_month", "ods_code", "vmp_snomed_code", "vmp_product_name", "total_quantity")},
               _ckan_lister(lambda s: s.scmd_dataset, "scmd", SCMD_NAME,
                            lambda m: (SCMD_RANK.get((m.group("kind") or "").lower(), 0), "")),
               re.compile(r"(?i).*\.csv$"),
               describe="NHSBSA Open Data Portal (CKAN), one resource per month (final over provisional)"),
        Source("list-sizes", "Patients registered at a GP practice", "nhse", "list_sizes",
               ("gp_reg_pat_quin_age", "gp_reg_pat_all", "list_size_age_sex_nhsbsa"), "month",
               {"gp-reg-pat-prac-quin-age": ("PUBLICATION", "EXTRACT_DATE", "ORG_TYPE", "ORG_CODE", "ONS_CODE",
                                             "POSTCODE", "SEX", "AGE_GROUP_5", "NUMBER_OF_PATIENTS"),
                "gp-reg-pat-prac-all": ("PUBLICATION", "EXTRACT_DATE", "TYPE", "CODE", "POSTCODE", "SEX", "AGE",
                                        "NUMBER_OF_PATIENTS"),
                "NHSBSA list size by age and sex": (
                    "Regional Office Name", "Regional Office Code", "Area Team Name", "Area Team Code", "PCO Name",
                    "PCO Code", "Practice Name", "Practice Code",
                    *(f"{sex} {band}" for band in ("0-4", "5-14", "15-24", "25-34", "35-44", "45-54", "55-64",
                                                   "65-74", "75+") for sex in ("Male", "Female")))},
               lambda ctx: _series(ctx, LIST_SIZE_SERIES, _month_slug, "list-sizes"),
               re.compile(r"(?i)^(gp-reg-pat-prac-(quin-age|all)|patient_list_size).*\.csv$"),
               resolver=_resolver(LIST_SIZE_FILES),
               describe="NHS England monthly publication pages"),
        Source("qof", "Quality and Outcomes Framework registers", "nhse", "qof_registers",
               ("qof_nhsd", "qof_1819_reshaped"), "year",
               {"QOF PREVALENCE": ("PRACTICE_CODE", "GROUP_CODE", "REGISTER", "PATIENT_LIST_TYPE",
                                   "PRACTICE_LIST_SIZE")},
               lambda ctx: _series(ctx, QOF_SERIES, _year_slug, "qof"),
               re.compile(r"(?i)^(prevalence|qofgp_).*\.csv$"),
               resolver=_resolver(QOF_FILES),
               describe="NHS England yearly publication pages (raw data ZIP)",
               local_names={"qof_nhsd": _qof_prevalence_name}),
        Source("ods", "ODS GP practices (epraccur)", "ods", "organisations", ("epraccur",), "current",
               {}, _ods_lister, re.compile(r"(?i).*epraccur.*\.csv$"), headerless=True,
               describe="ODS Data Search and Export report"),
    ]
}


def source(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        from ...errors import UptakeError

        raise UptakeError(f"unknown source {name!r}; expected one of {', '.join(SOURCES)}") from None
