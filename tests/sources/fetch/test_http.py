"""The download client against the local server: whole files, resume after a dropped connection
(within a run and across runs), 503s and timeouts retried with exponential backoff, the rate
limit between requests, size and checksum verification, conditional requests."""

from __future__ import annotations

import hashlib
import json

import pytest

from uptake.errors import UptakeError
from uptake.sources.fetch import FetchError, Http, NotFound, VerifyError
from uptake.sources.fetch.http import parse_hash


@pytest.fixture
def epd_bytes(shared_data) -> bytes:
    return (shared_data / "epd" / "openprescribing_e2e_EPD_201709_4practices.csv.gz").read_bytes()


def test_download_streams_the_whole_file_to_disk(site, http, tmp_path, epd_bytes):
    site.file("/f/epd.csv.gz", epd_bytes)
    dest = tmp_path / "epd.csv.gz"
    got = http.download(site.url("/f/epd.csv.gz"), dest, size=len(epd_bytes),
                        checksum=hashlib.sha256(epd_bytes).hexdigest())
    assert dest.read_bytes() == epd_bytes
    assert got.status == "downloaded" and got.size == len(epd_bytes)
    assert got.sha256 == hashlib.sha256(epd_bytes).hexdigest()
    assert not (tmp_path / "epd.csv.gz.part").exists() and not (tmp_path / "epd.csv.gz.part.json").exists()
    assert [r["status"] for r in site.requests()] == [200]
    assert site.requests()[0]["User-Agent"].startswith("uptake/")


def test_a_dropped_connection_is_resumed_with_a_range_request(site, http, tmp_path, epd_bytes):
    route = site.file("/f/epd.csv.gz", epd_bytes)
    route.script = [("drop", 100_000)]  # the first answer closes after 100,000 bytes of the body
    seen = []
    got = http.download(site.url("/f/epd.csv.gz"), tmp_path / "epd.csv.gz", size=len(epd_bytes),
                        progress=lambda done, total: seen.append((done, total)))
    assert (tmp_path / "epd.csv.gz").read_bytes() == epd_bytes
    first, second = site.requests()
    assert first["status"] == 200 and first["sent"] == 100_000 and first["Range"] is None
    assert second["status"] == 206 and second["Range"] == "bytes=100000-"
    assert second["If-Range"] == route.etag  # a changed file would be sent whole, not spliced
    assert second["sent"] == len(epd_bytes) - 100_000
    assert got.resumed_from == 100_000 and got.sha256 == hashlib.sha256(epd_bytes).hexdigest()
    assert seen[-1] == (len(epd_bytes), len(epd_bytes))
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))


def test_an_interrupted_download_is_continued_by_the_next_run(site, make_settings, tmp_path, epd_bytes):
    route = site.file("/f/epd.csv.gz", epd_bytes)
    # The first run: the connection drops after 60,000 bytes, then the server is down until the run gives up.
    route.script = [("drop", 60_000), ("fail", 503), ("fail", 503)]
    dest = tmp_path / "epd.csv.gz"
    with pytest.raises(FetchError) as info:
        Http(make_settings(attempts=2)).download(site.url("/f/epd.csv.gz"), dest, size=len(epd_bytes))
    assert "HTTP 503" in str(info.value) and "gave up after 2 attempts" in str(info.value)
    part = tmp_path / "epd.csv.gz.part"
    assert part.read_bytes() == epd_bytes[:60_000]
    assert json.loads((tmp_path / "epd.csv.gz.part.json").read_text())["url"] == site.url("/f/epd.csv.gz")
    assert not dest.exists()
    # The next run continues from the 60,000 bytes on disk.
    route.script = []
    site.clear()
    got = Http(make_settings()).download(site.url("/f/epd.csv.gz"), dest, size=len(epd_bytes))
    assert dest.read_bytes() == epd_bytes and not part.exists()
    (only,) = site.requests()
    assert only["Range"] == "bytes=60000-" and only["status"] == 206 and got.resumed_from == 60_000


