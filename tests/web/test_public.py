"""The public view, /my-area/, through Django's test client on the tiny NHS's publication with the
real postcode lookup (9 areas) and the real recorded trials: finding a practice by a misspelt
name and by postcode, practices near a home postcode in order of distance (checked against a
haversine worked here with pandas on the real NSPL file), plain words (reading age, no statistics
terms), never a small number, trials with their registry links, and the page weight."""

from __future__ import annotations

import math
from datetime import date
import re
from html import unescape

import pandas as pd
import pytest

from uptake.services.plain import about


JARGON = ("percentile", "funnel", "decile", "confidence", "statistic", "significan", "median", "index",
          "denominator", "numerator", "ods code", "per 1,000", "overdispers", "variation", "suppress")


@pytest.fixture(scope="module")
def public(client, public_warehouse):
    from django.test import override_settings

    with override_settings(WAREHOUSE=public_warehouse.root):
        yield client


@pytest.fixture(scope="module")
def practices(public_warehouse, shared_data, pub) -> pd.DataFrame:
    """The tiny NHS's open practices that have figures, with their postcodes' positions from the
    real NSPL files (read here with pandas, not through uptake)."""
    orgs = public_warehouse.connect().execute(
        "SELECT code, max(name) AS name, max(postcode) AS postcode FROM organisations "
        "WHERE type = 'practice' AND closed IS NULL GROUP BY code").df()
    published = {o["code"] for o in pub.organisations() if o["level"] == "practice"}
    orgs = orgs[orgs["code"].isin(published)]
    nspl = pd.concat(pd.read_csv(p, usecols=["pcds", "lat", "long"]) for p in
                     sorted((shared_data / "geo" / "nspl_nov2021_9_postcode_areas").glob("*.csv.gz")))
    nspl = nspl[nspl["lat"] < 99]
    return orgs.merge(nspl, left_on="postcode", right_on="pcds", how="left")


def _main(html: str) -> str:
    return html.split('<main id="main" tabindex="-1">', 1)[1].split("</main>", 1)[0]


def _text(html: str) -> str:
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def _miles(lat1, lon1, lat2, lon2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a)) / 1.609344


def _syllables(word: str) -> int:
    word = word.lower()
    groups = re.findall(r"[aeiouy]+", word)
    n = len(groups) - (1 if word.endswith("e") and not word.endswith(("le", "ee")) and len(groups) > 1 else 0)
    return max(1, n)


def blocks(html: str) -> str:
    """The text, one line per block (paragraph, list item, label, button): each is read on its own."""
    marked = re.sub(r"</(p|li|label|button|h[1-6]|div|legend)>", " \u00b6 ", html)
    return "\n".join(line.strip() for line in _text(marked).split("\u00b6") if line.strip())


