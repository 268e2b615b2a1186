"""HTTP for the downloaders: polite (a least interval between requests to a host), patient
(bounded retries with exponential backoff on 5xx, 429, timeouts and dropped connections) and
careful with large files (streamed to disk, resumed with a Range request, checked against the
size and checksum the publisher gives).

Only the standard library (urllib, over http.client) is used: what is needed here — streaming,
Range, conditional requests, redirects, proxies from the environment — it does, and a new
dependency would add nothing the tests could not equally check.

A download writes ``NAME.part`` beside its destination and, while it runs, ``NAME.part.json``
(the URL and the validators the server gave: ETag, Last-Modified). A download that is
interrupted — the connection dropped, the process killed — leaves both; the next download of
the same URL sends ``Range: bytes=N-`` (with ``If-Range``, so that a file changed in between is
sent whole rather than spliced) and appends what comes back. Only a complete, verified file is
renamed to NAME.
"""

from __future__ import annotations

import email.utils
import hashlib
import http.client
import json
import os
import re
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .errors import FetchError, NotFound, UnexpectedAnswer, VerifyError
from .settings import FetchSettings

CHUNK = 1 << 20  # bytes read (and written) at a time
MAX_PAGE = 64 << 20  # the most a JSON answer or HTML page may hold: these are read into memory
RETRY_STATUS = {408, 429, 500, 502, 503, 504}

Progress = Callable[[int, "int | None"], None]  # (bytes so far, total bytes or None)


