"""A local stand-in for the publishers: an HTTP server on 127.0.0.1 (a random port, in a thread)
that serves the recorded CKAN answers and NHS England pages in tests/sources/fetch/recorded/,
with the publishers' hosts rewritten to its own address as a mirror would, and real files from
../shared/data. Routes can fail on purpose: answer 503s, stall past the client's timeout, drop
the connection part-way through a body, serve a truncated or corrupted file, or ignore Range.

Every request is logged (method, path, the headers that matter, status, bytes sent), so that
tests assert what the client really asked for.
"""

from __future__ import annotations

import email.utils
import functools
import gzip
import hashlib
import io
import json
import threading
import time
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from uptake.sources import base
from uptake.sources.fetch import FetchSettings, Http
from uptake.warehouse import Warehouse

base._load_readers()

RECORDED = Path(__file__).parent / "recorded"
# The publishers' hosts in the recorded answers, and where the test server serves them.
HOSTS = {
    "https://opendata.nhsbsa.net": "/nhsbsa",
    "https://files.digital.nhs.uk": "/nhsefiles",
    "https://digital.nhs.uk": "/nhse",
    "https://www.odsdatasearchandexport.nhs.uk": "/ods",
}


@dataclass
class Route:
    body: bytes | None = None
    file: Path | None = None
    content_type: str = "application/octet-stream"
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    ranges: bool = True  # honour Range requests
    # What to do with the next requests, one action each, in turn; then answer normally:
    # ("fail", 503): answer that status; ("stall", 1.5): wait that long, then answer;
    # ("drop", 100_000): send the headers and that many bytes of the body, then close the connection;
    # ("hang", 100_000): send that many bytes of the body, then send nothing more (until the test ends).
    script: list[tuple[str, float]] = field(default_factory=list)
    retry_after: str | None = None  # sent with failures

    def data(self) -> bytes:
        return self.body if self.body is not None else self.file.read_bytes()  # type: ignore[union-attr]


class Site:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.log: list[dict] = []
        self.base = ""
        self.lock = threading.Lock()
        self.stopping = threading.Event()  # set when the test ends: a hanging answer gives up

    # --- routes -------------------------------------------------------------------------------

    def add(self, path: str, route: Route) -> Route:
        self.routes[path] = route
        return route

    def file(self, path: str, source: Path | bytes, **kw) -> Route:
        data = source if isinstance(source, bytes) else None
        kw.setdefault("etag", '"' + hashlib.md5(data if data is not None else Path(source).read_bytes()).hexdigest() + '"')
        kw.setdefault("last_modified", email.utils.formatdate(1_700_000_000, usegmt=True))
        return self.add(path, Route(body=data, file=None if data is not None else Path(source), **kw))

    def json(self, path: str, data: dict, status: int = 200) -> Route:
        return self.add(path, Route(body=self.rewrite(json.dumps(data, indent=1)).encode(),
                                    content_type="application/json;charset=utf-8", status=status))

    def page(self, path: str, name: str) -> Route:
        text = (RECORDED / name).read_text(encoding="utf-8")
        return self.add(path, Route(body=self.rewrite(text).encode(), content_type="text/html; charset=utf-8"))

    def rewrite(self, text: str) -> str:
        for host, prefix in HOSTS.items():
            text = text.replace(host, self.base + prefix)
        return text

    def url(self, path: str) -> str:
        return self.base + path

    # --- what was asked ------------------------------------------------------------------------

    def requests(self, path: str | None = None) -> list[dict]:
        with self.lock:
            return [r for r in self.log if path is None or r["path"] == path]

    def clear(self) -> None:
        with self.lock:
            self.log.clear()


