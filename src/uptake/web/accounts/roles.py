"""Who may edit what: administrators anything; an organisation editor their organisation."""

from __future__ import annotations


def can_edit(user, organisation: str) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.organisation_roles.filter(organisation=organisation.upper(), role="editor").exists()


def edited_organisations(user) -> list[str]:
    if user is None or not user.is_authenticated:
        return []
    return list(user.organisation_roles.filter(role="editor").values_list("organisation", flat=True))


def display_name(user) -> str:
    """How a change is attributed: the user's full name, else their e-mail address."""
    return user.get_full_name() or user.email or user.username
