"""`uptake fetch trials`: the trials recruiting in the UK for each TA's condition, from the
ClinicalTrials.gov API v2 (`$UPTAKE_CTGOV_URL/studies`), page by page with `nextPageToken`.

Each condition group of the catalogue (catalogue/data/trial_conditions.yaml) is one query:
its terms joined with OR, in the United Kingdom, recruiting or not yet recruiting. Every page is
written to the downloads directory as it arrives, with a progress file naming the token of the
next page::

    trials/<group>/progress.json     the query, the pages so far, the next token (or done)
    trials/<group>/page-0001.json    the API's answers, as received

so a run that stops (a dropped connection that outlasts the retries, the process killed) is
continued by the next run from the page it had reached; a progress file for a different query
is started again. When the last page (no `nextPageToken`) is in, the pages are joined into one
API-format file, `ctgov_<group>.json` ({"studies": [...], "fetched": time, "query": ...}), read
by the ClinicalTrials.gov reader and loaded atomically; its `fetched` tells the pages that these
trials are live, not the recorded sample.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

from ...catalogue.trial_conditions import load_trial_conditions
from ...errors import UptakeError
from .errors import UnexpectedAnswer
from .http import Http

PAGE_SIZE = 100
STATUSES = "RECRUITING,NOT_YET_RECRUITING"
COUNTRY = "United Kingdom"


@dataclass
class TrialsOutcome:
    group: str
    pages: int
    studies: int
    file: str
    loaded: bool
    resumed_from: int  # pages already fetched by an earlier run

    def to_dict(self) -> dict:
        return self.__dict__.copy()


def query_for(terms: tuple[str, ...], page_size: int = PAGE_SIZE) -> dict[str, str]:
    """The /studies parameters for one condition group (without the page token)."""
    return {"format": "json", "query.cond": " OR ".join(f'"{t}"' for t in terms), "query.locn": COUNTRY,
            "filter.overallStatus": STATUSES, "pageSize": str(page_size)}


def page_url(base: str, query: dict[str, str], token: str | None) -> str:
    return f"{base}/studies?" + urlencode({**query, **({"pageToken": token} if token else {})})


def _write_json(path: Path, data) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)


def fetch_group(http: Http, base: str, folder: Path, group: str, query: dict[str, str],
                on_page: Callable[[int, int], None] | None = None) -> tuple[Path, int, int, int]:
    """Fetch every page of one query into `folder` (resuming), join them; return (joined file,
    pages, studies, pages resumed)."""
    folder.mkdir(parents=True, exist_ok=True)
    progress_path = folder / "progress.json"
    progress = json.loads(progress_path.read_text()) if progress_path.exists() else None
    if not progress or progress.get("query") != query:
        for old in folder.glob("page-*.json"):
            old.unlink()
        progress = {"query": query, "pages": 0, "next": None, "done": False}
    resumed = progress["pages"]
    while not progress["done"]:
        url = page_url(base, query, progress["next"])
        answer = http.get_json(url)
        if not isinstance(answer, dict) or not isinstance(answer.get("studies"), list):
            raise UnexpectedAnswer(f"{url}: no 'studies' list in the answer; expected a ClinicalTrials.gov API v2 "
                                   "/studies page")
        n = progress["pages"] + 1
        _write_json(folder / f"page-{n:04d}.json", answer)
        token = answer.get("nextPageToken")
        progress.update(pages=n, next=token, done=not token)
        _write_json(progress_path, progress)
        if on_page:
            on_page(n, len(answer["studies"]))
    studies, seen = [], set()
    for n in range(1, progress["pages"] + 1):
        for study in json.loads((folder / f"page-{n:04d}.json").read_text())["studies"]:
            nct = (((study or {}).get("protocolSection") or {}).get("identificationModule") or {}).get("nctId")
            if nct not in seen:  # a study can move between pages while they are fetched
                seen.add(nct)
                studies.append(study)
    joined = folder.parent / f"ctgov_{group}.json"
    fetched = datetime.now(timezone.utc).isoformat(timespec="seconds")
    _write_json(joined, {"studies": studies, "fetched": fetched, "query": query})
    return joined, progress["pages"], len(studies), resumed


def fetch_trials(http: Http, base: str, downloads: Path, load: Callable[[Path], object] | None, *,
                 groups: list[str] | None = None, page_size: int = PAGE_SIZE, keep: bool = False,
                 on_page: Callable[[str, int, int], None] | None = None) -> list[TrialsOutcome]:
    """Fetch each condition group's pages and hand the joined file to `load` (e.g. a warehouse's
    load), unless it is None."""
    conditions = load_trial_conditions()
    chosen = groups or sorted(set(conditions.tas.values()))
    unknown = [g for g in chosen if g not in conditions.groups]
    if unknown:
        raise UptakeError(f"unknown condition group(s) {', '.join(unknown)}; expected some of "
                          f"{', '.join(sorted(conditions.groups))}")
    outcomes = []
    for group in chosen:
        folder = downloads / "trials" / group
        query = query_for(conditions.groups[group].terms, page_size)
        joined, pages, studies, resumed = fetch_group(
            http, base, folder, group, query, (lambda n, k, g=group: on_page(g, n, k)) if on_page else None)
        loaded = False
        if load is not None and studies:
            load(joined)
            loaded = True
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
            if loaded:
                joined.unlink(missing_ok=True)
        outcomes.append(TrialsOutcome(group, pages, studies, str(joined), loaded, resumed))
    return outcomes
