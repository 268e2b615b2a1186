"""E-mail addresses are personal data: pages and API answers show people by their display name
(accounts.roles.display_name), and only administrators see addresses (issue 23.5, 24.8).

Text recorded before this rule, or read from a formulary decision file, may hold an address (a
`recorded_by`, a change's `who`): `public()` replaces every address in a value (a string, or the
strings inside a dict or list) by the display name of the account that has it, or by WITHHELD,
unless the viewer is an administrator."""

from __future__ import annotations

import re

EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
WITHHELD = "a member"


def sees_addresses(viewer) -> bool:
    return viewer is not None and viewer.is_authenticated and viewer.is_active and viewer.is_superuser


def public(value, viewer=None):
    """`value` as `viewer` may see it: addresses replaced by display names unless an administrator."""
    if sees_addresses(viewer):
        return value
    return _scrub(value, {})


def _scrub(value, names: dict):
    if isinstance(value, str):
        return EMAIL.sub(lambda m: _name_of(m.group(0), names), value) if "@" in value else value
    if isinstance(value, dict):
        return {k: _scrub(v, names) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v, names) for v in value]
    return value


def _name_of(address: str, names: dict) -> str:
    key = address.lower()
    if key not in names:
        from django.contrib.auth import get_user_model

        from .roles import display_name

        user = get_user_model().objects.filter(email__iexact=key).first()
        names[key] = display_name(user) if user is not None else WITHHELD
    return names[key]
