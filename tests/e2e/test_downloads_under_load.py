"""Reports and full downloads on a portal run by `uptake serve` itself (its gunicorn settings, its
report builder, its warm workers), on the tiny publication with the tiny warehouse behind it
(issues 23 items 1-3 and 24 item 1):

- two, then ten, concurrent anonymous report requests — the attack that took the site down — are
  answered at once and leave /healthz and the stylesheet answering in under a second, with no
  report made for an anonymous `as_of`;
- an ICB lead in Chromium downloads the report (PDF and HTML) and the full scorecard (CSV and
  Parquet) from the pages while 50 simulated users load the portal and `uptake publish` runs:
  every download completes with the publication's figures, and nothing is left behind.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from e2e.conftest import TODAY, _free_port, _stop, chromium_path

LEAD = ("lead@example.org", "an e2e lead password 7")
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _timed_get(url: str, timeout: float = 120.0) -> tuple[int, float, bytes]:
    started = time.perf_counter()
    try:
        with DIRECT.open(url, timeout=timeout) as r:
            body = r.read()
            status = r.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read(), exc.code
    return status, time.perf_counter() - started, body


@dataclass
class Served:
    base: str
    home: Path
    env: dict
    icb: str
    log: Path
    statuses: list = field(default_factory=list)

    @property
    def published(self) -> Path:
        return self.home / "published"


@pytest.fixture(scope="module")
def served(published_tiny, tiny_warehouse, tmp_path_factory, artifacts):
    """`uptake serve` (2 workers × 4 threads) on a home holding a copy of the tiny publication and
    its downloads, with the tiny warehouse (UPTAKE_WAREHOUSE) to publish from, and an ICB lead."""
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        pytest.skip("gunicorn is not installed (pip install -e '.[dev]')")
    from uptake.reports.batch import icb_codes
    from uptake.services import downloads
    from uptake.services.published import Published

    home = tmp_path_factory.mktemp("load-home")
    (home / "published").mkdir()
    shutil.copy2(published_tiny, home / "published" / "scorecard.duckdb")
    shutil.copytree(downloads.folder(published_tiny), home / "published" / downloads.FOLDER)
    with Published(published_tiny) as p:
        icb = icb_codes(p, p.months()[-1])[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UPTAKE_", "DJANGO_"))}
    env.update(UPTAKE_HOME=str(home), UPTAKE_WAREHOUSE=str(tiny_warehouse.root), UPTAKE_TODAY=TODAY,
               UPTAKE_REPORT_PREBUILD=icb, UPTAKE_LOG_LEVEL="INFO", PYTHONUNBUFFERED="1",
               DJANGO_SETTINGS_MODULE="uptake.web.settings")
    port = _free_port()
    log = artifacts / "uptake-serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "uptake", "serve", "--port", str(port), "--workers", "2",
                                 "--threads", "4"], env=env, cwd=home, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"uptake serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if _timed_get(base + "/healthz", timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"uptake serve did not answer /healthz in 120 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        add = subprocess.run([sys.executable, "-m", "uptake", "user", "add", LEAD[0], "--editor", icb],
                             env={**env, "UPTAKE_PASSWORD": LEAD[1]}, cwd=home, capture_output=True, text=True,
                             timeout=300)
        assert add.returncode == 0, add.stderr[-3000:]
        yield Served(base, home, env, icb, log)
    finally:
        _stop(proc)


def _made_reports(served: Served) -> list[Path]:
    return [p for p in (served.published / "reports").rglob("*") if p.suffix in (".pdf", ".html")]


@pytest.mark.slow
def test_concurrent_anonymous_report_requests_leave_healthz_answering(served):
    first_page = _timed_get(served.base + "/")  # the first page after a start: the workers were warmed
    assert first_page[0] == 200 and first_page[1] < 1.0, first_page[:2]
    codes = [served.icb, "ENG"]
    for n, asked in ((2, "attack-2"), (10, "attack-10")):
        days = [f"2022-0{1 + i % 9}-{10 + i:02d}" for i in range(n)]
        urls = [f"/org/{codes[i % 2]}/report.{('pdf', 'html')[i // 2 % 2]}" + (f"?as_of={days[i]}" if i % 2 == 0 else "")
                for i in range(n)]
        with ThreadPoolExecutor(n) as pool:
            answers = pool.map(lambda u: (u, *_timed_get(served.base + u)[:2]), urls)
            probes = []
            for _ in range(5):
                probes += [("/healthz", *_timed_get(served.base + "/healthz", timeout=10)[:2]),
                           ("/static/uptake/portal.css", *_timed_get(served.base + "/static/uptake/portal.css",
                                                                      timeout=10)[:2])]
                time.sleep(0.1)
            answers = list(answers)
        assert all(status == 200 and seconds < 1.0 for _, status, seconds in probes), (asked, probes)
        # anonymous `as_of`: refused (no report made for it); the default day: the made report or "being prepared"
        for url, status, seconds in answers:
            assert status == 403 if "as_of" in url else status in (200, 202), (asked, url, status)
            assert seconds < 5.0, (asked, url, seconds)  # answered at once: nothing is made in a request
        made_days = {p.stem.split("_")[-1] for p in _made_reports(served)}
        assert not made_days & set(days), made_days


class Users:
    """`n` simulated visitors browsing the portal (pages, the stylesheet, the health check) with a
    short pause between requests, until stopped; every answer's status is kept."""

    def __init__(self, base: str, icb: str, n: int = 50):
        self.paths = ["/", "/ta/", "/ta/TA275/", f"/org/{icb}/", "/org/ENG/", "/downloads/", "/sources/",
                      "/static/uptake/portal.css", "/healthz", "/compliance/"]
        self.base, self.stop, self.answers = base, threading.Event(), []
        self.threads = [threading.Thread(target=self._user, args=(i,), daemon=True) for i in range(n)]

    def _user(self, i: int) -> None:
        rng = random.Random(i)
        while not self.stop.is_set():
            path = rng.choice(self.paths)
            try:
                status = _timed_get(self.base + path, timeout=120)[0]
            except OSError as exc:
                status = f"{type(exc).__name__}: {exc}"
            self.answers.append((path, status))
            self.stop.wait(rng.uniform(0.2, 0.6))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=150)


