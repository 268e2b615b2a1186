"""Who may do what. The roles, from least to most:

- public: anyone, signed in or not: reads published content;
- member: a signed-in user whose e-mail address is confirmed: submits case studies and barriers,
  edits the wiki, posts in discussions, says "we face this too";
- organisation editor: a member with an OrganisationRole for an ODS code: records that
  organisation's formulary decisions and opportunity choices;
- moderator: a member of the "moderators" group: publishes or returns case studies, hides and
  restores posts and barriers, uses the Django admin for the knowledge portal;
- administrator: a superuser: everything, including any organisation's decisions."""

from __future__ import annotations

MODERATORS = "moderators"
ROLE_NAMES = {"public": "Public", "member": "Member", "editor": "Organisation editor", "moderator": "Moderator",
              "admin": "Administrator"}


def is_member(user) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def is_moderator(user) -> bool:
    if not is_member(user):
        return False
    return user.is_superuser or user.groups.filter(name=MODERATORS).exists()


def can_edit(user, organisation: str) -> bool:
    if not is_member(user):
        return False
    if user.is_superuser:
        return True
    return user.organisation_roles.filter(organisation=organisation.upper(), role="editor").exists()


def edited_organisations(user) -> list[str]:
    if user is None or not user.is_authenticated:
        return []
    return list(user.organisation_roles.filter(role="editor").values_list("organisation", flat=True))


def roles_of(user) -> list[str]:
    """Every role a user holds, least first (for their account page and the docs' matrix)."""
    if not is_member(user):
        return ["public"]
    out = ["public", "member"]
    if edited_organisations(user):
        out.append("editor")
    if is_moderator(user):
        out.append("moderator")
    if user.is_superuser:
        out.append("admin")
    return out


def display_name(user) -> str:
    """How a person is shown to others: their name, else the organisation they gave, else the
    organisations they edit, else "A member". Never their e-mail address: only administrators see
    addresses (accounts/privacy.py, docs/security.md)."""
    if user is None:
        return "someone"
    name = user.get_full_name().strip()
    if name:
        return name
    from .models import Profile

    organisation = Profile.objects.filter(user=user).values_list("organisation", flat=True).first()
    if organisation:
        return f"A member at {organisation}"
    edits = edited_organisations(user)
    if edits:
        return f"Editor of {', '.join(edits)}"
    return "A member"
