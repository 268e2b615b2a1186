"""`uptake fetch trials` against a local server replaying real recorded ClinicalTrials.gov API v2
answers: paging with nextPageToken, a dropped connection retried, a run that stops part-way
continued from the page it reached, and the joined pages loaded into the warehouse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from uptake.catalogue.trial_conditions import load_trial_conditions
from uptake.errors import UptakeError
from uptake.sources.fetch import Http
from uptake.sources.fetch.trials import fetch_trials, page_url, query_for

SRC = Path(__file__).resolve().parents[3] / "src"
RECORDED = "trials/ctgov_v2_api_recorded"
GROUP = "atrial_fibrillation"


def _pages(shared_data) -> list[dict]:
    """Three real answers chained by their tokens: the Phelan search's first page (5 studies, a
    token), the page that token gave (5, another token) and, standing for the last page, the same
    search's answer without a token (3 studies)."""
    folder = shared_data / RECORDED
    return [json.loads((folder / name).read_text()) for name in (
        "search_phelan_limit5_20260811.json", "search_phelan_next_20260811.json", "search_phelan_limit50_20260811.json")]


def _serve(site, pages: list[dict], query: dict) -> list[str]:
    """Routes for the chain of pages; returns the paths in order."""
    paths, token = [], None
    for page in pages:
        url = page_url("", query, token)
        paths.append("/ctgov" + url)
        site.json("/ctgov" + url, page)
        token = page.get("nextPageToken")
    return paths


def _nct_ids(pages: list[dict]) -> list[str]:
    seen: list[str] = []
    for page in pages:
        for s in page["studies"]:
            nct = s["protocolSection"]["identificationModule"]["nctId"]
            if nct not in seen:
                seen.append(nct)
    return seen


def test_pages_are_followed_a_dropped_connection_retried_and_the_trials_loaded(site, make_settings, tmp_path,
                                                                               warehouse, shared_data):
    pages = _pages(shared_data)
    query = query_for(load_trial_conditions().groups[GROUP].terms)
    paths = _serve(site, pages, query)
    site.routes[paths[1]].script.append(("drop", 200))  # page 2: the connection drops after 200 bytes
    outcomes = fetch_trials(Http(make_settings()), site.url("/ctgov"), tmp_path / "downloads", warehouse.load,
                            groups=[GROUP])
    assert [o.to_dict()["pages"] for o in outcomes] == [3]
    asked = [r["path"] for r in site.requests()]
    assert asked == [paths[0], paths[1], paths[1], paths[2]]  # page 2 asked again after the drop
    assert parse_qs(urlsplit(paths[2]).query)["pageToken"] == [pages[1]["nextPageToken"]]
    params = parse_qs(urlsplit(paths[0]).query)
    assert params["query.cond"] == ['"atrial fibrillation"'] and params["query.locn"] == ["United Kingdom"]
    expected = _nct_ids(pages)
    assert outcomes[0].studies == len(expected)
    con = warehouse.connect()
    loaded = [r[0] for r in con.execute("SELECT trial_id FROM trials ORDER BY trial_id").fetchall()]
    assert loaded == sorted(expected)
    fetched = con.execute("SELECT DISTINCT fetched FROM trials").fetchall()
    assert len(fetched) == 1 and fetched[0][0] is not None  # live, not the recorded sample
    assert not (tmp_path / "downloads" / "trials" / GROUP).exists()  # pages removed once loaded


def test_a_run_that_stops_is_continued_from_the_page_it_reached(site, make_settings, tmp_path, warehouse,
                                                                shared_data):
    pages = _pages(shared_data)
    query = query_for(load_trial_conditions().groups[GROUP].terms)
    paths = _serve(site, pages, query)
    site.routes[paths[2]].script.extend([("fail", 503)] * 2)  # page 3 fails both attempts
    http = Http(make_settings(attempts=2))
    with pytest.raises(UptakeError, match="503"):
        fetch_trials(http, site.url("/ctgov"), tmp_path / "downloads", warehouse.load, groups=[GROUP])
    progress = json.loads((tmp_path / "downloads" / "trials" / GROUP / "progress.json").read_text())
    assert (progress["pages"], progress["next"]) == (2, pages[1]["nextPageToken"])
    assert warehouse.connect().execute("SELECT count(*) FROM trials").fetchone()[0] == 0  # nothing loaded
    site.clear()
    outcomes = fetch_trials(http, site.url("/ctgov"), tmp_path / "downloads", warehouse.load, groups=[GROUP])
    assert [r["path"] for r in site.requests()] == [paths[2]]  # only the page not yet fetched
    assert (outcomes[0].resumed_from, outcomes[0].pages, outcomes[0].studies) == (2, 3, len(_nct_ids(pages)))


def test_the_command_uses_the_base_url_from_the_environment(site, tmp_path, shared_data):
    pages = _pages(shared_data)[2:]  # one page, no token
    query = query_for(load_trial_conditions().groups[GROUP].terms)
    _serve(site, pages, query)
    env = dict(os.environ, PYTHONPATH=str(SRC), UPTAKE_CTGOV_URL=site.url("/ctgov"), UPTAKE_FETCH_BACKOFF="0",
               UPTAKE_FETCH_INTERVAL="0")
    env.pop("UPTAKE_WAREHOUSE", None)
    done = subprocess.run([sys.executable, "-m", "uptake", "--home", str(tmp_path), "fetch", "trials",
                           "--condition", GROUP], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"loaded trials {GROUP}: 3 studies in 1 pages" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "uptake", "--home", str(tmp_path), "fetch", "trials",
                          "--condition", "warts"], env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "unknown condition group(s) warts" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
