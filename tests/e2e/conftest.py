"""End-to-end fixtures: the real portal (gunicorn, two workers) on the tiny synthetic NHS's
published scorecard, started once per session as a separate process, and one headless Debian
Chromium driven by Playwright's sync API. Never downloads Playwright's own browsers and never
touches the network beyond 127.0.0.1.

The portal sends its e-mail (registration confirmations, ...) by SMTP to a local server in this
process (tests/smtp_mailbox.py; the `mailbox` fixture), so a test reads what a person would be sent.

Screenshots of every page visited go to $UPTAKE_ARTIFACTS/e2e (or, when that is unset, to an
`e2e-artifacts` directory under pytest's temporary base); the directory is printed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "src" / "uptake" / "web" / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
LOCAL_HOSTS = {"127.0.0.1"}
START_TIMEOUT = 60.0


def chromium_path() -> str | None:
    """The Debian Chromium (or $UPTAKE_CHROMIUM): never Playwright's downloaded browsers."""
    for candidate in (os.environ.get("UPTAKE_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium",
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via an http_proxy


def _get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with _DIRECT.open(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _gunicorn_has(option: str) -> bool:
    from gunicorn.config import KNOWN_SETTINGS

    return any(option in (s.cli or ()) for s in KNOWN_SETTINGS)


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory) -> Path:
    base = os.environ.get("UPTAKE_ARTIFACTS")
    folder = Path(base) / "e2e" if base else tmp_path_factory.getbasetemp() / "e2e-artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\ne2e screenshots and portal log: {folder}")
    _ARTIFACTS.append(folder)
    return folder


_ARTIFACTS: list[Path] = []


def pytest_terminal_summary(terminalreporter):
    for folder in _ARTIFACTS:
        terminalreporter.write_line(f"e2e screenshots and portal log: {folder}")


def _publish_maps(published: Path) -> None:
    """Maps from the real sub-ICB boundaries, as tests/web does, when ../shared/data has them."""
    from conftest import SHARED_DATA

    boundaries = SHARED_DATA / "geo" / "sub_icb_locations_2022_buc.geojson"
    if boundaries.exists() and not (published.parent / "geo" / "maps.json").exists():
        from uptake.services.maps import publish_maps

        publish_maps(published, boundaries)


def _stop(proc: subprocess.Popen) -> None:
    """Stop a process we started, and its children (its own process group)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


TODAY = "2022-09-30"  # the tiny NHS's last month ends: its formulary decisions stop there
EDITOR = ("editor@example.org", "an e2e editor password 7")
MODERATOR = ("moderator@example.org", "an e2e moderator password 7")
MEMBER = ("member@example.org", "an e2e member password 7")  # a confirmed member with no other role
MAIL_FROM = "uptake@example.org"


@pytest.fixture(scope="session")
def mailbox():
    """The local SMTP server the e2e portal sends its e-mail to (tests/smtp_mailbox.py's Mailbox):
    `mailbox.wait_for(address, subject=..., since=...)`."""
    from smtp_mailbox import Mailbox

    box = Mailbox("127.0.0.1").start()
    try:
        yield box
    finally:
        box.stop()


def _uptake(env: dict, home: Path, args: list[str], password: str | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "uptake", "--home", str(home), *args],
                            env={**env, **({"UPTAKE_PASSWORD": password} if password else {})}, cwd=home,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen, args: list[str]) -> None:
    try:
        _, err = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    if proc.returncode != 0:
        pytest.fail(f"uptake {' '.join(args)} failed:\n{err[-3000:]}")


def _portal_content(env: dict, home: Path, decisions: Path) -> None:
    """The formulary decisions, an editor of the first ICB, a knowledge-portal moderator and a
    member, loaded as an operator would."""
    import csv

    with decisions.open(newline="") as f:
        first_icb = next(csv.DictReader(f))["icbs"].split(";")[0]
    ingest = ["ingest", str(decisions)]
    _finish(_uptake(env, home, ingest), ingest)
    users = [(["user", "add", EDITOR[0], "--editor", first_icb], EDITOR[1]),
             (["user", "add", MODERATOR[0], "--moderator"], MODERATOR[1]),
             (["user", "add", MEMBER[0]], MEMBER[1])]
    for args, password in users:  # one at a time: SQLite takes one writer (at once, some find it locked)
        _finish(_uptake(env, home, args, password), args)
    (home / "editor-icb").write_text(first_icb)


@pytest.fixture(scope="session")
def editor_icb(portal, tmp_path_factory) -> str:
    """The ICB the e2e editor edits."""
    return next(tmp_path_factory.getbasetemp().glob("e2e-portal-home*/editor-icb")).read_text()


@pytest.fixture(scope="session")
def portal(published_tiny, tiny_warehouse, tmp_path_factory, artifacts, mailbox, request):
    """The portal's base URL: gunicorn serving uptake.web.wsgi on a free local port, on the tiny
    publication (with maps), its own database migrated in a temporary UPTAKE_HOME and holding the
    tiny NHS's formulary decisions, an editor of the first ICB (EDITOR), a moderator (MODERATOR)
    and a member (MEMBER); today is the synthetic world's (TODAY); its e-mail goes by SMTP to
    `mailbox`, from MAIL_FROM. The migration, gunicorn's start-up and the maps are made at the
    same time."""
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        pytest.skip("gunicorn is not installed (pip install -e '.[dev]')")
    home = tmp_path_factory.mktemp("e2e-portal-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPTAKE_") or k == "UPTAKE_SHARED_DATA"}
    env.update(UPTAKE_PUBLISHED=str(published_tiny), UPTAKE_HOME=str(home),
               UPTAKE_DATABASE_URL=f"sqlite:///{home / 'portal.sqlite3'}",
               DJANGO_SETTINGS_MODULE="uptake.web.settings", PYTHONUNBUFFERED="1", UPTAKE_TODAY=TODAY,
               UPTAKE_SMTP_HOST=mailbox.host, UPTAKE_SMTP_PORT=str(mailbox.port), UPTAKE_MAIL_FROM=MAIL_FROM)
    try:  # the public view's places and trials (tests/conftest.py), when ../shared/data is there
        env["UPTAKE_WAREHOUSE"] = str(request.getfixturevalue("public_warehouse").root)
    except pytest.skip.Exception:
        pass
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = artifacts / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "uptake.web.wsgi:application", "--bind", f"127.0.0.1:{port}",
               "--workers", "2", "--timeout", "120", "--access-logfile", "-"]
    if _gunicorn_has("--no-control-socket"):  # gunicorn 25+: no shared ~/.gunicorn/gunicorn.ctl
        command.append("--no-control-socket")
    with open(home / "migrate.log", "w+") as mlog, open(log_path, "w") as log:
        migrate = subprocess.Popen([sys.executable, "-m", "django", "migrate", "--noinput"], env=env, cwd=home,
                                   stdout=mlog, stderr=subprocess.STDOUT, start_new_session=True)
        proc = subprocess.Popen(command, env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            _publish_maps(published_tiny)
            try:
                migrated = migrate.wait(timeout=120)
            except subprocess.TimeoutExpired:
                migrated = "timeout"
            if migrated != 0:
                mlog.seek(0)
                pytest.fail(f"django-admin migrate failed ({migrated}):\n{mlog.read()[-3000:]}")
            _portal_content(env, home, tiny_warehouse.root.parent / "files" / "formulary" / "formulary_decisions.csv")
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"gunicorn exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
                try:
                    status, body = _get(base + "/healthz", timeout=2)
                    if status == 200:
                        break
                except OSError:
                    status, body = None, b""
                if time.monotonic() > deadline:
                    pytest.fail(f"the portal did not answer /healthz with 200 in {START_TIMEOUT:.0f} s "
                                f"(last {status}: {body[:300]!r}):\n{log_path.read_text()[-3000:]}")
                time.sleep(0.2)
            yield base
        finally:
            _stop(migrate)
            _stop(proc)


@pytest.fixture(scope="session")
def http_get(portal):
    """GET a path from the portal: (status, body)."""
    return lambda path: _get(portal + path, timeout=30)


@pytest.fixture(scope="session")
def api(portal):
    """GET a JSON document from the portal's API."""
    def get(path: str):
        status, body = _get(portal + path, timeout=30)
        assert status == 200, (path, status, body[:300])
        return json.loads(body)
    return get


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for the test module. Not session-wide: Playwright's sync API keeps an
    asyncio loop running in the main thread while it is started, and Django then refuses ORM calls
    in this process ("cannot call this from an async context"), which tests/web makes in-process
    after these tests. (The portal itself is a separate process and stays up for the session.)"""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright (python) is not installed (pip install -e '.[dev]')")
    exe = chromium_path()
    if exe is None:
        pytest.skip("Chromium not found: install Debian's (apt-get install chromium) or set UPTAKE_CHROMIUM; "
                    "Playwright's own browsers are deliberately not used")
    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=exe, headless=True, args=["--no-proxy-server"])
    except Exception as exc:  # a broken or incompatible Chromium is a skip with its reason, not a crash
        pw.stop()
        pytest.skip(f"Chromium at {exe} would not start under Playwright: {exc}")
    try:
        yield b
    finally:
        b.close()
        pw.stop()


@dataclass
class Visit:
    """One browser tab on the portal, recording what a person would not want to see: console
    errors, uncaught page errors and requests to anywhere but 127.0.0.1."""

    page: object
    base: str
    folder: Path
    name: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    shots: int = 0

    def goto(self, path: str, *, charts: bool = True):
        resp = self.page.goto(self.base + path, wait_until="load")
        assert resp is not None and resp.status == 200, (path, resp and resp.status)
        self.settle(charts=charts)
        return resp

    def settle(self, *, charts: bool = True) -> None:
        """Wait for the page (and its charts, drawn by portal.js) to finish, then screenshot it."""
        self.page.wait_for_load_state("load")
        if charts:
            self.page.wait_for_function(
                "() => [...document.querySelectorAll('.uptake-chart')].every(e => e.dataset.rendered)",
                timeout=20_000)
        self.screenshot()

    def screenshot(self, *, full_page: bool = True) -> Path:
        self.shots += 1
        parts = urlsplit(self.page.url)
        slug = re.sub(r"[^A-Za-z0-9]+", "-", (parts.path + ("-" + parts.query if parts.query else ""))).strip("-")
        path = self.folder / f"{self.name}-{self.shots:02d}-{slug or 'home'}.jpg"
        # JPEG: a full page of the portal is 10-25,000 px tall, and PNG takes twice as long to encode
        self.page.screenshot(path=str(path), full_page=full_page, type="jpeg", quality=70)
        return path

    def foreign_requests(self) -> list[str]:
        return [u for u in self.requests if not (u.startswith(("data:", "blob:", "about:"))
                                                or urlsplit(u).hostname in LOCAL_HOSTS)]

    def assert_clean(self) -> None:
        assert not self.page_errors, f"uncaught errors in the page: {self.page_errors}"
        assert not self.console_errors, f"console errors: {self.console_errors}"
        assert not self.foreign_requests(), f"requests left 127.0.0.1: {self.foreign_requests()}"


@pytest.fixture
def visit(browser, portal, artifacts, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True,
                                  service_workers="block")
    page = context.new_page()
    page.set_default_timeout(15_000)
    v = Visit(page=page, base=portal, folder=artifacts, name=re.sub(r"[^A-Za-z0-9_]+", "-", request.node.name))
    page.on("console", lambda m: v.console_errors.append(f"{m.text} ({m.location})") if m.type == "error" else None)
    page.on("pageerror", lambda e: v.page_errors.append(str(e)))
    page.on("request", lambda r: v.requests.append(r.url))
    try:
        yield v
    finally:
        context.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE} (run `npm ci` in src/uptake/web/frontend)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def editor_login() -> tuple[str, str]:
    """(e-mail, password) of the e2e editor."""
    return EDITOR


@pytest.fixture(scope="session")
def moderator_login() -> tuple[str, str]:
    """(e-mail, password) of the e2e knowledge-portal moderator."""
    return MODERATOR


@pytest.fixture(scope="session")
def member_login() -> tuple[str, str]:
    """(e-mail, password) of the e2e member (signed in, confirmed, no other role)."""
    return MEMBER


@pytest.fixture(scope="session")
def today() -> str:
    """The day the e2e portal takes as today."""
    return TODAY


@pytest.fixture(scope="session")
def axe(axe_source):
    """axe-core's serious and critical violations on the page a Visit shows."""
    def run(visit) -> list[dict]:
        # evaluated through the DevTools protocol: an inline <script> tag (add_script_tag) is refused by
        # the portal's Content-Security-Policy (script-src 'self'), as it should be
        if not visit.page.evaluate("() => typeof window.axe === 'object'"):
            visit.page.evaluate(f"() => {{ {axe_source}\n}}")
        return visit.page.evaluate("""() => axe.run(document, {resultTypes: ['violations']}).then(r =>
            r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => ({
              id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.slice(0, 5).map(n => ({target: n.target.join(' '), html: n.html.slice(0, 200),
                                                    why: n.failureSummary}))})))""")
    return run
