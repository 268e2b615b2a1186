"""Accounts: registering with e-mail confirmation, password reset, the login throttle, Argon2
hashes, CSRF on forms, and the security headers."""

from __future__ import annotations

import re

import pytest
from accounts_helpers import sign_in
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client, override_settings

PASSWORD = "a long enough passphrase 7"


@pytest.fixture
def outbox(db):
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        mail.outbox = []
        yield mail.outbox


def _register(client, email="new.member@test.example", password=PASSWORD, again=None):
    return client.post("/accounts/register/", {"email": email, "name": "New Member", "organisation": "Test ICB",
                                               "password": password, "password_again": again or password})


def _link(message) -> str:
    return re.search(r"https?://[^/\s]+(/\S+)", message.body).group(1)


def test_registration_needs_the_confirmation_link(outbox):
    web = Client()
    r = _register(web, email="New.Member@Test.Example")
    assert "Check your e-mail" in r.content.decode()
    user = get_user_model().objects.get(username="new.member@test.example")
    assert not user.is_active and user.password.startswith("argon2")
    assert len(outbox) == 1 and outbox[0].to == ["new.member@test.example"]
    # not usable before confirming
    assert web.post("/accounts/sign-in/", {"username": "new.member@test.example", "password": PASSWORD}).status_code == 200
    link = _link(outbox[0])
    assert link.startswith("/accounts/confirm/")
    r = web.get(link)
    assert r.status_code == 302 and r["Location"] == "/accounts/"
    user.refresh_from_db()
    assert user.is_active
    assert "Member" in web.get("/accounts/").content.decode()
    assert Client().get(link).status_code == 400  # used once
    assert Client().get("/accounts/confirm/MQ/not-a-token/").status_code == 400
    sign_in(Client(), "NEW.member@test.example", PASSWORD)  # any case


def test_registering_an_existing_address_tells_its_owner_not_the_stranger(outbox, people):
    r = _register(Client(), email="member@test.example")
    assert "Check your e-mail" in r.content.decode()
    assert "already has an account" in outbox[0].body
    assert not get_user_model().objects.get(username="member@test.example").check_password(PASSWORD)  # unchanged


def test_weak_or_mismatched_passwords_are_refused(outbox):
    r = _register(Client(), password="short")
    assert "too short" in r.content.decode() and not outbox
    r = _register(Client(), again="something else entirely 9")
    assert "not the same" in r.content.decode()
    assert not get_user_model().objects.filter(username="new.member@test.example").exists()


def test_password_reset_by_e_mail(outbox, people):
    user = people["member"]
    user.set_password("the old password 123")
    user.save()
    Client().post("/accounts/password-reset/", {"email": "member@test.example"})
    assert len(outbox) == 1
    web = Client()
    r = web.get(_link(outbox[0]), follow=True)
    form_url = r.redirect_chain[-1][0]
    r = web.post(form_url, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert r.status_code == 302
    sign_in(Client(), "member@test.example", PASSWORD)
    user.refresh_from_db()
    assert user.password.startswith("argon2")


def test_sign_in_is_paused_after_five_wrong_passwords(people):
    user = people["member"]
    user.set_password(PASSWORD)
    user.save()
    web = Client()
    wrong = {"username": "member@test.example", "password": "wrong"}
    assert [web.post("/accounts/sign-in/", wrong).status_code for _ in range(4)] == [200] * 4
    fifth = web.post("/accounts/sign-in/", wrong)
    assert fifth.status_code == 429 and "Too many sign-in attempts" in fifth.content.decode()
    r = web.post("/accounts/sign-in/", {"username": "member@test.example", "password": PASSWORD})
    assert r.status_code == 429  # even the right password, for the cool-off time
    sign_in(Client(REMOTE_ADDR="10.9.8.7"), "member@test.example", PASSWORD)  # elsewhere: not locked


def test_every_form_needs_its_csrf_token(as_, people):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(people["member"], backend="django.contrib.auth.backends.ModelBackend")
    assert strict.post("/learning/wiki/new/", {"title": "t", "body": "b", "base_version": 0}).status_code == 403
    assert strict.post("/accounts/register/", {"email": "a@b.example"}).status_code == 403
    assert Client(enforce_csrf_checks=True).post("/accounts/sign-in/", {}).status_code == 403


def test_pages_carry_a_content_security_policy(client):
    for url in ("/", "/learning/", "/search/?q=apixaban", "/accounts/register/"):
        r = client.get(url)
        csp = r["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        assert "'unsafe-eval'" not in csp and "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "<script>" not in r.content.decode()  # no inline script for the policy to allow


def test_registering_an_unconfirmed_address_again_changes_nothing(outbox):
    """Issue 24.3: a stranger re-registering an address not yet confirmed must not set its
    password, name or organisation; the owner is sent the link for the account as first made."""
    owner = Client()
    _register(owner, email="pending@test.example")
    user = get_user_model().objects.get(username="pending@test.example")
    first_hash, first_link = user.password, _link(outbox[0])
    r = Client().post("/accounts/register/", {
        "email": "pending@test.example", "name": "Mallory", "organisation": "Attacker Ltd",
        "password": "the attacker's passphrase 1", "password_again": "the attacker's passphrase 1"})
    assert "Check your e-mail" in r.content.decode()
    user.refresh_from_db()
    assert user.password == first_hash and user.first_name == "New Member"
    assert user.profile.organisation == "Test ICB"
    assert len(outbox) == 2 and outbox[1].to == ["pending@test.example"]
    assert "Mallory" not in outbox[1].body and "New Member" in outbox[1].body
    second_link = _link(outbox[1])
    # either link confirms the account as its owner made it; the attacker's password never signs in
    assert owner.get(second_link).status_code == 302
    assert Client().get(first_link).status_code == 400  # one account, confirmed once
    assert Client().post("/accounts/sign-in/", {"username": "pending@test.example",
                                                "password": "the attacker's passphrase 1"}).status_code == 200
    sign_in(Client(), "pending@test.example", PASSWORD)


def test_registration_does_the_same_work_for_known_and_new_addresses(outbox, people):
    """Issue 24.10: an existing address answered in 105 ms and a new one in 1,585 ms (the Argon2
    hash). Every path now hashes exactly one password and sends exactly one message."""
    from django.contrib.auth.hashers import Argon2PasswordHasher

    counts = []

    class Counting(Argon2PasswordHasher):
        def encode(self, password, salt):
            counts.append(1)
            return super().encode(password, salt)

    import sys
    sys.modules[__name__].Counting = Counting
    hashers = [f"{__name__}.Counting"]
    with override_settings(PASSWORD_HASHERS=hashers):
        from django.contrib.auth.hashers import get_hashers

        get_hashers.cache_clear()
        try:
            work = {}
            for label, email in (("new", "fresh@test.example"), ("unconfirmed", "fresh@test.example"),
                                 ("active", "member@test.example")):
                counts.clear()
                before = len(outbox)
                r = _register(Client(), email=email)
                assert "Check your e-mail" in r.content.decode()
                work[label] = (len(counts), len(outbox) - before)
        finally:
            get_hashers.cache_clear()
    assert work == {"new": (1, 1), "unconfirmed": (1, 1), "active": (1, 1)}
