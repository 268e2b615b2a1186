"""Re-run, against a running portal, the attacks of issue 24 that need no account (docs/security.md).

    .venv/bin/python benchmarks/attack.py --url http://127.0.0.1:8000 [--known-email ADDRESS] [--pages 200]

One line per check, PASS or FAIL; exit status 1 when any fails. It registers never-confirmed
accounts (attack-*@example.invalid): run it on a test portal, not in production.
"""

from __future__ import annotations

import argparse
import csv
import http.cookiejar
import io
import re
import secrets
import statistics
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PASSWORD = "an attack run passphrase 42"


class Browser:
    """A fresh client with its own cookies (never through a proxy)."""

    def __init__(self, base: str):
        self.base, self.jar = base.rstrip("/"), http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                  urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[int, dict, str]:
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, data: dict) -> tuple[int, dict, str]:
        body = urllib.parse.urlencode(data).encode()
        return self._open(urllib.request.Request(self.base + path, data=body, headers={"Referer": self.base + path}))

    def _open(self, request) -> tuple[int, dict, str]:
        try:
            with self.opener.open(request, timeout=60) as r:
                return r.status, dict(r.headers), r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read().decode("utf-8", "replace")

    def register(self, email: str, password: str = PASSWORD) -> tuple[int, str, float]:
        status, _, page = self.get("/accounts/register/")
        token = TOKEN.search(page)
        if status != 200 or token is None:
            return status, page, 0.0
        started = time.perf_counter()
        status, _, page = self.post("/accounts/register/", {
            "csrfmiddlewaretoken": token.group(1), "email": email, "name": "Attack Run", "organisation": "",
            "password": password, "password_again": password})
        return status, page, time.perf_counter() - started


def check(results: list, name: str, ok: bool, detail: str) -> None:
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")


def fresh_registrations(base: str, results: list) -> None:
    """24.2: several fresh clients each register (no cached form with another visitor's token)."""
    outcomes, tokens, etags = [], set(), 0
    for _ in range(4):
        b = Browser(base)
        _, headers, page = b.get("/accounts/register/")
        token = TOKEN.search(page)
        tokens.add(token.group(1) if token else None)
        etags += "ETag" in headers
        status, page, _ = b.register(f"attack-{secrets.token_hex(4)}@example.invalid")
        outcomes.append(status == 200 and "Check your e-mail" in page)
    check(results, "24.2 fresh browsers register", all(outcomes) and len(tokens) == 4 and etags == 0,
          f"{sum(outcomes)}/4 registered, {len(tokens)} distinct tokens, {etags} pages with an ETag")


def weak_passwords(base: str, results: list) -> None:
    """24.14: repetition and keyboard walks refused."""
    refused = []
    for password in ("aaaaaaaaaaaa", "qwertyuiopas"):
        status, page, _ = Browser(base).register(f"attack-{secrets.token_hex(4)}@example.invalid", password)
        # refused by the password check: the form again, with an error (not a 403 or a 500)
        refused.append(status == 200 and "Check your e-mail" not in page and "error" in page.lower())
    check(results, "24.14 weak passwords", all(refused), f"{sum(refused)}/2 refused")


def registration_timing(base: str, known: str | None, results: list) -> None:
    """24.10: the same cost for a known and a new address (median of 5 each)."""
    if not known:
        print("SKIP  24.10 registration timing: give --known-email (an address with an account)")
        return
    new = [_timed(base, lambda: f"attack-{secrets.token_hex(4)}@example.invalid") for _ in range(5)]
    old = [_timed(base, lambda: known) for _ in range(5)]
    if None in new or None in old:
        check(results, "24.10 registration timing", False, "a registration failed 3 times (see 24.2)")
        return
    a, b = statistics.median(new), statistics.median(old)
    ratio = max(a, b) / max(min(a, b), 1e-6)
    check(results, "24.10 registration timing", ratio < 1.5,
          f"new {a * 1000:.0f} ms, known {b * 1000:.0f} ms (median of 5), ratio {ratio:.2f}")


def _timed(base: str, email) -> float | None:
    """Seconds one registration POST took, from a fresh client; None when 3 tries all failed."""
    for _ in range(3):
        status, page, seconds = Browser(base).register(email())
        if status == 200 and "Check your e-mail" in page:
            return seconds
    return None


def api_docs(base: str, results: list) -> None:
    """24.11 / 23.4: Swagger UI from the portal itself, under the CSP."""
    status, headers, page = Browser(base).get("/api/v1/docs")
    csp = headers.get("Content-Security-Policy", "")
    foreign = [s for s in re.findall(r'<script[^>]+src="([^"]+)"', page) if s.startswith(("http:", "https:", "//"))]
    check(results, "24.11 API docs", status == 200 and "script-src 'self'" in csp and not foreign,
          f"status {status}, CSP {'present' if csp else 'absent'}, scripts from elsewhere: {foreign or 'none'}")


def crawl(base: str, pages: int, results: list) -> None:
    """24.8 / 23.5: no e-mail address on anonymous pages or API answers; 24.9: CSV cells."""
    b, seen, queue, found, bad_cells, visited = Browser(base), set(), deque(["/", "/api/v1/compliance/decisions"]), {}, [], 0
    while queue and visited < pages:
        path = queue.popleft()
        if path in seen or re.search(r"\.(pdf|parquet|geojson|css|js|png)$|^/(admin|static|assets|accounts)/", path):
            continue
        seen.add(path)
        status, headers, text = b.get(path)
        visited += 1
        if status != 200:
            continue
        for address in EMAIL.findall(text):
            if not address.endswith((".png", ".svg", ".js")):
                found.setdefault(address, path)
        if "text/csv" in headers.get("Content-Type", ""):
            bad_cells += [c for row in csv.reader(io.StringIO(text)) for c in row
                          if c.startswith(TRIGGERS) and not _number(c)]
        for href in re.findall(r'href="([^"#]+)"', text):
            target = urllib.parse.urljoin(path, href.replace("&amp;", "&"))
            if target.startswith("/") and not target.startswith("//"):
                queue.append(target)
                if target.startswith("/api/v1/") and "format=csv" not in target:
                    queue.append(target + ("&" if "?" in target else "?") + "format=csv")
    check(results, "24.8 no addresses on anonymous pages", not found,
          f"{visited} pages, addresses: {dict(list(found.items())[:5]) or 'none'}")
    check(results, "24.9 CSV formula cells", not bad_cells, f"{len(bad_cells)} cells starting with = + - @")


def _number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--known-email", help="an address that has an account (for the timing check)")
    parser.add_argument("--pages", type=int, default=200, help="how many anonymous pages to crawl")
    args = parser.parse_args()
    results: list[bool] = []
    fresh_registrations(args.url, results)
    weak_passwords(args.url, results)
    registration_timing(args.url, args.known_email, results)
    api_docs(args.url, results)
    crawl(args.url, args.pages, results)
    print(f"{sum(results)}/{len(results)} checks passed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
