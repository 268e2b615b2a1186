"""Issue 24.14: behind the same-host nginx of docs/operations.md every request reaches gunicorn
from 127.0.0.1, so five wrong passwords from anyone locked an account for everyone. Here a real
nginx (Debian's package), configured with the `location /` block copied from
docs/operations.md, stands in front of the e2e portal; the attacker and the account's owner
connect from different loopback addresses (127.0.0.2 and 127.0.0.3: Linux routes all of 127/8 to
the loopback), as two people on the internet would reach nginx from theirs."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

pytestmark = pytest.mark.e2e

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def _documented_location() -> str:
    """The `location / { ... }` block of the nginx configuration in docs/operations.md."""
    text = OPERATIONS.read_text(encoding="utf-8")
    block = re.search(r"```nginx\n(.*?)```", text, re.S).group(1)
    return re.search(r"(    location / \{.*?\n    \})", block, re.S).group(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def nginx(portal, tmp_path_factory):
    exe = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if exe is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    folder = tmp_path_factory.mktemp("nginx")
    port, upstream = _free_port(), urlsplit(portal).port
    conf = folder / "nginx.conf"
    conf.write_text(f"""daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{}}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body; proxy_temp_path {folder}/proxy; fastcgi_temp_path {folder}/fcgi;
    uwsgi_temp_path {folder}/uwsgi; scgi_temp_path {folder}/scgi;
    upstream uptake {{
        server 127.0.0.1:{upstream};
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
{_documented_location()}
    }}
}}
""")
    proc = subprocess.Popen([exe, "-c", str(conf), "-p", str(folder), "-e", str(folder / "error.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        for _ in range(100):
            if proc.poll() is not None:
                pytest.fail(f"nginx exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                if _request(port, "127.0.0.1", "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        yield port
    finally:
        if proc.poll() is None:  # nginx and its workers: the process group we started
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)


def _request(port: int, source: str, method: str, path: str, body: dict | None = None,
             headers: dict | None = None) -> tuple[int, dict, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        data = urlencode(body).encode() if body is not None else None
        hdrs = {**(headers or {}), **({"Content-Type": "application/x-www-form-urlencoded"} if data else {})}
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode("utf-8", "replace")
    finally:
        conn.close()


def _sign_in(port: int, source: str, email: str, password: str, spoof: str | None = None) -> int:
    """Sign in through nginx from `source` as a browser does (the form, its CSRF token and cookie)."""
    extra = {"X-Forwarded-For": spoof} if spoof else {}
    status, headers, page = _request(port, source, "GET", "/accounts/sign-in/", headers=extra)
    assert status == 200
    cookie = re.search(r"csrftoken=([^;]+)", headers["set-cookie"]).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    status, _, _ = _request(port, source, "POST", "/accounts/sign-in/",
                            {"csrfmiddlewaretoken": token, "username": email, "password": password},
                            {"Cookie": f"csrftoken={cookie}", **extra})
    return status


def test_an_attacker_cannot_lock_an_account_for_everyone_behind_nginx(nginx, member_login):
    email, password = member_login
    attacker, owner = "127.0.0.2", "127.0.0.3"
    # AXES_FAILURE_LIMIT (5) wrong passwords, claiming to be the owner's address too: the fifth locks
    tries = [_sign_in(nginx, attacker, email, "not the password at all 1", spoof=owner) for _ in range(5)]
    assert tries == [200, 200, 200, 200, 429]
    # the attacker's own address is now locked, whatever it claims to be...
    assert _sign_in(nginx, attacker, email, password, spoof=owner) == 429
    # ...but the owner, from their own address, signs in
    assert _sign_in(nginx, owner, email, password) == 302