def _download(page, selector: str, folder: Path) -> Path:
    """Click a link as a person does and wait for the file (through a "being prepared" page)."""
    with page.expect_download(timeout=180_000) as info:
        page.click(selector)
    download = info.value
    assert download.failure() is None, download.failure()
    target = folder / download.suggested_filename
    download.save_as(target)
    return target


def _rows(published: Path) -> int:
    import duckdb

    con = duckdb.connect(str(published), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM ta_scorecard").fetchone()[0]
    finally:
        con.close()


@pytest.mark.slow
@pytest.mark.e2e
def test_an_icb_lead_downloads_everything_under_load_while_a_publish_runs(served, browser, tmp_path):
    import pyarrow.csv
    import pyarrow.parquet
    from pypdf import PdfReader

    if chromium_path() is None:
        pytest.skip("Chromium not found")
    rows = _rows(served.published / "scorecard.duckdb")  # the same warehouse: the same rows after the publish
    deadline = time.monotonic() + 600  # the builder makes the lead's ICB's reports ahead, as after a publish
    while {p.suffix for p in _made_reports(served) if p.name.startswith(served.icb)} != {".pdf", ".html"}:
        assert time.monotonic() < deadline, f"the builder made no report in 600 s:\n{served.log.read_text()[-3000:]}"
        time.sleep(1)
    context = browser.new_context(accept_downloads=True, service_workers="block")
    page = context.new_page()
    page.set_default_timeout(180_000)
    with Users(served.base, served.icb) as users:
        publish = subprocess.Popen([sys.executable, "-m", "uptake", "publish"], env=served.env, cwd=served.home,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)
        try:
            page.goto(served.base + "/accounts/sign-in/")
            page.fill("#id_username", LEAD[0])
            page.fill("#id_password", LEAD[1])
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_load_state("load")
            page.goto(served.base + f"/org/{served.icb}/")
            pdf = _download(page, "#report-pdf", tmp_path)
            text = "".join(p.extract_text() for p in PdfReader(pdf).pages[:2])
            assert pdf.read_bytes().startswith(b"%PDF-") and served.icb in text
            page.goto(served.base + f"/org/{served.icb}/")
            page.click("#report-html")
            page.get_by_text("About this report").first.wait_for()
            page.goto(served.base + "/downloads/")
            csv_file = _download(page, "#download-csv", tmp_path)
            page.goto(served.base + "/downloads/")
            parquet_file = _download(page, "#download-parquet", tmp_path)
            assert pyarrow.csv.read_csv(csv_file).num_rows == rows
            assert pyarrow.parquet.read_metadata(parquet_file).num_rows == rows
            during = publish.poll() is None
            _, err = publish.communicate(timeout=600)
            assert publish.returncode == 0, err[-3000:]
            # the first downloads after the publication complete too
            page.goto(served.base + f"/org/{served.icb}/")
            assert _download(page, "#report-pdf", tmp_path).read_bytes().startswith(b"%PDF-")
            page.goto(served.base + "/downloads/")
            assert pyarrow.parquet.read_metadata(_download(page, "#download-parquet", tmp_path)).num_rows == rows
        finally:
            _stop(publish)
            context.close()
    assert during, "the publish ended before the downloads did: nothing was shown about downloading during one"
    failed = [(p, s) for p, s in users.answers if s not in (200, 304)]
    assert len(users.answers) > 100 and not failed, failed[:20]
    leftovers = [p for p in served.home.rglob("*.tmp")]
    assert not leftovers, leftovers
    assert len([p for p in (served.published / "downloads").iterdir()]) <= 4
    assert len([p for p in (served.published / "reports").iterdir() if p.is_dir() and p.name != "queue"]) <= 2
