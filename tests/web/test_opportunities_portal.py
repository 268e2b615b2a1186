"""Opportunities on the portal: the national view, one opportunity, an ICB's "choose your five"
with an editor recording choices (at least five, each with a reason, history kept), and the API."""

from __future__ import annotations

import base64
import re

import pytest
from accounts_helpers import sign_in

from uptake.catalogue import load_opportunities
from uptake.services import opportunities as so


def test_national_view_lists_all_16_and_says_what_cannot_be_measured(client, db):
    html = client.get("/opportunities/").content.decode()
    for o in load_opportunities():
        assert f'data-opportunity="{o.id}"' in html
    assert html.count("Not measurable from the warehouse") == sum(1 for o in load_opportunities()
                                                                 if not o.headline_measure)
    unmeasured = next(o for o in load_opportunities() if o.data_needed and not o.headline_measure)
    page = client.get(f"/opportunities/{unmeasured.id}/").content.decode()
    assert 'id="data-needed"' in page and 'id="icb-table"' not in page


def test_opportunity_page_matches_the_service(client, db, pub):
    o = next(o for o in load_opportunities() if o.headline_measure == "doacs_best_value")
    v = so.view(pub, o)
    html = client.get(f"/opportunities/{o.number}/", follow=True).content.decode()
    top = v.rows[0]
    assert html.index(f'data-icb="{top.icb}"') < html.index(f'data-icb="{v.rows[-1].icb}"')
    assert f"£{top.spend_a_year:,.0f}" in html
    api = client.get(f"/api/v1/opportunities/{o.id}").json()
    assert [r["icb"] for r in api] == [r.icb for r in v.rows]
    assert api[0]["spend_a_year"] == pytest.approx(top.spend_a_year)


@pytest.fixture
def icb(pub):
    return sorted(o["code"] for o in pub.organisations() if o["level"] == "icb")[0]


@pytest.fixture
def editor(db, icb):
    from uptake.web.accounts.users import add_user

    return add_user("choices@example.org", "a long test password 2", editor_of=[icb])


def test_choose_your_five_ranks_and_records_choices(client, editor, icb, pub):
    from django.test import Client

    from uptake.web.opportunities.models import Choice

    ranked = so.rank_for_icb(so.all_views(pub), icb)
    page = client.get(f"/opportunities/icb/{icb}/").content.decode()
    order = [page.index(f'data-opportunity="{r.opportunity.id}"') for r in ranked]
    assert order == sorted(order)
    assert 'name="choose"' not in page  # not signed in: no form

    web = Client()
    sign_in(web, "choices@example.org", "a long test password 2")
    five = [r.opportunity.id for r in ranked[:5]]
    four = {"choose": five[:4], **{f"why-{k}": "large gap" for k in five[:4]}}
    short = web.post(f"/opportunities/icb/{icb}/", four)
    assert short.status_code == 200 and "choose at least 5" in short.content.decode()
    assert Choice.objects.count() == 0
    nowhy = web.post(f"/opportunities/icb/{icb}/", {"choose": five, **{f"why-{k}": "gap" for k in five[:4]}})
    assert "say why for every choice" in nowhy.content.decode()
    ok = web.post(f"/opportunities/icb/{icb}/", {"choose": five, **{f"why-{k}": f"because {k}" for k in five}})
    assert ok.status_code == 302
    assert {c.opportunity for c in Choice.objects.filter(withdrawn_at=None)} == set(five)
    shown = web.get(f"/opportunities/icb/{icb}/").content.decode()
    ticked = re.findall(r'name="choose" type="checkbox" value="([\w-]+)" checked', shown)
    assert sorted(ticked) == sorted(five)  # the form shows what was chosen, and only that
    # swap one: the old choice is kept, withdrawn
    six = five[:4] + [ranked[5].opportunity.id]
    web.post(f"/opportunities/icb/{icb}/", {"choose": six, **{f"why-{k}": f"because {k}" for k in six}})
    assert Choice.objects.get(opportunity=five[4]).withdrawn_at is not None
    assert {c["opportunity"] for c in client.get(f"/api/v1/opportunities/icb/{icb}/choices").json()} == set(six)
    national = client.get("/api/v1/opportunities").json()
    assert {o["id"]: o["chosen_by"] for o in national}[six[0]] == 1
    assert web.post(f"/opportunities/icb/{sorted(o['code'] for o in pub.organisations() if o['level'] == 'icb')[1]}/",
                    {"choose": six}).status_code == 403


def test_api_choices_need_an_editor(client, editor, icb):
    ids = [o.id for o in load_opportunities()][:5]
    body = {"choices": {k: "why" for k in ids}}
    assert client.put(f"/api/v1/opportunities/icb/{icb}/choices", body,
                      content_type="application/json").status_code == 401
    token = base64.b64encode(b"choices@example.org:a long test password 2").decode()
    r = client.put(f"/api/v1/opportunities/icb/{icb}/choices", body, content_type="application/json",
                   HTTP_AUTHORIZATION=f"Basic {token}")
    assert r.status_code == 200 and {c["opportunity"] for c in r.json()} == set(ids)
    ranking = client.get(f"/api/v1/opportunities/icb/{icb}?format=csv")
    assert ranking.content.decode().splitlines()[0].startswith("rank,opportunity,number,title")


def test_no_research_notes_placeholders_or_server_paths_on_public_pages(client, db):
    """Issue 23 item 7: opportunities whose title is not verified say so in one sentence, without
    the catalogue's internal notes (searches made, file paths); /sources/ names no server path."""
    from django.conf import settings

    unverified = [o for o in load_opportunities() if not o.title_verified]
    assert unverified
    for o in unverified:
        page = client.get(f"/opportunities/{o.id}/").content.decode()
        assert "Title not verified" in page
        for internal in ("not recovered", "Searched for", "Candidates noted", o.notes.split(".")[0]):
            assert internal not in page, (o.id, internal)
    listing = client.get("/opportunities/").content.decode()
    assert "not recovered" not in listing and "(title not verified)" in listing
    sources = client.get("/sources/").content.decode()
    meta_home = str(settings.PUBLISHED.parent.parent)
    assert "/tmp/" not in sources and meta_home not in sources and "warehouse at" not in sources
    files = re.findall(r'<ul class="nhsuk-list nhsuk-body-s">(.*?)</ul>', sources, flags=re.S)
    names = [n for f in files for n in re.findall(r"<li>(.*?)</li>", f)]
    assert names and not [n for n in names if "/" in n]  # loaded files by name alone
