"""People with each role, made inside each test's transaction (so rolled back with it)."""

from __future__ import annotations

import pytest


@pytest.fixture
def people(db):
    """One user per role: member, editor (of the first ICB), moderator, admin; None for the public."""
    from uptake.web.accounts.users import add_user

    from uptake.web.store import published

    icbs = sorted(o["code"] for o in published().organisations() if o["level"] == "icb")
    made = {
        "public": None,
        "member": add_user("member@test.example", "x", check_password=False),
        "editor": add_user("editor@test.example", "x", editor_of=[icbs[0]], check_password=False),
        "moderator": add_user("moderator@test.example", "x", moderator=True, check_password=False),
        "admin": add_user("admin@test.example", "x", admin=True, check_password=False),
    }
    made["icbs"] = icbs
    return made


@pytest.fixture
def as_(people):
    """as_("member") → a test client signed in with that role (anonymous for "public")."""
    from django.test import Client

    def client(role: str) -> Client:
        c = Client()
        if people[role] is not None:
            c.force_login(people[role], backend="django.contrib.auth.backends.ModelBackend")
        return c

    return client


CASE_STUDY = {
    "title": "Anticoagulation reviews in every practice", "summary": "Pharmacists reviewed everyone on warfarin.",
    "scope": "specific", "tas": "TA275, TA249", "organisations_text": "A test ICB", "organisations": "",
    "sector": "primary_care", "aims": "Offer a DOAC to everyone with AF on warfarin.",
    "how": "Searches, letters and **reviews**.", "learning": "Start with the lowest TTR.",
    "results": "DOAC share rose from 58% to 79%.", "contact": "someone@example.org",
}


@pytest.fixture
def case_study_form():
    return dict(CASE_STUDY)
