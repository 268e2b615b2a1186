"""Signing in from tests as a browser does: through the sign-in page and its login throttle."""

from __future__ import annotations


def sign_in(client, email: str, password: str) -> None:
    r = client.post("/accounts/sign-in/", {"username": email, "password": password})
    assert r.status_code == 302, f"signing in as {email} failed ({r.status_code})"
