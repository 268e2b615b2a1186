"""The alerts pages and API: the unsubscribe links work without signing in, cannot be guessed,
and stop exactly what they say; one-click unsubscribe (RFC 8058); a person sees and changes only
their own subscriptions, on the page and through the API; targets are checked against the
publication and the catalogue."""

from __future__ import annotations

import base64
import math
import re
import secrets
from collections import Counter

import pytest
from django.test import Client


def _signed_in(user) -> Client:
    c = Client()
    c.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return c


def _exists(sub) -> bool:
    from uptake.web.alerts.models import Subscription

    return Subscription.objects.filter(pk=sub.pk).exists()


# --- unsubscribe ----------------------------------------------------------------------------------


def test_the_unsubscribe_link_works_without_signing_in_and_stops_that_subscription_alone(world):
    ann_icb, ann_ta = world.subscriptions["ann"]
    bob = world.subscriptions["bob"]
    browser = Client(enforce_csrf_checks=True)  # as a browser: the form's CSRF token is checked
    page = browser.get(f"/alerts/unsubscribe/{ann_icb.token}/")
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    html = page.content.decode()
    assert world.targets["icb"] in html and "a•••@people.test" in html
    assert "ann@people.test" not in html and ann_ta.target not in html  # only what this link stops
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)

    # without the form's token the POST is refused and nothing changes
    assert browser.post(f"/alerts/unsubscribe/{ann_icb.token}/").status_code == 403
    assert _exists(ann_icb)

    done = browser.post(f"/alerts/unsubscribe/{ann_icb.token}/", {"csrfmiddlewaretoken": token})
    assert done.status_code == 200 and "Alerts stopped" in done.content.decode()
    assert not _exists(ann_icb)
    assert _exists(ann_ta) and all(_exists(s) for s in bob)  # another subscription, another person: kept
    assert browser.get(f"/alerts/unsubscribe/{ann_icb.token}/").status_code == 404  # used up


