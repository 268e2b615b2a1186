"""Creating users from the command line (operators and the demo)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from .models import OrganisationRole


def add_user(email: str, password: str, *, editor_of: list[str] = (), admin: bool = False,
             check_password: bool = True):
    """Create (or update) a user signed in by e-mail address, with editor roles."""
    User = get_user_model()
    email = email.strip().lower()
    with transaction.atomic():
        user = User.objects.filter(username=email).first() or User(username=email, email=email)
        if check_password:
            validate_password(password, user)
        user.set_password(password)
        user.is_staff = user.is_superuser = admin or user.is_superuser
        user.save()
        for code in editor_of:
            OrganisationRole.objects.get_or_create(user=user, organisation=code.strip().upper(), role="editor")
    return user
