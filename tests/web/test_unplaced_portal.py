"""The portal says what it could not place: a publication of a DOAC file keyed by the CCG codes
of 2020 with only epraccur 2026 to place them (issue 17, item 4). The page and the API show
"n items from k organisations not placed in any ICB", n and k as pandas counts them."""

from __future__ import annotations

import html

import pandas as pd
import pytest
from django.test import override_settings
from epd_files import write_doac_by_ccg

from uptake.services.analysis import open_analysis
from uptake.services.publish import publish
from uptake.warehouse import Warehouse

CCG21 = "ods/ccg21_to_stp21_lookup.csv"


@pytest.fixture(scope="module")
def ccg_publication(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("ccg-portal")
    path = root / "doac_by_ccg_2020_codes.csv"
    raw = write_doac_by_ccg(shared_data, ["2020-07-01"], path)
    wh = Warehouse(root / "warehouse")
    for f in (path, shared_data / "ods/epraccur_2026-02.csv.gz"):
        wh.load(f)
    published = root / "scorecard.duckdb"
    with open_analysis(wh) as an:
        publish(an, published)
    ccg21 = set(pd.read_csv(shared_data / CCG21, dtype=str, encoding="utf-8-sig").CCG21CDH)
    gone = raw[~raw.pct_id.isin(ccg21)]  # merged in April 2021: epraccur 2026 does not know them
    return published, len(gone), int(gone.total_doac_warfain.sum())


def test_page_and_api_say_what_is_not_placed(client, ccg_publication):
    published, k, n = ccg_publication
    assert (k, n) == (38, 242_858)
    with override_settings(PUBLISHED=published):
        page = client.get("/ta/doac_share/", {"level": "icb", "month": "2020-07"})
        api = client.get("/api/v1/scorecard/doac_share", {"level": "icb", "month": "2020-07"})
        sub_icb = client.get("/api/v1/scorecard/doac_share", {"level": "sub_icb", "month": "2020-07"}).json()
    assert page.status_code == 200
    text = html.unescape(page.content.decode())
    assert f"{n:,} items from {k} organisations not placed in any ICB" in text
    body = api.json()
    assert body["unplaced"] == {"organisations": k, "count": n, "unit": "items"}
    assert any(note.startswith(f"{n:,} items from {k} organisations") for note in body["notes"])
    assert sum(r["denominator"] for r in body["rows"]) + n == body["england"]["denominator"]
    # every CCG code is a sub-ICB of its own: nothing is left out at that level
    assert sub_icb["unplaced"] is None and len(sub_icb["rows"]) == 135