class _Retry(Exception):
    """One attempt failed in a way worth retrying."""

    def __init__(self, reason: str, progressed: bool = False, after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.progressed = progressed  # bytes were received: the failure count starts again
        self.after = after  # the server's Retry-After, in seconds


class _Restart(Exception):
    """The partial file cannot be continued (the server ignored the Range, or the file changed):
    start again from the first byte, at once."""


@dataclass
class Downloaded:
    path: Path
    status: str  # "downloaded" | "not_modified"
    size: int = 0
    sha256: str = ""
    etag: str | None = None
    last_modified: str | None = None
    resumed_from: int = 0  # bytes already on disk when the last request was made
    requests: int = 0

    def to_dict(self) -> dict:
        return {"path": str(self.path), "status": self.status, "size": self.size, "sha256": self.sha256,
                "etag": self.etag, "last_modified": self.last_modified, "resumed_from": self.resumed_from}


def parse_hash(value: str | None) -> tuple[str, str] | None:
    """A publisher's checksum as (algorithm, lowercase hex): 'md5:…', 'sha256:…', 'sha1:…' or
    bare hex (the algorithm told by its length: 32 md5, 40 sha1, 64 sha256). None for a blank
    value or one that is not a checksum uptake can compute (it is then not checked)."""
    if not value or not value.strip():
        return None
    text = value.strip()
    algo = None
    if ":" in text:
        algo, text = (p.strip() for p in text.split(":", 1))
        algo = algo.lower().replace("-", "")
    text = text.lower()
    if not re.fullmatch(r"[0-9a-f]+", text):
        return None
    by_length = {32: "md5", 40: "sha1", 64: "sha256"}
    algo = algo or by_length.get(len(text))
    if algo not in ("md5", "sha1", "sha256") or by_length.get(len(text)) != algo:
        return None
    return algo, text


class _Hashes:
    """SHA-256 (recorded with every download) and the publisher's algorithm, fed as bytes are written."""

    def __init__(self, extra: str | None) -> None:
        self.sha256 = hashlib.sha256()
        self.extra = hashlib.new(extra) if extra and extra != "sha256" else None
        self.count = 0

    def update(self, block) -> None:
        self.sha256.update(block)
        if self.extra is not None:
            self.extra.update(block)
        self.count += len(block)

    def digest(self, algo: str) -> str:
        return self.sha256.hexdigest() if algo == "sha256" else self.extra.hexdigest()  # type: ignore[union-attr]


class Http:
    """One client per run: remembers when it last asked each host, to keep the interval."""

    def __init__(self, settings: FetchSettings | None = None, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings or FetchSettings()
        self.clock = clock
        self.sleep = sleep
        self._last: dict[str, float] = {}
        self.requests = 0
        self._opener = urllib.request.build_opener()

    # --- one request ------------------------------------------------------------------------

    def _wait_turn(self, url: str) -> None:
        host = urlsplit(url).netloc.lower()
        last = self._last.get(host)
        if last is not None and self.settings.interval > 0:
            wait = last + self.settings.interval - self.clock()
            if wait > 0:
                self.sleep(wait)
        self._last[host] = self.clock()

    def _open(self, url: str, headers: dict[str, str]):
        """Send one GET; return the response (2xx or 304). Raise _Retry for what is worth
        trying again, NotFound for 404/410, FetchError for any other refusal."""
        self._wait_turn(url)
        self.requests += 1
        request = urllib.request.Request(url, headers={"User-Agent": self.settings.user_agent,
                                                       "Accept-Encoding": "identity", **headers})
        try:
            return self._opener.open(request, timeout=self.settings.timeout)
        except urllib.error.HTTPError as exc:
            status = exc.code
            if status == 304:
                return exc  # an HTTPError is also a response: 304 Not Modified is an answer
            if status == 416:
                return exc  # Range Not Satisfiable: the caller decides
            body = _snippet(exc)
            exc.close()
            if status in RETRY_STATUS:
                raise _Retry(f"HTTP {status} {exc.reason}{body}", after=_retry_after(exc.headers)) from None
            if status in (404, 410):
                raise NotFound(f"{url}: HTTP {status} {exc.reason}; the publisher has no such file or page") from None
            raise FetchError(f"{url}: HTTP {status} {exc.reason}{body}") from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, ssl.SSLCertVerificationError):
                raise FetchError(f"{url}: the server's TLS certificate was refused ({reason.verify_message})") from None
            raise _Retry(_describe(reason)) from None
        except (TimeoutError, socket.timeout, ConnectionError, http.client.HTTPException, OSError) as exc:
            raise _Retry(_describe(exc)) from None

    def _retrying(self, url: str, attempt: Callable[[], object]):
        failures = 0
        while True:
            try:
                return attempt()
            except _Retry as exc:
                failures = 1 if exc.progressed else failures + 1
                if failures >= self.settings.attempts and not exc.progressed:
                    raise FetchError(f"{url}: {exc.reason}; gave up after {failures} attempt"
                                     f"{'s' if failures > 1 else ''}") from None
                delay = min(self.settings.backoff * 2 ** (failures - 1), self.settings.backoff_max)
                if exc.after is not None:
                    delay = min(max(delay, exc.after), self.settings.backoff_max)
                if delay > 0:
                    self.sleep(delay)

    # --- small answers ----------------------------------------------------------------------

    def get_bytes(self, url: str, accept: str | None = None) -> bytes:
        """The whole body of a small answer (a JSON document, an HTML page), with retries."""

        def attempt() -> bytes:
            with self._open(url, {"Accept": accept} if accept else {}) as resp:
                length = resp.headers.get("Content-Length")
                try:
                    body = resp.read(MAX_PAGE + 1)
                except (TimeoutError, socket.timeout, ConnectionError, http.client.HTTPException, OSError) as exc:
                    raise _Retry(_describe(exc)) from None
            if len(body) > MAX_PAGE:
                raise UnexpectedAnswer(f"{url}: the answer is larger than {MAX_PAGE >> 20} MB; expected a page or "
                                       "a JSON document")
            if length is not None and length.isdigit() and len(body) < int(length):
                raise _Retry(f"the connection closed after {len(body):,} of {int(length):,} bytes")
            return body

        return self._retrying(url, attempt)  # type: ignore[return-value]

    def get_json(self, url: str):
        """A JSON answer (HTTP 404 raises NotFound; other refusals FetchError, with the answer's start)."""
        body = self.get_bytes(url, accept="application/json")
        try:
            return json.loads(body)
        except ValueError:
            shown = body[:80].decode("utf-8", "replace").replace("\n", " ")  # type: ignore[union-attr]
            raise UnexpectedAnswer(f"{url}: the answer is not JSON (it begins {shown!r}); expected a JSON document "
                                   "from the API") from None

    # --- files ------------------------------------------------------------------------------

    def download(self, url: str, dest: Path, *, size: int | None = None, checksum: str | None = None,
                 progress: Progress | None = None, etag: str | None = None,
                 last_modified: str | None = None) -> Downloaded:
        """Stream `url` to `dest`, resuming a partial download left by an earlier attempt or run.

        `size` and `checksum` are what the publisher says the file is (checked when given);
        `etag`/`last_modified`, the validators of the copy already loaded, make the request
        conditional: the answer "304 Not Modified" returns status "not_modified" and writes
        nothing."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        meta_path = dest.with_name(dest.name + ".part.json")
        expected = parse_hash(checksum)
        meta = _read_meta(meta_path)
        if meta.get("url") != url or not part.exists():
            part.unlink(missing_ok=True)
            meta = {"url": url}
        hashes = _Hashes(expected[0] if expected else None)
        result = Downloaded(dest, "downloaded")
        requests_before = self.requests

        def attempt() -> Downloaded:
            nonlocal hashes
            have = part.stat().st_size if part.exists() else 0
            if size is not None and have > size:
                part.unlink()
                have = 0
            if hashes.count != have:  # resuming: the bytes already on disk are hashed first
                hashes = _Hashes(expected[0] if expected else None)
                if have:
                    _hash_file(part, hashes)
            headers = {}
            if have:
                headers["Range"] = f"bytes={have}-"
                validator = meta.get("etag") or meta.get("last_modified")
                if validator:
                    headers["If-Range"] = validator
            else:
                if etag:
                    headers["If-None-Match"] = etag
                if last_modified:
                    headers["If-Modified-Since"] = last_modified
            resp = self._open(url, headers)
            with resp:
                status = resp.status if hasattr(resp, "status") else resp.code
                if status == 304:
                    if not have:
                        return Downloaded(dest, "not_modified", etag=etag, last_modified=last_modified)
                    part.unlink(missing_ok=True)
                    raise _Restart()
                if status == 416:
                    total = _content_range_total(resp.headers.get("Content-Range"))
                    if have and total == have:
                        return _finish(have)
                    part.unlink(missing_ok=True)
                    raise _Restart()
                if status == 206:
                    start, total = _content_range(resp.headers.get("Content-Range"))
                    if start != have:
                        part.unlink(missing_ok=True)
                        raise _Restart()
                elif have:  # 200: the whole file again (no Range support, or it changed)
                    part.unlink(missing_ok=True)
                    have = 0
                    hashes = _Hashes(expected[0] if expected else None)
                    total = None
                else:
                    total = None
                length = resp.headers.get("Content-Length")
                remaining = int(length) if length and length.isdigit() else None
                if total is None and remaining is not None:
                    total = have + remaining
                meta.update({"url": url, "etag": resp.headers.get("ETag"),
                             "last_modified": resp.headers.get("Last-Modified")})
                _write_meta(meta_path, meta)
                result.resumed_from = have
                received = _stream(resp, part, hashes, have, total or size, progress)
            if remaining is not None and received < remaining:
                raise _Retry(f"the connection closed after {have + received:,} of {have + remaining:,} bytes",
                             progressed=received > 0)
            return _finish(have + received)

        def _finish(done: int) -> Downloaded:
            result.size = done
            return result

        while True:
            try:
                outcome = self._retrying(url, attempt)
                break
            except _Restart:
                hashes = _Hashes(expected[0] if expected else None)
                continue
        assert isinstance(outcome, Downloaded)
        outcome.requests = self.requests - requests_before
        if outcome.status == "not_modified":
            return outcome
        if hashes.count != outcome.size:  # finished by a 416 on a complete part: hash it
            hashes = _Hashes(expected[0] if expected else None)
            _hash_file(part, hashes)
        if size is not None and outcome.size != size:
            _discard(part, meta_path)
            raise VerifyError(f"{url}: downloaded {outcome.size:,} bytes but the publisher says the file has "
                              f"{size:,}; the partial file was removed and nothing was loaded")
        if expected is not None:
            algo, want = expected
            got = hashes.digest(algo)
            if got != want:
                _discard(part, meta_path)
                raise VerifyError(f"{url}: the {algo} checksum of the {outcome.size:,} bytes downloaded is {got}; "
                                  f"the publisher says {want}; the file was removed and nothing was loaded")
        outcome.sha256 = hashes.digest("sha256")
        outcome.etag = meta.get("etag")
        outcome.last_modified = meta.get("last_modified")
        with open(part, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(part, dest)
        meta_path.unlink(missing_ok=True)
        return outcome


# --- helpers ----------------------------------------------------------------------------------


def _stream(resp, part: Path, hashes: _Hashes, have: int, total: int | None, progress: Progress | None) -> int:
    """Copy the body to the end of `part` as it arrives (each read takes what the connection has,
    up to CHUNK, and is written at once, unbuffered): a run killed or stalled part-way leaves on
    disk every byte received, for the next attempt to continue from. Returns the bytes received."""
    received = 0
    with open(part, "ab", buffering=0) as out:
        while True:
            try:
                block = resp.read1(CHUNK)
            except (TimeoutError, socket.timeout, ConnectionError, http.client.HTTPException, OSError) as exc:
                raise _Retry(f"{_describe(exc)} after {have + received:,} bytes", progressed=received > 0) from None
            if not block:
                break
            try:
                view = memoryview(block)
                while view:
                    view = view[out.write(view):]
            except OSError as exc:  # a full disk, say: not worth retrying
                raise FetchError(f"{part}: cannot write the download ({exc.strerror or exc}) after "
                                 f"{have + received:,} bytes; the partial file is kept for the next run") from None
            hashes.update(block)
            received += len(block)
            if progress is not None:
                progress(have + received, total)
    return received


def _hash_file(path: Path, hashes: _Hashes) -> None:
    with open(path, "rb") as f:
        while block := f.read(CHUNK * 4):
            hashes.update(block)


def _discard(part: Path, meta: Path) -> None:
    part.unlink(missing_ok=True)
    meta.unlink(missing_ok=True)


def _read_meta(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_meta(path: Path, meta: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(meta), encoding="utf-8")
    os.replace(tmp, path)


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    m = re.fullmatch(r"\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*", value or "")
    if not m:
        return None, None
    return int(m.group(1)), (int(m.group(3)) if m.group(3) != "*" else None)


def _content_range_total(value: str | None) -> int | None:
    m = re.fullmatch(r"\s*bytes\s+\*/(\d+)\s*", value or "")
    return int(m.group(1)) if m else None


def _retry_after(headers) -> float | None:
    value = headers.get("Retry-After") if headers else None
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _snippet(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read(300).decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - the body of an error is only a courtesy
        return ""
    text = " ".join(text.split())
    return f" ({text[:120]})" if text else ""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name ({exc.strerror or exc})"
    if isinstance(exc, http.client.IncompleteRead):
        return "the connection closed early"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "the connection was reset"
    text = str(exc) or type(exc).__name__
    return text