def test_a_file_changed_between_runs_is_downloaded_whole(site, http, make_settings, tmp_path, epd_bytes):
    dest = tmp_path / "f.gz"
    route = site.file("/f/x.gz", epd_bytes)
    route.script = [("drop", 50_000), ("fail", 503)]
    with pytest.raises(FetchError):
        Http(make_settings(attempts=1)).download(site.url("/f/x.gz"), dest)
    # the file is replaced by another (new ETag): the If-Range does not match, the server sends it all
    other = epd_bytes[::-1]
    site.file("/f/x.gz", other)
    site.clear()
    got = http.download(site.url("/f/x.gz"), dest)
    assert dest.read_bytes() == other and got.resumed_from == 0
    (only,) = site.requests()
    assert only["Range"] == "bytes=50000-" and only["status"] == 200


def test_a_server_without_range_support_is_read_again_from_the_start(site, http, tmp_path, epd_bytes):
    route = site.file("/f/x.gz", epd_bytes, ranges=False)
    route.script = [("drop", 70_000)]
    http.download(site.url("/f/x.gz"), tmp_path / "x.gz", size=len(epd_bytes))
    assert (tmp_path / "x.gz").read_bytes() == epd_bytes
    assert [r["status"] for r in site.requests()] == [200, 200]


def test_503_then_success_with_exponential_backoff(site, make_settings, fake_clock, tmp_path, epd_bytes):
    route = site.file("/f/x.gz", epd_bytes)
    route.script = [("fail", 503), ("fail", 502), ("fail", 503)]
    http = Http(make_settings(attempts=4, backoff=1.5, backoff_max=60), clock=fake_clock.clock,
                sleep=fake_clock.sleep)
    http.download(site.url("/f/x.gz"), tmp_path / "x.gz")
    assert (tmp_path / "x.gz").read_bytes() == epd_bytes
    assert [r["status"] for r in site.requests()] == [503, 502, 503, 200]
    assert fake_clock.sleeps == [1.5, 3.0, 6.0]


def test_retry_after_is_honoured_within_the_longest_wait(site, make_settings, fake_clock):
    route = site.file("/p", b"{}", content_type="application/json")
    route.script, route.retry_after = [("fail", 429), ("fail", 503)], "30"
    http = Http(make_settings(attempts=3, backoff=1.0, backoff_max=20), clock=fake_clock.clock, sleep=fake_clock.sleep)
    assert http.get_json(site.url("/p")) == {}
    assert fake_clock.sleeps == [20.0, 20.0]


def test_5xx_forever_gives_up_with_one_line_naming_the_url(site, make_settings, tmp_path):
    route = site.file("/f/x.gz", b"data")
    route.script = [("fail", 503)] * 10
    with pytest.raises(FetchError) as info:
        Http(make_settings(attempts=3)).download(site.url("/f/x.gz"), tmp_path / "x.gz")
    message = str(info.value)
    assert message.startswith(site.url("/f/x.gz") + ": HTTP 503")
    assert "gave up after 3 attempts" in message and "\n" not in message
    assert len(site.requests()) == 3 and not (tmp_path / "x.gz").exists()


def test_a_timeout_is_retried(site, make_settings, tmp_path, epd_bytes):
    route = site.file("/f/x.gz", epd_bytes)
    route.script = [("stall", 1.5)]  # the first answer comes after the client has stopped waiting
    http = Http(make_settings(timeout=0.4, attempts=3))
    http.download(site.url("/f/x.gz"), tmp_path / "x.gz")
    assert (tmp_path / "x.gz").read_bytes() == epd_bytes
    assert len(site.requests()) == 2


def test_404_is_not_retried(site, http, tmp_path):
    with pytest.raises(NotFound) as info:
        http.download(site.url("/nothing.csv"), tmp_path / "x.csv")
    assert "HTTP 404" in str(info.value) and len(site.requests()) == 1


def test_the_rate_limit_spaces_requests_to_one_host(site, make_settings, fake_clock):
    site.file("/a", b"{}", content_type="application/json")
    http = Http(make_settings(interval=2.5), clock=fake_clock.clock, sleep=fake_clock.sleep)
    sent = []
    original = http._wait_turn

    def recording(url):
        original(url)
        sent.append((url.split("/")[2], fake_clock.now))

    http._wait_turn = recording
    for _ in range(3):
        http.get_json(site.url("/a"))
    # another host name for the same server is another host: no wait for it
    http.get_json(site.url("/a").replace("127.0.0.1", "localhost"))
    assert len(site.requests()) == 4
    times = [t for host, t in sent if host.startswith("127.0.0.1")]
    assert all(b - a >= 2.5 for a, b in zip(times, times[1:]))
    assert fake_clock.sleeps == [2.5, 2.5]