def test_one_click_unsubscribe_from_a_mail_client(world):
    """RFC 8058: the provider POSTs List-Unsubscribe=One-Click to the header's address, with no
    cookie and no CSRF token: the whole digest (every subscription of the person) stops."""
    from uptake.web.alerts.models import Recipient

    ann = world.people["ann"]
    recipient = Recipient.objects.create(user=ann)
    provider = Client(enforce_csrf_checks=True)
    r = provider.post(f"/alerts/unsubscribe/{recipient.token}/", "List-Unsubscribe=One-Click",
                      content_type="application/x-www-form-urlencoded")
    assert r.status_code == 200 and "2 alert subscriptions stopped" in r.content.decode()
    assert not any(_exists(s) for s in world.subscriptions["ann"])
    assert all(_exists(s) for name in ("bob", "carol", "dave") for s in world.subscriptions[name])
    # the link still answers (it is the person's), saying nothing is followed now
    page = provider.get(f"/alerts/unsubscribe/{recipient.token}/")
    assert page.status_code == 200 and "follows nothing" in page.content.decode()

    # a one-click POST with a subscription's own token stops that one only
    bob_area = world.subscriptions["bob"][1]
    assert provider.post(f"/alerts/unsubscribe/{bob_area.token}/", {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert not _exists(bob_area) and _exists(world.subscriptions["bob"][0])


def test_unsubscribe_tokens_cannot_be_guessed_and_wrong_ones_reveal_nothing(world, db):
    from uptake.web.accounts.users import add_user
    from uptake.web.alerts.models import Recipient, Subscription

    user = add_user("many@people.test", "x", check_password=False)
    subs = [Subscription.objects.create(user=user, kind="ta", target=t.id)
            for t in world_catalogue()[:30]]
    tokens = [s.token for s in subs] + [s.token for ss in world.subscriptions.values() for s in ss]
    tokens.append(Recipient.objects.create(user=user).token)
    assert len(set(tokens)) == len(tokens)
    for t in tokens:  # 32 random bytes, URL-safe base64 without padding: 43 characters, 256 bits
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", t)
        assert len(base64.urlsafe_b64decode(t + "=")) == 32
    # no structure: the characters are spread over the alphabet (a rough check of randomness)
    counts = Counter("".join(tokens))
    assert len(counts) > 55
    entropy = -sum(n / sum(counts.values()) * math.log2(n / sum(counts.values())) for n in counts.values())
    assert entropy > 5.6  # of at most log2(64) = 6 bits per character

    anon = Client()
    one = subs[0].token
    wrong = [secrets.token_urlsafe(32), one[:-1] + ("A" if one[-1] != "A" else "B"), one[:-1], one + "x",
             one.upper() if one.upper() != one else one.lower(), "../" + one, "0" * 43, str(subs[0].pk)]
    for t in wrong:
        for method in (anon.get, anon.post):
            r = method(f"/alerts/unsubscribe/{t}/")
            assert r.status_code == 404, t
            body = r.content.decode()
            assert "people.test" not in body and "•••" not in body and subs[0].target not in body
    assert Subscription.objects.filter(user=user).count() == 30


def world_catalogue():
    from uptake.web.store import published

    return published().catalogue.technology_appraisals


# --- a person's own subscriptions: the page ----------------------------------------------------


def test_the_page_lists_adds_and_removes_only_my_subscriptions(world):
    ann, bob = world.people["ann"], world.people["bob"]
    bob_practice = world.subscriptions["bob"][0]
    assert Client().get("/alerts/").status_code == 302  # signed out: to the sign-in page
    c = _signed_in(ann)
    page = c.get("/alerts/")
    html = page.content.decode()
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert world.targets["icb"] in html and world.targets["ta"] in html
    assert world.targets["practice"] not in html  # bob's

    # removing bob's subscription from ann's session: 404, and it stays
    r = c.post("/alerts/", {"action": "remove", "id": bob_practice.pk})
    assert r.status_code == 404 and _exists(bob_practice)

    # add (normalised), add again (no duplicate), remove her own
    r = c.post("/alerts/", {"action": "add", "kind": "ta", "target": " ta249 "}, follow=True)
    assert "You will get alerts for TA249" in r.content.decode()
    r = c.post("/alerts/", {"action": "add", "kind": "ta", "target": "TA249"}, follow=True)
    assert "You already follow TA249" in r.content.decode()
    from uptake.web.alerts.models import Subscription

    mine = Subscription.objects.get(user=ann, kind="ta", target="TA249")
    assert Subscription.objects.filter(user=ann).count() == 3
    c.post("/alerts/", {"action": "remove", "id": mine.pk})
    assert not _exists(mine) and Subscription.objects.filter(user=bob).count() == 2


@pytest.mark.parametrize("kind,target,message", [
    ("ta", "TA9999", "no NICE TA"),
    ("area", "dermatology", "no clinical area"),
    ("organisation", "ZZZ99", "no organisation"),
    ("organisation", "ENG", "England is the benchmark"),
    ("compliance", "practice", "formulary deadlines are followed for an ICB"),
    ("weather", "QHM", "Select a valid choice"),
])
def test_the_form_refuses_what_does_not_exist(world, kind, target, message):
    from uptake.web.alerts.models import Subscription

    if target == "practice":
        target = world.targets["practice"]
    before = Subscription.objects.count()
    r = _signed_in(world.people["dave"]).post("/alerts/", {"action": "add", "kind": kind, "target": target})
    assert r.status_code == 200 and message in r.content.decode()
    assert Subscription.objects.count() == before


def test_the_page_is_prefilled_from_the_address(world):
    html = _signed_in(world.people["dave"]).get("/alerts/?kind=compliance&target=QHM").content.decode()
    assert 'value="compliance" checked' in html and 'name="target" type="text" value="QHM"' in html


# --- the API -------------------------------------------------------------------------------------


def _basic(email: str, password: str) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()}


def test_the_api_answers_only_for_my_own_subscriptions(world):
    from uptake.web.accounts.users import add_user
    from uptake.web.alerts.models import Subscription

    ann, bob = world.people["ann"], world.people["bob"]
    anon = Client()
    assert anon.get("/api/v1/alerts/subscriptions").status_code == 401
    assert anon.post("/api/v1/alerts/subscriptions", {"kind": "ta", "target": "TA275"},
                     content_type="application/json").status_code == 401

    c = _signed_in(ann)
    mine = c.get("/api/v1/alerts/subscriptions").json()
    assert sorted((s["kind"], s["target"]) for s in mine) == sorted(world.follows["ann"])
    assert all("token" not in s for s in mine)

    made = c.post("/api/v1/alerts/subscriptions", {"kind": "area", "target": "Stroke"},
                  content_type="application/json")
    assert made.status_code == 201 and made.json()["target"] == "stroke"
    again = c.post("/api/v1/alerts/subscriptions", {"kind": "area", "target": "stroke"},
                   content_type="application/json")
    assert again.status_code == 200 and again.json()["id"] == made.json()["id"]
    bad = c.post("/api/v1/alerts/subscriptions", {"kind": "ta", "target": "TA1"}, content_type="application/json")
    assert bad.status_code == 400 and "no NICE TA" in bad.json()["detail"]
    assert c.post("/api/v1/alerts/subscriptions", {"kind": "nope", "target": "x"},
                  content_type="application/json").status_code == 422

    # bob's subscriptions: invisible to ann and not hers to delete (the same 404 as none at all)
    bob_sub = world.subscriptions["bob"][0]
    r = c.delete(f"/api/v1/alerts/subscriptions/{bob_sub.pk}")
    assert r.status_code == 404 and _exists(bob_sub)
    assert c.delete("/api/v1/alerts/subscriptions/999999").json() == {"detail": "you have no subscription 999999"}
    assert c.delete(f"/api/v1/alerts/subscriptions/{made.json()['id']}").status_code == 204
    assert Subscription.objects.filter(user=bob).count() == 2

    # HTTP Basic: bob with his password sees his own
    add_user("bob@people.test", "a long password for bob 7", check_password=False)
    theirs = Client().get("/api/v1/alerts/subscriptions", **_basic("bob@people.test", "a long password for bob 7"))
    assert theirs.status_code == 200
    assert sorted((s["kind"], s["target"]) for s in theirs.json()) == sorted(world.follows["bob"])
    assert Client().get("/api/v1/alerts/subscriptions",
                        **_basic("bob@people.test", "wrong")).status_code == 401
    assert c.get("/api/v1/alerts/digests").json() == []


def test_an_answer_to_one_person_is_never_served_to_another(world):
    """The portal's answer cache keys on who is signed in; HTTP Basic is checked later, by the API.
    A Basic-authenticated answer must not be kept and served to the next caller."""
    from uptake.web.accounts.users import add_user

    add_user("bob@people.test", "a long password for bob 7", check_password=False)
    for path in ("/api/v1/alerts/subscriptions", "/api/v1/alerts/digests"):
        got = Client().get(path, **_basic("bob@people.test", "a long password for bob 7"))
        assert got.status_code == 200 and "no-store" in got["Cache-Control"]
        assert Client().get(path).status_code == 401
        assert Client().get(path, **_basic("bob@people.test", "wrong")).status_code == 401
        assert _signed_in(world.people["ann"]).get(path).content != got.content or path.endswith("digests")


def test_alerts_from_every_page_and_by_name(world, pub):
    """Issue 23: the TA and organisation pages link to the alerts form filled in, and the form
    takes an organisation's or TA's name (typos tolerated, as the search box) or an area's name as
    well as its code; a name matching nothing is refused."""
    from uptake.web.alerts.models import Subscription

    icb = next(o for o in sorted(pub.organisations(), key=lambda o: o["code"])
               if o["level"] == "icb" and o["name"] and re.fullmatch(r"[A-Za-z ]+", o["name"]))
    ta = pub.catalogue.ta("TA355")
    area = next(a for a in pub.catalogue.areas if a.name.lower() != a.id)
    anonymous = Client()
    assert f'href="/alerts/?kind=ta&amp;target={ta.id}#add"' in anonymous.get(f"/ta/{ta.id}/").content.decode()
    org_page = anonymous.get(f"/org/{icb['code']}/").content.decode()
    assert f'href="/alerts/?kind=organisation&amp;target={icb["code"]}#add"' in org_page
    assert f'href="/alerts/?kind=compliance&amp;target={icb["code"]}#add"' in org_page

    dave = world.people["dave"]
    c = _signed_in(dave)
    assert 'name="target" type="text" value="TA355"' in c.get(f"/alerts/?kind=ta&target={ta.id}").content.decode()
    typo = icb["name"].lower().replace("integrated", "integratd")
    for kind, target, code in [("organisation", typo, icb["code"]), ("compliance", icb["name"], icb["code"]),
                               ("ta", ta.title, ta.id), ("area", area.name, area.id)]:
        r = c.post("/alerts/", {"action": "add", "kind": kind, "target": target}, follow=True)
        assert "You will get alerts for" in r.content.decode(), (kind, target)
        assert Subscription.objects.filter(user=dave, kind=kind, target=code).exists(), (kind, target)
    r = c.post("/alerts/", {"action": "add", "kind": "organisation", "target": "Qqzx Wvvb"})
    assert "no organisation &#x27;Qqzx Wvvb&#x27;" in r.content.decode()