class Handler(BaseHTTPRequestHandler):
    site: Site

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        site = self.site
        entry = {"method": "GET", "path": self.path, "time": time.monotonic(),
                 **{h: self.headers.get(h) for h in ("Range", "If-Range", "If-None-Match", "If-Modified-Since",
                                                      "User-Agent")}}
        with site.lock:
            site.log.append(entry)  # logged on arrival; its status is filled in when answered
        route = site.routes.get(self.path)
        if route is None:
            entry.update(status=404, sent=0)
            self._plain(404, b"not found")
            return
        with site.lock:
            action, value = route.script.pop(0) if route.script else ("ok", 0)
        fail = int(value) if action == "fail" else None
        drop = int(value) if action in ("drop", "hang") else None
        if action == "stall":
            time.sleep(value)
        if fail is not None:
            entry.update(status=fail, sent=0)
            extra = {"Retry-After": route.retry_after} if route.retry_after else {}
            self._plain(fail, b"Service Unavailable", extra)
            return
        validators_match = (
            (self.headers.get("If-None-Match") and self.headers.get("If-None-Match") == route.etag)
            or (self.headers.get("If-Modified-Since") and route.last_modified
                and self.headers.get("If-Modified-Since") == route.last_modified and not self.headers.get("If-None-Match"))
        )
        if validators_match and route.status == 200:
            entry.update(status=304, sent=0)
            self.send_response(304)
            self.end_headers()
            return
        data = route.data()
        start = 0
        status = route.status
        rng = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if rng and route.ranges and status == 200 and (not if_range or if_range in (route.etag, route.last_modified)):
            first = int(rng.split("=", 1)[1].split("-", 1)[0])
            if first >= len(data):
                entry.update(status=416, sent=0)
                self._plain(416, b"", {"Content-Range": f"bytes */{len(data)}"})
                return
            start, status = first, 206
        body = data[start:]
        self.send_response(status)
        self.send_header("Content-Type", route.content_type)
        self.send_header("Content-Length", str(len(body)))
        if route.etag:
            self.send_header("ETag", route.etag)
        if route.last_modified:
            self.send_header("Last-Modified", route.last_modified)
        if route.ranges:
            self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        sent = body if drop is None else body[:drop]
        entry.update(status=status, sent=len(sent), dropped=drop is not None)  # before the client can see it
        try:
            self.wfile.write(sent)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        if action == "hang":
            site.stopping.wait(30)
        if drop is not None:
            self.close_connection = True

    def _plain(self, status: int, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def site():
    """A fresh local publisher site: add routes, point the settings at `site.base`."""
    s = Site()
    handler = type("BoundHandler", (Handler,), {"site": s})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    s.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield s
    finally:
        s.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def settings_for(site: Site, **kw) -> FetchSettings:
    values = dict(nhsbsa_url=site.url("/nhsbsa"), nhse_url=site.url("/nhse"), ods_url=site.url("/ods"),
                  attempts=3, backoff=0.0, interval=0.0, timeout=5.0)
    values.update(kw)
    return FetchSettings(**values)


@pytest.fixture
def settings(site) -> FetchSettings:
    return settings_for(site)


@pytest.fixture
def http(settings) -> Http:
    return Http(settings)


@pytest.fixture
def home(tmp_path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def warehouse(home) -> Warehouse:
    return Warehouse(home / "warehouse")


def recorded(name: str) -> dict:
    """A recorded answer (CKAN JSON), as a dict a test may change before serving it."""
    return json.loads((RECORDED / name).read_text(encoding="utf-8"))


def data_rows(path: Path) -> int:
    """Lines after the header of a (gzip or plain) CSV file."""
    opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        return sum(1 for _ in f) - 1


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FakeClock:
    """A clock that only moves when slept on: tests see every wait the client asks for, and wait for none."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


# Helpers as fixtures (test modules cannot import conftest under --import-mode=importlib).


@pytest.fixture
def make_settings(site):
    """make_settings(**overrides) → FetchSettings pointing at the local site."""
    return lambda **kw: settings_for(site, **kw)


@pytest.fixture
def recorded_json():
    return recorded


@pytest.fixture
def rows_in():
    return data_rows


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


# --- the three publishers, served from recorded answers and real files ----------------------------

EPD_JSON = "nhsbsa_package_show_english-prescribing-data-epd.json"
SCMD_JSON = "nhsbsa_package_show_secondary-care-medicines-data-indicative-price.json"
EPD_API = "/nhsbsa/api/3/action/package_show?id=english-prescribing-data-epd"
SCMD_API = "/nhsbsa/api/3/action/package_show?id=secondary-care-medicines-data-indicative-price"
LIST_SERIES = "/nhse/data-and-information/publications/statistical/patients-registered-at-a-gp-practice"
QOF_SERIES = ("/nhse/data-and-information/publications/statistical/"
              "quality-and-outcomes-framework-achievement-prevalence-and-exceptions-data")
ODS_REPORT = "/ods/api/getReport?report=epraccur"


@dataclass
class Publishers:
    """The local site set up as the three publishers, and the real files it serves."""

    EPD_API = EPD_API
    SCMD_API = SCMD_API
    LIST_SERIES = LIST_SERIES
    QOF_SERIES = QOF_SERIES
    ODS_REPORT = ODS_REPORT

    site: Site
    epd: dict  # period → source file
    epd_paths: dict  # period → URL path
    epd_json: dict
    scmd: dict  # name → bytes served
    list_sizes: Path
    qof_member: bytes
    epraccur: Path

    def serve_epd_json(self) -> None:
        self.site.json(EPD_API, self.epd_json)


def _path(site, url: str) -> str:
    return urlsplit(site.rewrite(url)).path


@functools.lru_cache(maxsize=None)
def _scmd_month(source: Path, month: str) -> bytes:
    """The rows of one month of a real SCMD extract, as NHSBSA publishes one file per month."""
    with gzip.open(source, "rt", encoding="utf-8", newline="") as f:
        header, *lines = f.read().splitlines()
    return ("\n".join([header, *(line for line in lines if line.startswith(month))]) + "\n").encode()


@functools.lru_cache(maxsize=None)
def _qof_zip(source: Path) -> tuple[bytes, bytes]:
    """A raw-data ZIP holding one real QOF register file (a stand-in for NHS England's ZIP)."""
    member = gzip.decompress(source.read_bytes())
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("qofGP_1819_CardioVascular.csv", member)
        z.writestr("README.txt", "QOF 2018-19 raw data (test stand-in: one reshaped register file)\n")
    return member, archive.getvalue()


@pytest.fixture
def nhs(site, shared_data) -> Publishers:
    """The local site as NHSBSA, NHS England and ODS, serving real files from ../shared/data."""
    epd_json = recorded(EPD_JSON)
    site.json(EPD_API, epd_json)
    epd = {"2017-09": shared_data / "epd" / "openprescribing_e2e_EPD_201709_4practices.csv.gz",
           "2017-10": shared_data / "epd" / "openprescribing_e2e_EPD_201710_4practices.csv.gz"}
    epd_paths = {}
    for r in epd_json["result"]["resources"]:
        if r["name"].startswith("EPD_"):
            period = f"{r['name'][4:8]}-{r['name'][8:10]}"
            epd_paths[period] = _path(site, r["url"])
            site.file(epd_paths[period], epd[period])
    scmd_json = recorded(SCMD_JSON)
    site.json(SCMD_API, scmd_json)
    scmd_source = shared_data / "scmd" / "scmd_narcolepsy_meds_trust_monthly_2019_2021.csv.gz"
    scmd = {}
    for r in scmd_json["result"]["resources"]:
        if r["name"] == "SCMD_WIP_201902":
            continue  # superseded by the provisional file: never to be asked for (404 if it is)
        month = f"{r['name'][-6:-2]}-{r['name'][-2:]}"
        scmd[r["name"]] = _scmd_month(scmd_source, month)
        site.file(_path(site, r["url"]), scmd[r["name"]])
    site.page(LIST_SERIES, "nhse_list_sizes_series.html")
    site.page(LIST_SERIES + "/january-2016", "nhse_list_sizes_january-2016.html")
    list_sizes = shared_data / "list_sizes" / "Patient_List_Size_2016_01-03_age_sex.csv.gz"
    site.file("/nhsefiles/publicationimport/pub19xxx/pub19775/Patient_List_Size_2016_01-03_age_sex.csv.gz", list_sizes)
    site.page(QOF_SERIES, "nhse_qof_series.html")
    site.page(QOF_SERIES + "/2018-19", "nhse_qof_2018-19.html")
    member, archive = _qof_zip(shared_data / "qof" / "qofGP_1819_CardioVascular.csv.gz")
    site.file("/nhsefiles/A8/491BAC/QOF_1819_v2.zip", archive)
    epraccur = shared_data / "ods" / "epraccur_2026-02.csv.gz"
    site.file(ODS_REPORT, epraccur)
    return Publishers(site, epd, epd_paths, epd_json, scmd, list_sizes, member, epraccur)
