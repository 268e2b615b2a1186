"""Registration with e-mail confirmation. A new account is inactive (it cannot sign in) until its
owner follows the link sent to the address; the link carries a signed token that stops working
once used, after settings.PASSWORD_RESET_TIMEOUT, or if the password changes."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode


class ConfirmationTokens(PasswordResetTokenGenerator):
    key_salt = "uptake.accounts.confirm-address"

    def _make_hash_value(self, user, timestamp):
        return f"{user.pk}{user.password}{user.is_active}{user.email}{timestamp}"


confirmation_tokens = ConfirmationTokens()


class RegistrationForm(forms.Form):
    email = forms.EmailField(label="E-mail address", help_text="You sign in with it; we send a link to confirm it")
    name = forms.CharField(label="Your name", max_length=150, help_text="Shown beside what you write")
    organisation = forms.CharField(label="Organisation", max_length=150, required=False,
                                   help_text="Where you work, e.g. NHS Example ICB (optional)")
    password = forms.CharField(label="Password", widget=forms.PasswordInput,
                               help_text="At least 12 characters; not a common password")
    password_again = forms.CharField(label="Password again", widget=forms.PasswordInput)

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", "The two passwords are not the same")
        elif data.get("password") and data.get("email"):
            probe = get_user_model()(username=data["email"], email=data["email"], first_name=data.get("name", ""))
            try:
                validate_password(data["password"], probe)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data


def _link(request, name: str, user, token: str) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return request.build_absolute_uri(reverse(name, args=[uid, token]))


def register(request, form: RegistrationForm) -> None:
    """Create the inactive account and send the confirmation, or, for an address already
    registered, send that person a note instead (the page says the same either way, so it does not
    tell a stranger who has an account).

    An address registered but not yet confirmed is never changed by registering it again: its
    owner is sent the confirmation link again, for the account as first registered (otherwise a
    stranger could set the password of an account its owner is about to confirm). Every path
    hashes one password and sends one message, so the time taken does not tell a stranger whether
    the address is known (docs/security.md)."""
    User = get_user_model()
    d = form.cleaned_data
    existing = User.objects.filter(username=d["email"]).first()
    if existing is not None:
        make_password(d["password"])  # the same work as a new account's hash: equal timing
        if existing.is_active:
            body = render_to_string("accounts/email/already_registered.txt", {
                "user": existing, "reset": request.build_absolute_uri(reverse("password_reset"))})
            send_mail("Your uptake account", body, settings.DEFAULT_FROM_EMAIL, [existing.email])
        else:
            _send_confirmation(request, existing)
        return
    user = User(username=d["email"], email=d["email"], first_name=d["name"][:150], is_active=False)
    user.set_password(d["password"])
    user.save()
    if d.get("organisation"):
        from .models import Profile

        Profile.objects.update_or_create(user=user, defaults={"organisation": d["organisation"]})
    _send_confirmation(request, user)


def _send_confirmation(request, user) -> None:
    body = render_to_string("accounts/email/confirm.txt", {
        "user": user, "link": _link(request, "confirm", user, confirmation_tokens.make_token(user)),
        "days": settings.PASSWORD_RESET_TIMEOUT // 86400})
    send_mail("Confirm your e-mail address for uptake", body, settings.DEFAULT_FROM_EMAIL, [user.email])