def test_a_truncated_file_is_refused_and_removed(site, http, tmp_path, epd_bytes):
    site.file("/f/x.gz", epd_bytes[:200_000])
    with pytest.raises(VerifyError) as info:
        http.download(site.url("/f/x.gz"), tmp_path / "x.gz", size=len(epd_bytes))
    assert f"downloaded 200,000 bytes but the publisher says the file has {len(epd_bytes):,}" in str(info.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("algo", ["sha256", "md5"])
def test_a_checksum_mismatch_is_refused_and_removed(site, http, tmp_path, epd_bytes, algo):
    corrupt = bytearray(epd_bytes)
    corrupt[1234] ^= 0xFF
    site.file("/f/x.gz", bytes(corrupt))
    want = hashlib.new(algo, epd_bytes).hexdigest()
    with pytest.raises(VerifyError) as info:
        http.download(site.url("/f/x.gz"), tmp_path / "x.gz", size=len(epd_bytes),
                      checksum=want if algo == "sha256" else f"md5:{want}")
    assert f"the {algo} checksum" in str(info.value) and want in str(info.value)
    assert list(tmp_path.iterdir()) == []
    # the right bytes pass the same check
    site.file("/f/x.gz", epd_bytes)
    http.download(site.url("/f/x.gz"), tmp_path / "x.gz", size=len(epd_bytes), checksum=f"{algo}:{want}")
    assert (tmp_path / "x.gz").read_bytes() == epd_bytes


def test_a_conditional_request_answered_not_modified_writes_nothing(site, http, tmp_path, epd_bytes):
    route = site.file("/f/x.gz", epd_bytes)
    got = http.download(site.url("/f/x.gz"), tmp_path / "x.gz", etag=route.etag, last_modified=route.last_modified)
    assert got.status == "not_modified" and not (tmp_path / "x.gz").exists()
    (only,) = site.requests()
    assert only["status"] == 304 and only["If-None-Match"] == route.etag


def test_checksums_as_publishers_write_them():
    sha = "a" * 64
    assert parse_hash(sha) == ("sha256", sha)
    assert parse_hash("SHA256:" + sha.upper()) == ("sha256", sha)
    assert parse_hash("md5:" + "b" * 32) == ("md5", "b" * 32)
    assert parse_hash("c" * 40) == ("sha1", "c" * 40)
    assert parse_hash("") is None and parse_hash(None) is None
    assert parse_hash("md5:" + "b" * 64) is None  # the length does not fit the algorithm: not checked
    assert parse_hash("not a hash") is None


def test_settings_from_the_environment_and_settings_json(monkeypatch, tmp_path):
    from uptake.sources.fetch import FetchSettings

    (tmp_path / "settings.json").write_text(json.dumps({"today": "2022-09-30",
                                                        "fetch": {"nhse_url": "https://mirror.example/nhse/",
                                                                  "interval": 0.5}}))
    monkeypatch.setenv("UPTAKE_NHSBSA_URL", "http://127.0.0.1:9/ckan/")
    monkeypatch.setenv("UPTAKE_FETCH_ATTEMPTS", "7")
    s = FetchSettings.load(tmp_path)
    assert s.nhsbsa_url == "http://127.0.0.1:9/ckan" and s.nhse_url == "https://mirror.example/nhse"
    assert s.attempts == 7 and s.interval == 0.5
    assert s.ods_url == "https://www.odsdatasearchandexport.nhs.uk"
    monkeypatch.setenv("UPTAKE_ODS_URL", "ftp://nowhere")
    with pytest.raises(UptakeError, match="UPTAKE_ODS_URL"):
        FetchSettings.load(tmp_path)
    monkeypatch.setenv("UPTAKE_ODS_URL", "https://ods.example")
    monkeypatch.setenv("UPTAKE_FETCH_TIMEOUT", "soon")
    with pytest.raises(UptakeError, match="UPTAKE_FETCH_TIMEOUT = 'soon': expected a float"):
        FetchSettings.load(tmp_path)
