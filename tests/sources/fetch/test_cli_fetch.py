"""The commands: `uptake update` end to end against the local publisher site (fetch, load,
publish the scorecard; the second run fetches and loads nothing), `uptake fetch` with its
listing, and errors shown as one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from uptake.cli import app

SRC = Path(__file__).resolve().parents[3] / "src"
runner = CliRunner()


def _env(site) -> dict[str, str]:
    return {"UPTAKE_NHSBSA_URL": site.url("/nhsbsa"), "UPTAKE_NHSE_URL": site.url("/nhse"),
            "UPTAKE_ODS_URL": site.url("/ods"), "UPTAKE_FETCH_BACKOFF": "0", "UPTAKE_FETCH_INTERVAL": "0",
            "UPTAKE_FETCH_ATTEMPTS": "2"}


def _uptake(site, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(SRC), **_env(site))
    env.pop("UPTAKE_WAREHOUSE", None)
    return subprocess.run([sys.executable, "-m", "uptake", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_update_fetches_loads_and_publishes_then_does_nothing_the_second_time(nhs, home):
    first = _uptake(nhs.site, "--home", str(home), "update", "--since", "2016-01", "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["errors"] == {}
    assert sorted((o["source"], o["period"], o["action"]) for o in report["outcomes"]) == [
        ("epd", "2017-09", "loaded"), ("epd", "2017-10", "loaded"), ("list-sizes", "2016-01", "loaded"),
        ("ods", "current", "loaded"), ("qof", "2018-19", "loaded"), ("scmd", "2019-01", "loaded"),
        ("scmd", "2019-02", "loaded"), ("scmd", "2019-03", "loaded")]
    published = Path(report["published"]["path"])
    assert published == home / "published" / "scorecard.duckdb" and published.exists()
    assert (report["published"]["first_month"], report["published"]["last_month"]) == ("2017-09", "2017-10")
    with duckdb.connect(str(published), read_only=True) as con:
        tables = {t for (t,) in con.execute("SHOW TABLES").fetchall()}
        assert tables, "the scorecard was published with no tables"
    state = (home / "warehouse" / "state.json").read_bytes()
    stamp = published.stat().st_mtime_ns
    nhs.site.clear()

    second = _uptake(nhs.site, "--home", str(home), "update", "--json")
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert again["errors"] == {} and again["published"] is None
    assert [(o["source"], o["action"]) for o in again["outcomes"]] == [("ods", "not_modified")]
    assert (home / "warehouse" / "state.json").read_bytes() == state
    assert published.stat().st_mtime_ns == stamp
    assert {r["path"] for r in nhs.site.requests()} == {nhs.ODS_REPORT, nhs.EPD_API, nhs.SCMD_API, nhs.LIST_SERIES,
                                                        nhs.QOF_SERIES}
    assert all(r["status"] in (200, 304) for r in nhs.site.requests())


def test_fetch_epd_months_prints_a_line_per_month(nhs, home):
    result = runner.invoke(app, ["--home", str(home), "fetch", "epd", "--months", "2017-09..2017-10"],
                           env=_env(nhs.site))
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines[0].startswith("loaded epd 2017-09 (EPD_201709): 250,113 bytes downloaded, 10,027 prescribing rows")
    assert lines[1].startswith("loaded epd 2017-10 (EPD_201710): 178,230 bytes downloaded, 10,223 prescribing rows")
    again = runner.invoke(app, ["--home", str(home), "fetch", "epd", "--months", "2017-09"], env=_env(nhs.site))
    assert again.exit_code == 0 and again.stdout.startswith("up to date epd 2017-09 (EPD_201709)")


def test_fetch_list_shows_what_is_published_and_loaded(nhs, home):
    runner.invoke(app, ["--home", str(home), "fetch", "scmd", "--months", "2019-02"], env=_env(nhs.site))
    result = runner.invoke(app, ["--home", str(home), "fetch", "scmd", "--list", "--json"], env=_env(nhs.site))
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["period"], r["name"], r["state"]) for r in rows] == [
        ("2019-01", "SCMD_FINAL_201901", "not loaded"), ("2019-02", "SCMD_PROVISIONAL_201902", "loaded"),
        ("2019-03", "SCMD_WIP_201903", "not loaded")]


def test_update_dry_run_says_what_it_would_fetch(nhs, home):
    result = runner.invoke(app, ["--home", str(home), "update", "--only", "epd,qof", "--dry-run", "--json"],
                           env=_env(nhs.site))
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)["plan"]
    assert [(s["source"], s["period"], s["action"]) for s in plan] == [("epd", "2017-10", "fetch"),
                                                                       ("qof", "2018-19", "fetch")]
    assert not (home / "warehouse" / "state.json").exists()


def test_errors_are_one_line_without_a_traceback(nhs, home):
    changed = nhs.site.routes[nhs.epd_paths["2017-10"]]
    text = nhs.epd["2017-10"].read_bytes()
    import gzip

    body = gzip.decompress(text).decode().replace("ITEMS,TOTAL_QUANTITY", "ITEM_COUNT,TOTAL_QUANTITY", 1)
    changed.body, changed.file = gzip.compress(body.encode()), None
    nhs.epd_json["result"]["resources"][2]["size"] = len(changed.body)
    nhs.serve_epd_json()
    proc = _uptake(nhs.site, "--home", str(home), "fetch", "epd", "--months", "2017-10")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("error: ") and "missing ITEMS; new ITEM_COUNT" in lines[0]
    assert not (home / "warehouse" / "state.json").exists()
    bad = runner.invoke(app, ["--home", str(home), "fetch", "epd", "--months", "2017-13"], env=_env(nhs.site))
    assert bad.exit_code == 1 and "'2017-13' is not a month; expected YYYY-MM" in bad.output
    unknown = runner.invoke(app, ["--home", str(home), "update", "--only", "bnf"], env=_env(nhs.site))
    assert unknown.exit_code == 1 and "unknown source(s) bnf" in unknown.output


def test_a_killed_download_is_resumed_by_the_next_run(nhs, home):
    """SIGKILL part-way through a download: the next `uptake fetch` asks only for the rest."""
    route = nhs.site.routes[nhs.epd_paths["2017-09"]]
    route.script = [("hang", 120_000)]  # 120,000 bytes, then nothing more
    env = dict(os.environ, PYTHONPATH=str(SRC), **_env(nhs.site))
    proc = subprocess.Popen([sys.executable, "-m", "uptake", "--home", str(home), "fetch", "epd", "--months", "2017-09"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    part = home / "downloads" / "epd" / "2017-09" / "epd_201709.csv.gz.part"
    try:
        deadline = time.monotonic() + 60
        while not (part.exists() and part.stat().st_size > 0) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    have = part.stat().st_size
    assert 0 < have <= 120_000
    assert not (home / "warehouse" / "state.json").exists()
    nhs.site.clear()
    result = runner.invoke(app, ["--home", str(home), "fetch", "epd", "--months", "2017-09", "--keep"],
                           env=_env(nhs.site))
    assert result.exit_code == 0, result.output
    assert f"resumed at {have:,} bytes" in result.stdout and "10,027 prescribing rows" in result.stdout
    (asked,) = nhs.site.requests(nhs.epd_paths["2017-09"])
    assert asked["Range"] == f"bytes={have}-" and asked["status"] == 206
    kept = home / "downloads" / "epd" / "2017-09" / "epd_201709.csv.gz"
    assert kept.read_bytes() == nhs.epd["2017-09"].read_bytes() and not part.exists()
