"""Creating users from the command line (operators and the demo), and the moderators' group."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from .models import OrganisationRole
from .roles import MODERATORS

# What a moderator may do in the Django admin: look at and change knowledge-portal content.
MODERATOR_PERMISSIONS = [
    ("knowledge", "view_casestudy"), ("knowledge", "change_casestudy"), ("knowledge", "moderate_casestudy"),
    ("knowledge", "view_post"), ("knowledge", "change_post"), ("knowledge", "moderate_post"),
    ("knowledge", "view_report"), ("knowledge", "change_report"),
    ("knowledge", "view_barrier"), ("knowledge", "change_barrier"),
    ("knowledge", "view_guide"), ("knowledge", "change_guide"), ("knowledge", "add_guide"),
    ("knowledge", "view_wikipage"), ("knowledge", "view_moderationlog"),
]


def moderators_group() -> Group:
    group, _ = Group.objects.get_or_create(name=MODERATORS)
    wanted = [Permission.objects.filter(content_type__app_label=app, codename=code).first()
              for app, code in MODERATOR_PERMISSIONS]
    group.permissions.add(*[p for p in wanted if p is not None])
    return group


def add_user(email: str, password: str, *, editor_of: list[str] = (), admin: bool = False,
             moderator: bool = False, check_password: bool = True):
    """Create (or update) an active user signed in by e-mail address, with the roles given."""
    User = get_user_model()
    email = email.strip().lower()
    with transaction.atomic():
        user = User.objects.filter(username=email).first() or User(username=email, email=email)
        if check_password:
            validate_password(password, user)
        user.set_password(password)
        user.is_active = True
        user.is_superuser = admin or user.is_superuser
        user.is_staff = user.is_superuser or moderator or user.is_staff
        user.save()
        for code in editor_of:
            OrganisationRole.objects.get_or_create(user=user, organisation=code.strip().upper(), role="editor")
        if moderator:
            user.groups.add(moderators_group())
    return user
