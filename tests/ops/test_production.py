"""The portal run as docs/operations.md says: `collectstatic` into UPTAKE_STATIC_ROOT, gunicorn with
the guide's own configuration file (taken from the guide), behind a proxy that says HTTPS: pages
link hashed static files that are served compressed with a ten-year cache lifetime, every log line
(gunicorn's and the portal's) is JSON, and every environment variable the code reads is in the
guide's table."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from ops.helpers import Instance

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "operations.md"
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _block(starting: str) -> str:
    """The guide's fenced code block whose first line is `starting`."""
    for block in re.findall(r"```[a-z]*\n(.*?)```", GUIDE.read_text(), flags=re.S):
        if block.startswith(starting):
            return block
    raise AssertionError(f"docs/operations.md has no code block starting {starting!r}")


def test_every_environment_variable_the_code_reads_is_in_the_guide():
    names = set()
    for path in (ROOT / "src" / "uptake").rglob("*.py"):
        names |= set(re.findall(r"UPTAKE_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_*])", path.read_text()))
    guide = GUIDE.read_text()
    assert names and not sorted(n for n in names if f"`{n}`" not in guide)


def _get(url: str, headers: dict | None = None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with DIRECT.open(request, timeout=60) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_gunicorn_with_the_guides_configuration(sqlite_source, tmp_path):
    source, _ = sqlite_source
    static = tmp_path / "static"
    inst = Instance(source.home, extra={
        "UPTAKE_STATIC_ROOT": str(static), "UPTAKE_LOG_FORMAT": "json", "UPTAKE_LOG_LEVEL": "INFO",
        "UPTAKE_SECRET_KEY": "a test key that is long enough to be a key 0123456789",
        "UPTAKE_ALLOWED_HOSTS": "uptake.example.org,127.0.0.1", "UPTAKE_HTTPS": "1"})
    done = subprocess.run([sys.executable, "-m", "django", "collectstatic", "--noinput"], env=inst.env(),
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = json.loads((static / "staticfiles.json").read_text())["paths"]
    hashed = manifest["uptake/portal.css"]
    assert re.fullmatch(r"uptake/portal\.[0-9a-f]{12}\.css", hashed) and (static / f"{hashed}.gz").exists()

    config = tmp_path / "gunicorn.conf.py"
    config.write_text(_block("# /etc/uptake/gunicorn.conf.py"))
    port = _free_port()
    command = [sys.executable, "-m", "gunicorn", "-c", str(config), "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    from gunicorn.config import KNOWN_SETTINGS

    if any("--no-control-socket" in (s.cli or ()) for s in KNOWN_SETTINGS):
        command.append("--no-control-socket")  # gunicorn 25+: no shared ~/.gunicorn/gunicorn.ctl
    log = tmp_path / "gunicorn.log"
    base = f"http://127.0.0.1:{port}"
    with open(log, "w") as out:
        server = subprocess.Popen(command, env=inst.env(), cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, log.read_text()[-3000:]
            try:
                status, _, body = _get(base + "/healthz")
                if status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"no /healthz 200 in 90 s:\n{log.read_text()[-3000:]}"
            time.sleep(0.3)
        assert json.loads(body)["warehouse"]["checked"] is True

        status, headers, page = _get(base + "/", {"X-Forwarded-Proto": "https"})
        assert status == 200, page[:500]
        assert headers.get("Strict-Transport-Security", "").startswith("max-age=31536000")
        assert f"/static/{hashed}" in page.decode()
        status, headers, body = _get(base + f"/static/{hashed}", {"Accept-Encoding": "gzip"})
        assert status == 200 and headers.get("Content-Encoding") == "gzip"
        assert "immutable" in headers["Cache-Control"] and "max-age=315360000" in headers["Cache-Control"]
        assert gzip.decompress(body) == (static / hashed).read_bytes()
        status, headers, _ = _get(base + "/static/uptake/portal.css")  # its plain name: an hour
        assert status == 200 and "max-age=3600" in headers["Cache-Control"]
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)

    lines = [line for line in log.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line, gunicorn's too, is JSON
    assert any(r["logger"] == "gunicorn.error" and "Listening at" in r["message"] for r in records)
    requests = [(r["path"], r["status"]) for r in records if r["logger"] == "uptake.request"]
    assert ("/healthz", 200) in requests and ("/", 200) in requests and (f"/static/{hashed}", 200) in requests