def grade(text: str) -> tuple[float, int]:
    """Flesch-Kincaid grade of the text (a sentence ends at . ! ? or a line's end), and its longest
    sentence in words."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n", text) if re.search(r"[A-Za-z]", s)]
    words = re.findall(r"[A-Za-z][A-Za-z'-]*", text)
    syllables = sum(_syllables(w) for w in words)
    longest = max(len(re.findall(r"[A-Za-z][A-Za-z'-]*", s)) for s in sentences)
    return 0.39 * len(words) / len(sentences) + 11.8 * syllables / len(words) - 15.59, longest


def test_the_home_page_links_to_the_public_view(public):
    html = public.get("/").content.decode()
    assert 'href="/my-area/"' in html


def test_a_misspelt_practice_name_finds_the_practice(public, practices):
    row = practices.iloc[0]
    name = row["name"].title()
    misspelt = re.sub(r"([aeiou])", "", name.split()[0], count=1) + " " + " ".join(name.split()[1:])
    html = _main(public.get("/my-area/", {"q": misspelt}).content.decode())
    assert f'href="/my-area/{row["code"]}/"' in html, (misspelt, _text(html))


def test_a_practice_postcode_finds_the_practice(public, practices):
    row = practices.dropna(subset=["lat"]).iloc[0]
    html = _main(public.get("/my-area/", {"q": row["postcode"].lower().replace(" ", "")}).content.decode())
    assert f'href="/my-area/{row["code"]}/"' in html


def test_a_home_postcode_lists_the_nearest_practices_in_order(public, practices, shared_data):
    located = practices.dropna(subset=["lat"])
    assert len(located) >= 2, "the tiny NHS needs practices inside the 9 NSPL areas"
    home = pd.read_csv(shared_data / "geo" / "nspl_nov2021_9_postcode_areas" / "NSPL_NOV_2021_UK_HG.csv.gz",
                       usecols=["pcds", "lat", "long"]).query("pcds == 'HG1 1AA'").iloc[0]
    distances = sorted((_miles(home["lat"], home["long"], r["lat"], r["long"]), r["code"]) for _, r in located.iterrows())
    html = _main(public.get("/my-area/", {"postcode": "hg1 1aa"}).content.decode())
    shown = re.findall(r'href="/my-area/([A-Z0-9]+)/\?from=HG1%201AA"', html)
    assert shown == [code for _, code in distances[:5]]
    first = re.search(r"([\d.]+) miles away", html).group(1)
    assert float(first) == pytest.approx(round(distances[0][0], 1))


@pytest.mark.parametrize("postcode, message", [
    ("B1 1AA", "We cannot find B1 1AA in our list of postcodes"),  # a real postcode in an area not loaded
    ("HG9 9QQ", "We cannot find HG9 9QQ in our list of postcodes"),  # the area is loaded; no such postcode
    ("hello", "Enter a full postcode, like HG1 1AA"),
])
def test_a_postcode_outside_the_lookup_gets_a_clear_message_not_a_guess(public, postcode, message):
    html = _main(public.get("/my-area/", {"postcode": postcode}).content.decode())
    assert message in _text(html) and "miles away" not in html


def test_a_practice_page_says_the_figures_in_words_without_small_numbers(public, practices, pub):
    row = practices.dropna(subset=["lat"]).iloc[0]
    html = _main(public.get(f"/my-area/{row['code']}/").content.decode())
    text = _text(html)
    month = pub.months()[-1]
    facts = pub.query("SELECT ta, items, patients, eligible FROM ta_scorecard WHERE level = 'practice' AND org = ? "
                      "AND month = ?", [row["code"], month]).to_pylist()
    shown = 0
    for f in facts:
        said = about(f["patients"]) if f["items"] is not None and not (0 < f["items"] < 5) else None
        if said:
            assert f"We think {said} people here get it." in text or "given in hospital" in text
            shown += 1
    assert shown >= 1, "the page should show at least one figure"
    numbers = [int(n.replace(",", "")) for n in re.findall(r"about ([\d,]+) people", text)]
    assert numbers and min(numbers) >= 5
    assert all(n % 5 == 0 for n in numbers)  # rounded
    lowered = text.lower()
    assert not [w for w in JARGON if w in lowered]
    assert f'href="/org/{row["code"]}/"' in html  # the analyst page is one link away


def test_the_words_are_for_a_reading_age_of_11(public, practices):
    row = practices.dropna(subset=["lat"]).iloc[0]
    for path in ("/my-area/", f"/my-area/{row['code']}/", f"/my-area/{row['code']}/TA390/"):
        html = _main(public.get(path).content.decode())
        html = re.sub(r'<div class="card trial">.*?</div>', " ", html, flags=re.S)  # the registry's own words
        html = re.sub(r"<h[1-4][^>]*>.*?</h[1-4]>", " ", html, flags=re.S)  # headings: medicine names
        fk, longest = grade(blocks(html))
        assert fk <= 6.0, (path, fk)  # US grade 6 = reading age 11-12
        assert longest <= 25, (path, longest)


def test_a_ta_page_lists_uk_trials_for_its_condition_with_registry_links(public, practices):
    row = practices.dropna(subset=["lat"]).iloc[0]
    html = _main(public.get(f"/my-area/{row['code']}/TA390/", {"from": "HG1 1AA"}).content.decode())
    assert 'href="https://clinicaltrials.gov/study/NCT05647226"' in html  # type 2 diabetes, a site in London SE1
    assert "Distances are from HG1 1AA." in _text(html)
    assert "saved copy of the registry" in html
    assert "NCT05850520" not in html  # macular oedema: not this condition
    af = _main(public.get(f"/my-area/{row['code']}/TA275/").content.decode())
    assert "NCT05647226" not in af


def test_pages_are_under_100_kb_with_their_stylesheet(public, practices):
    from django.contrib.staticfiles import finders

    css = len(open(finders.find("uptake/public.css"), "rb").read())
    row = practices.dropna(subset=["lat"]).iloc[0]
    for path in ("/my-area/", f"/my-area/{row['code']}/", f"/my-area/{row['code']}/TA390/"):
        response = public.get(path)
        assert response.status_code == 200
        assert len(response.content) + css < 100_000, path
        assert "<script" not in response.content.decode()  # no script: nothing to load on a phone


def test_unknown_codes_are_not_found(public):
    assert public.get("/my-area/NOPE1/").status_code == 404
    assert public.get("/my-area/ENG/").status_code == 404


def test_the_api_lists_a_tas_trials_with_distances(public):
    got = public.get("/api/v1/trials", {"ta": "TA390", "postcode": "HG1 1AA"})
    assert got.status_code == 200
    trials = got.json()
    assert [t["trial_id"] for t in trials] == ["NCT05647226"]
    site = trials[0]["sites"][0]
    # HG1 1AA (NSPL: 53.993657, -1.541446) to the registry's point for London (51.50853, -0.12574)
    assert site["miles"] == pytest.approx(_miles(53.993657, -1.541446, 51.50853, -0.12574), rel=1e-6)
    assert site["approximate"] and trials[0]["sample"] and not trials[0]["recruiting"]
    assert public.get("/api/v1/trials", {"ta": "TA9999"}).status_code == 404
    bad = public.get("/api/v1/trials", {"ta": "TA390", "postcode": "B1 1AA"})
    assert bad.status_code == 400 and "B1 1AA is not in the postcode list" in bad.json()["detail"]


def test_a_medicine_page_says_where_the_local_formulary_stands(public, practices, pub, db):
    """TA275 (apixaban, published 27 February 2013, 90 days): the practice's ICB has included it
    on time; TA390 has no decision and its deadline (25 May 2016 + 90 days) has passed."""
    from uptake.web.compliance import store

    row = practices.dropna(subset=["lat"]).iloc[0]
    icb = pub.organisation(pub.organisation(pub.organisation(row["code"])["parent"])["parent"])
    while icb["level"] != "icb":
        icb = pub.organisation(icb["parent"])
    form = store.ensure_formulary(icb["code"], "Test formulary")
    store.record(formulary=form, ta="TA275", decision="included", decision_date=date(2013, 3, 20), who="test")
    included = _text(_main(public.get(f"/my-area/{row['code']}/TA275/").content.decode()))
    assert "Your local NHS has added it to its list of medicines that local doctors can use." in included
    overdue = _text(_main(public.get(f"/my-area/{row['code']}/TA390/").content.decode()))
    assert "Your local NHS should have added it to its list of medicines that local doctors can use by " \
           "23 August 2016. It has not done this yet." in overdue
