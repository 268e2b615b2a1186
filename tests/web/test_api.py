"""The API: figures equal the services' (and so the engine's), CSV equals JSON, a bad request is
a 4xx with a message, and answers carry ETag / Last-Modified and honour them."""

from __future__ import annotations

import csv
import io

import pytest

from uptake.services.scorecard import profile, scorecard
from uptake.services.variation import variation


def _json(client, url, status=200):
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code, r.content[:300])
    return r.json()


def test_scorecard_json_equals_the_service(client, pub):
    got = _json(client, "/api/v1/scorecard/TA275?level=icb&month=2022-09")
    want = scorecard(pub, "TA275", "icb", "2022-09").to_dict()
    assert got["england"]["value"] == pytest.approx(want["england"]["value"], rel=1e-12)
    assert [r["org"] for r in got["rows"]] == [r["org"] for r in want["rows"]]
    for g, w in zip(got["rows"], want["rows"]):
        assert g["value"] == pytest.approx(w["value"], rel=1e-12) if w["value"] is not None else g["value"] is None
        assert g["flag_998_od"] == w["flag_998_od"] and g["suppressed"] == w["suppressed"]
    assert got["funnel"]["areas"] == want["funnel"]["areas"] > 0


def test_scorecard_csv_equals_json(client):
    data = _json(client, "/api/v1/scorecard/TA275?level=sub_icb")
    r = client.get("/api/v1/scorecard/TA275?level=sub_icb&format=csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert rows[0]["org"] == "ENG" and len(rows) == len(data["rows"]) + 1
    for row, want in zip(rows[1:], data["rows"]):
        assert row["org"] == want["org"]
        assert (float(row["value"]) if row["value"] else None) == pytest.approx(want["value"]) \
            if want["value"] is not None else row["value"] == ""
    accept = client.get("/api/v1/scorecard/TA275?level=sub_icb", HTTP_ACCEPT="text/csv")
    assert accept.content == r.content


def test_profile_variation_diffusion_deciles(client, pub):
    icb = next(o["code"] for o in pub.organisations() if o["level"] == "icb")
    got = _json(client, f"/api/v1/organisations/{icb.lower()}/profile")
    want = profile(pub, icb).to_dict()
    assert [r["ta"] for r in got["rows"]] == [r["ta"] for r in want["rows"]]
    assert got["rows"][0]["value"] == pytest.approx(want["rows"][0]["value"])
    v = _json(client, "/api/v1/variation/TA275?level=sub_icb")
    vw = variation(pub, "TA275", "sub_icb")
    assert v["summary"]["p90_p10"] == pytest.approx(vw.summary["p90_p10"])
    assert len(v["points"]) == len(vw.points)
    d = _json(client, "/api/v1/diffusion/TA275")
    assert d["ta"] == "TA275" and len(d["months"]) == len(d["england"]) > 0
    dec = _json(client, "/api/v1/deciles/TA275?level=icb")
    assert dec[-1]["month"] == "2022-09" and dec[-1]["p10"] <= dec[-1]["p50"] <= dec[-1]["p90"]
    card = scorecard(pub, "TA275", "icb", "2022-09", min_items=0)
    assert dec[-1]["p50"] == pytest.approx(card.deciles["p50"], rel=1e-12)


def test_organisations_search_and_hierarchy(client, pub):
    icb = next(o for o in pub.organisations() if o["level"] == "icb")
    hits = _json(client, f"/api/v1/organisations?q={icb['code']}")
    assert hits[0]["code"] == icb["code"]
    typo = icb["name"].replace("NHS ", "").split()[0][:-1]  # a word with its last letter lost
    assert icb["code"] in [h["code"] for h in _json(client, f"/api/v1/search?q={typo}")]
    detail = _json(client, f"/api/v1/organisations/{icb['code']}")
    assert detail["parent_level"] == "region" and detail["children"]
    assert {c["level"] for c in detail["children"]} == {"sub_icb"}
    tas = _json(client, "/api/v1/tas")
    assert "TA275" in [t["id"] for t in tas]
    assert _json(client, "/api/v1/tas/275")["id"] == "TA275"
    assert _json(client, "/api/v1/months")["latest"] == "2022-09"


@pytest.mark.parametrize("url,status,says", [
    ("/api/v1/scorecard/TA999999", 404, "TA999999"),
    ("/api/v1/scorecard/TA275?month=2022-13", 422, "month"),
    ("/api/v1/scorecard/TA275?month=2031-01", 400, "no prescribing loaded for 2031-01"),
    ("/api/v1/scorecard/TA275?level=ccg", 422, "level"),
    ("/api/v1/organisations/NOPE1", 404, "NOPE1"),
    ("/api/v1/organisations/NOPE1/profile", 404, "NOPE1"),
    ("/api/v1/diffusion/doac_share", 404, "measure"),
    ("/api/v1/deciles/TA275?level=england", 400, "level"),
    ("/api/v1/search?q=", 422, "q"),
])
def test_bad_requests_get_a_clear_4xx(client, url, status, says):
    r = client.get(url)
    assert r.status_code == status, r.content
    assert says.lower() in r.json()["detail"].lower()


def test_etag_and_last_modified(client):
    r = client.get("/api/v1/scorecard/TA275?level=icb")
    assert r["ETag"] and r["Last-Modified"]
    again = client.get("/api/v1/scorecard/TA275?level=icb", HTTP_IF_NONE_MATCH=r["ETag"])
    assert again.status_code == 304 and again.content == b""
    since = client.get("/api/v1/scorecard/TA275?level=icb", HTTP_IF_MODIFIED_SINCE=r["Last-Modified"])
    assert since.status_code == 304
    other = client.get("/api/v1/scorecard/TA275?level=region", HTTP_IF_NONE_MATCH=r["ETag"])
    assert other.status_code == 200 and other["ETag"] != r["ETag"]


def test_openapi_document(client):
    doc = _json(client, "/api/v1/openapi.json")
    paths = doc["paths"]
    for p in ("/api/v1/scorecard/{subject}", "/api/v1/organisations/{code}/profile", "/api/v1/variation/{subject}",
              "/api/v1/diffusion/{ta_id}", "/api/v1/tas", "/api/v1/search"):
        assert p in paths
    level = next(x for x in paths["/api/v1/scorecard/{subject}"]["get"]["parameters"] if x["name"] == "level")
    assert "icb" in str(level["schema"])
    assert client.get("/api/v1/docs").status_code == 200
